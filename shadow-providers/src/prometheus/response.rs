//! The JSON answers of the Prometheus HTTP API, and how they map to values and errors.
//!
//! Documented shape (<https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview>):
//!
//! ```json
//! {"status": "success" | "error", "data": <data>, "errorType": "<string>", "error": "<string>",
//!  "warnings": ["<string>"]}
//! ```
//!
//! `query_range` data is `{"resultType": "matrix", "result": [{"metric": {<labels>}, "values": [[<unix
//! seconds as a number>, "<sample value as a string>"], ...]}, ...]}`. Values are strings because they may be
//! `"NaN"`, `"+Inf"` or `"-Inf"`.

use std::collections::BTreeMap;

use serde::Deserialize;
use shadow_core::Error;

use super::KIND;

/// The envelope of every answer.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    pub(crate) status: String,
    pub(crate) data: Option<T>,
    #[serde(rename = "errorType")]
    pub(crate) error_type: Option<String>,
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) warnings: Vec<String>,
}

impl<T> Envelope<T> {
    /// The data of a successful answer, or the error an `"error"` answer stands for.
    pub(crate) fn into_data(self) -> Result<T, Error> {
        for warning in &self.warnings {
            tracing::debug!(provider = KIND, warning = %warning, "prometheus warning");
        }
        if self.status == "success" {
            return self
                .data
                .ok_or_else(|| generic("a success answer without `data`"));
        }
        Err(api_error(
            self.error_type.as_deref().unwrap_or(""),
            self.error.as_deref().unwrap_or("no message"),
        ))
    }
}

/// The data of a `query_range` answer.
#[derive(Debug, Deserialize)]
pub(crate) struct RangeData {
    #[serde(rename = "resultType")]
    pub(crate) result_type: String,
    pub(crate) result: Vec<RangeSeries>,
}

/// One series of a matrix.
#[derive(Debug, Deserialize)]
pub(crate) struct RangeSeries {
    #[serde(default)]
    pub(crate) metric: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) values: Vec<(f64, String)>,
}

/// Maps an `"errorType"` to an error. Prometheus answers these with 400 (`bad_data`), 422 (`execution`),
/// 503 (`timeout`, `canceled`, `unavailable`) or 500 (`internal`); the shared HTTP client maps the status
/// first, so this applies only to an error body that came with 2xx.
pub(crate) fn api_error(error_type: &str, message: &str) -> Error {
    match error_type {
        "timeout" | "canceled" | "unavailable" | "internal" => Error::Unavailable {
            provider: KIND,
            message: format!("{error_type}: {message}"),
        },
        "not_found" => Error::NotFound {
            provider: KIND,
            what: message.to_string(),
        },
        _ => Error::invalid("query", format!("{KIND}: {error_type}: {message}")),
    }
}

/// An answer that does not follow the documented format.
pub(crate) fn generic(message: impl Into<String>) -> Error {
    Error::Generic {
        provider: KIND,
        source: format!("unexpected answer: {}", message.into()).into(),
    }
}

/// Parses a sample value. `NaN` stays a gap; `±Inf` is not a usage either, so it becomes a gap too.
pub(crate) fn parse_value(s: &str) -> Result<f64, Error> {
    let v: f64 = s
        .parse()
        .map_err(|_| generic(format!("sample value `{s}` is not a number")))?;
    Ok(if v.is_finite() { v } else { f64::NAN })
}

/// A label set for error messages.
pub(crate) fn labels(metric: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = metric.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_documented_answers() {
        // A `query_range` answer in the documented shape.
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"service":"a"},"values":[[1435781430.781,"1"],[1435781445.781,"NaN"],[1435781460,"+Inf"]]}
        ]}}"#;
        let env: Envelope<RangeData> = serde_json::from_str(body).unwrap();
        let data = env.into_data().unwrap();
        assert_eq!(data.result_type, "matrix");
        let values = &data.result[0].values;
        assert_eq!(values[0], (1435781430.781, "1".to_string()));
        assert!(parse_value(&values[1].1).unwrap().is_nan());
        assert!(parse_value(&values[2].1).unwrap().is_nan());
        assert!(parse_value("x").is_err());
        assert_eq!(labels(&data.result[0].metric), r#"{service="a"}"#);

        // An error answer in the documented shape.
        let body = r#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        let err = serde_json::from_str::<Envelope<RangeData>>(body)
            .unwrap()
            .into_data()
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        assert!(err.to_string().contains("parse error at char 3"), "{err}");
        assert!(api_error("timeout", "query timed out").is_retryable());
    }
}

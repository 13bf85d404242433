//! PromQL templates: the defaults per resource kind, validation, and rendering with escaped values.

use std::{collections::BTreeMap, time::Duration};

use shadow_core::{Environment, Error, ResourceKind, Result, ServiceId};

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 4] = ["service", "environment", "rate_window", "selector"];

/// The default template of a built-in kind: cAdvisor metrics summed over the service's pods.
#[must_use]
pub fn default_template(kind: &ResourceKind) -> Option<&'static str> {
    Some(match kind {
        ResourceKind::Cpu => {
            r#"sum(rate(container_cpu_usage_seconds_total{{selector}, container!=""}[{rate_window}]))"#
        }
        ResourceKind::Memory => r#"sum(container_memory_working_set_bytes{{selector}, container!=""})"#,
        ResourceKind::NetworkIo => {
            r#"sum(rate({__name__=~"container_network_(receive|transmit)_bytes_total", {selector}}[{rate_window}]))"#
        }
        ResourceKind::DiskIo => {
            r#"sum(rate({__name__=~"container_fs_(reads|writes)_bytes_total", {selector}, container!=""}[{rate_window}]))"#
        }
        _ => return None,
    })
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Service,
    Environment,
    RateWindow,
    Selector,
}

/// A validated template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    source: String,
    pieces: Vec<Piece>,
}

/// What a template is rendered with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vars<'a> {
    pub(crate) service: &'a ServiceId,
    pub(crate) environment: Environment,
    pub(crate) rate_window: Duration,
    pub(crate) service_label: &'a str,
    pub(crate) environment_label: &'a str,
}

impl Template {
    /// Parses `source`. A placeholder is `{name}` where `name` is an identifier; any other brace is PromQL
    /// (a label matcher such as `{job="x"}` holds `=` and is not an identifier).
    ///
    /// # Errors
    /// [`Error::Config`] at `field` for an unknown placeholder or an empty template.
    pub(crate) fn parse(field: &str, source: &str) -> Result<Self> {
        if source.trim().is_empty() {
            return Err(Error::config(field, "the query template is empty"));
        }
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            text.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let ident_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let is_placeholder =
                ident_len > 0 && after[ident_len..].starts_with('}') && !after.as_bytes()[0].is_ascii_digit();
            if !is_placeholder {
                text.push('{');
                rest = after;
                continue;
            }
            let piece = match &after[..ident_len] {
                "service" => Piece::Service,
                "environment" => Piece::Environment,
                "rate_window" => Piece::RateWindow,
                "selector" => Piece::Selector,
                other => {
                    return Err(Error::config(
                        field,
                        format!(
                            "unknown placeholder `{{{other}}}`; known: {}",
                            PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                        ),
                    ));
                }
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
            rest = &after[ident_len + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Self {
            source: source.to_string(),
            pieces,
        })
    }

    /// The template as written.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Renders the query. Values are escaped for a double-quoted PromQL string, so they are safe inside
    /// label matchers.
    pub(crate) fn render(&self, vars: &Vars<'_>) -> String {
        let mut out = String::with_capacity(self.source.len() + 64);
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Service => out.push_str(&escape(vars.service.as_str())),
                Piece::Environment => out.push_str(&escape(vars.environment.as_str())),
                Piece::RateWindow => out.push_str(&promql_duration(vars.rate_window)),
                Piece::Selector => out.push_str(&selector(vars)),
            }
        }
        out
    }
}

/// The label matchers of the service and environment: `service="checkout",environment="live"`.
pub(crate) fn selector(vars: &Vars<'_>) -> String {
    let mut s = format!("{}=\"{}\"", vars.service_label, escape(vars.service.as_str()));
    if !vars.environment_label.is_empty() {
        s.push_str(&format!(
            ",{}=\"{}\"",
            vars.environment_label,
            escape(vars.environment.as_str())
        ));
    }
    s
}

/// Escapes a value for a double-quoted PromQL string.
pub(crate) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A duration in PromQL syntax: whole milliseconds, as `300s` or `1500ms`.
pub(crate) fn promql_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Checks that `name` is a Prometheus label name.
pub(crate) fn validate_label(field: &str, name: &str, allow_empty: bool) -> Result<()> {
    let valid = name
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
    if (name.is_empty() && !allow_empty) || !valid {
        return Err(Error::config(
            field,
            format!("`{name}` is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
        ));
    }
    Ok(())
}

/// The templates of every kind: the defaults of the built-in kinds, replaced or extended by `overrides`.
///
/// # Errors
/// [`Error::Config`] at `{section}.queries.<kind>` for a template that does not parse.
pub(crate) fn compile(
    section: &str,
    overrides: &BTreeMap<ResourceKind, String>,
) -> Result<BTreeMap<ResourceKind, Template>> {
    let mut out = BTreeMap::new();
    for kind in ResourceKind::BUILTIN {
        if let Some(t) = default_template(&kind) {
            let field = format!("{section}.queries.{kind}");
            out.insert(kind, Template::parse(&field, t)?);
        }
    }
    for (kind, source) in overrides {
        let field = format!("{section}.queries.{kind}");
        out.insert(kind.clone(), Template::parse(&field, source)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(service: &ServiceId) -> Vars<'_> {
        Vars {
            service,
            environment: Environment::Shadow,
            rate_window: Duration::from_secs(300),
            service_label: "app",
            environment_label: "env",
        }
    }

    #[test]
    fn renders_the_defaults() {
        let svc = ServiceId::new("checkout").unwrap();
        let templates = compile("metrics", &BTreeMap::new()).unwrap();
        let render = |k: ResourceKind| templates[&k].render(&vars(&svc));
        assert_eq!(
            render(ResourceKind::Cpu),
            r#"sum(rate(container_cpu_usage_seconds_total{app="checkout",env="shadow", container!=""}[300s]))"#
        );
        assert_eq!(
            render(ResourceKind::Memory),
            r#"sum(container_memory_working_set_bytes{app="checkout",env="shadow", container!=""})"#
        );
        assert!(render(ResourceKind::NetworkIo).contains("receive|transmit"));
        assert!(render(ResourceKind::DiskIo).contains("reads|writes"));
        assert_eq!(templates.len(), 4);
    }

    #[test]
    fn validates_placeholders_and_escapes_values() {
        let t = Template::parse("q", r#"x{a="{service}", b=~"{environment}"}[{rate_window}] {}"#).unwrap();
        let svc = ServiceId::new("a.b/c").unwrap();
        let mut v = vars(&svc);
        v.rate_window = Duration::from_millis(1500);
        v.environment_label = "";
        assert_eq!(t.render(&v), r#"x{a="a.b/c", b=~"shadow"}[1500ms] {}"#);
        assert_eq!(selector(&v), r#"app="a.b/c""#);
        let err = Template::parse("metrics.queries.cpu", "rate(x{{job}}[5m])").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid config at `metrics.queries.cpu`: unknown placeholder `{job}`; known: {service}, \
             {environment}, {rate_window}, {selector}"
        );
        assert!(Template::parse("q", "  ").is_err());
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert!(validate_label("l", "service_1", false).is_ok());
        assert!(validate_label("l", "1x", false).is_err());
        assert!(validate_label("l", "a-b", false).is_err());
        assert!(validate_label("l", "", true).is_ok());
        assert!(validate_label("l", "", false).is_err());
    }
}

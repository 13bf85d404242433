//! Smoke test for the service harness (`scripts/services.sh`, driven by `./scripts/test.sh`).
//!
//! `./scripts/test.sh` starts a real Prometheus on 127.0.0.1 and exports `SHADOW_PROMETHEUS_URL`.
//! This test asks that server for its build information, which proves the harness installed,
//! started and exported it correctly. Without the variable (plain `cargo test`, or
//! `./scripts/test.sh --no-services`) it prints why and passes without checking anything.
//!
//! It uses only `std`: a hand-written HTTP/1.0 GET over a `TcpStream`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The `host:port` part of an `http://host:port[/...]` URL.
fn authority(url: &str) -> &str {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("expected an http:// URL, got {url:?}"));
    rest.split_once('/').map_or(rest, |(authority, _)| authority)
}

/// Sends `GET path` over HTTP/1.0 and returns the status code and the body.
fn http_get(authority: &str, path: &str) -> (u16, String) {
    let addr = authority
        .to_socket_addrs()
        .unwrap_or_else(|e| panic!("cannot resolve {authority}: {e}"))
        .next()
        .unwrap_or_else(|| panic!("{authority} resolves to no address"));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    stream.set_read_timeout(Some(TIMEOUT)).expect("set read timeout");
    stream
        .set_write_timeout(Some(TIMEOUT))
        .expect("set write timeout");
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send request");

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8(raw).expect("response is UTF-8");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("malformed HTTP response: {text:?}"));
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status code in response head: {head:?}"));
    (status, body.to_owned())
}

/// The string value of the first `"key": "value"` pair in a JSON text (enough for flat values).
fn json_string_field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let quoted_key = format!("\"{key}\"");
    let after_key = &json[json.find(&quoted_key)? + quoted_key.len()..];
    let value = after_key
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(&value[..value.find('"')?])
}

#[test]
fn prometheus_from_harness_answers_buildinfo() {
    let Ok(url) = std::env::var("SHADOW_PROMETHEUS_URL") else {
        println!("skipping: SHADOW_PROMETHEUS_URL not set (run ./scripts/test.sh)");
        return;
    };

    let (status, body) = http_get(authority(&url), "/api/v1/status/buildinfo");

    assert_eq!(
        status, 200,
        "GET {url}/api/v1/status/buildinfo answered {status}: {body}"
    );
    assert!(
        body.replace(char::is_whitespace, "")
            .contains(r#""status":"success""#),
        "buildinfo is not a success: {body}"
    );
    let version =
        json_string_field(&body, "version").unwrap_or_else(|| panic!("buildinfo has no version: {body}"));
    assert!(
        version.starts_with("2."),
        "expected Prometheus 2.x, got {version:?}"
    );
}

#[test]
fn json_string_field_reads_flat_values() {
    let json = r#"{"status":"success","data":{"version" : "2.42.0+ds","revision":"x"}}"#;
    assert_eq!(json_string_field(json, "version"), Some("2.42.0+ds"));
    assert_eq!(json_string_field(json, "status"), Some("success"));
    assert_eq!(json_string_field(json, "missing"), None);
    assert_eq!(authority("http://127.0.0.1:9090/"), "127.0.0.1:9090");
    assert_eq!(authority("http://127.0.0.1:9090"), "127.0.0.1:9090");
}

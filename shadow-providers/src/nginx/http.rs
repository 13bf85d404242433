//! A minimal HTTP/1.1 GET over loopback TCP for the read-back and health checks: one request per
//! connection (`Connection: close`), so a check always reaches a current nginx worker.

use std::{net::SocketAddr, time::Duration};

use shadow_core::{Error, Result};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::KIND;

/// The largest response read; checks answer a line or two.
const MAX_RESPONSE: u64 = 64 * 1024;

/// Sends `GET path` to `addr` and returns the status code and body.
///
/// # Errors
/// [`Error::Timeout`] after `timeout`; [`Error::Unavailable`] when the connection fails or the answer is not
/// HTTP.
pub(crate) async fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(u16, String)> {
    tokio::time::timeout(timeout, get_inner(addr, path))
        .await
        .map_err(|_| Error::Timeout {
            provider: KIND,
            after: timeout,
        })?
}

async fn get_inner(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    let unavailable = |what: String| Error::Unavailable {
        provider: KIND,
        message: what,
    };
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| unavailable(format!("connect {addr}: {e}")))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| unavailable(format!("write to {addr}: {e}")))?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE)
        .read_to_end(&mut raw)
        .await
        .map_err(|e| unavailable(format!("read from {addr}: {e}")))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| unavailable(format!("{addr}{path}: incomplete HTTP response")))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| head.starts_with("HTTP/1."))
        .ok_or_else(|| unavailable(format!("{addr}{path}: not an HTTP response")))?;
    Ok((status, body.to_string()))
}

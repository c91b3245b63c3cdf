//! The server closes connections that send nothing, stop half-way through their headers, or sit
//! idle after a request, so a flood of sockets cannot hold its descriptors.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

/// Reads until the server closes the connection (EOF or reset) and returns what it sent; the
/// timeout only turns a hang into a failure.
async fn read_until_closed(stream: &mut TcpStream, what: &str) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the {what} connection open");
    received
}

#[tokio::test]
async fn silent_partial_and_idle_connections_are_closed_by_the_server() {
    let app = TestApp::spawn_with_args(|a| {
        a.header_read_timeout_ms = 300;
        a.idle_timeout_ms = 300;
    })
    .await;
    for base in [&app.base, &app.payments_base] {
        let addr = base.trim_start_matches("http://");

        let mut silent = TcpStream::connect(addr).await.unwrap();
        read_until_closed(&mut silent, "silent").await;

        let mut partial = TcpStream::connect(addr).await.unwrap();
        partial.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        read_until_closed(&mut partial, "partial-header").await;

        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let answer = read_until_closed(&mut idle, "idle keep-alive").await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "the request was answered before the close: {answer}");
        assert!(!answer.to_ascii_lowercase().contains("connection: close"), "kept alive, then closed idle: {answer}");
    }
}

#[tokio::test]
async fn keep_alive_connections_serve_several_requests_and_ready_follows_the_database() {
    let app = TestApp::spawn_with_args(|a| {
        a.header_read_timeout_ms = 5_000;
        a.idle_timeout_ms = 5_000;
    })
    .await;
    let http = reqwest::Client::new();
    for base in [&app.base, &app.payments_base] {
        for probe in ["/health", "/ready", "/health"] {
            assert_eq!(http.get(format!("{base}{probe}")).send().await.unwrap().status(), 200, "{base}{probe}");
        }
    }
}

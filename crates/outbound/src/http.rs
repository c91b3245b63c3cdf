//! A minimal HTTP/1.1 client for outbound delivery: one POST over a fresh connection (TLS for
//! https) to an address chosen by the caller, with header names sent exactly as spelled.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// The most a response head (status line and headers) may take.
const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;
/// The most a chunk-size line may take.
const MAX_CHUNK_LINE_BYTES: usize = 1024;

/// What the server answered; `body` holds at most the `limit` given to [`post`].
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum Error {
    Connect(io::Error),
    Tls(String),
    Io(io::Error),
    Malformed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(e) => write!(f, "could not connect: {e}"),
            Error::Tls(e) => write!(f, "TLS failed: {e}"),
            Error::Io(e) => write!(f, "connection failed: {e}"),
            Error::Malformed(e) => write!(f, "invalid HTTP response: {e}"),
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

fn malformed(why: impl Into<String>) -> Error {
    Error::Malformed(why.into())
}

/// POSTs `body` to `url` over a connection to `addr` (never re-resolved) and reads the answer,
/// keeping at most `limit` bytes of its body. Redirects are answers like any other.
pub async fn post(
    url: &url::Url,
    addr: SocketAddr,
    headers: &[(&str, String)],
    body: &[u8],
    limit: usize,
) -> Result<Response, Error> {
    let request = request_bytes(url, headers, body)?;
    let tcp = TcpStream::connect(addr).await.map_err(Error::Connect)?;
    let _ = tcp.set_nodelay(true);
    if url.scheme() == "https" {
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned()).map_err(|e| Error::Tls(e.to_string()))?;
        let mut tls =
            TlsConnector::from(tls_config()).connect(name, tcp).await.map_err(|e| Error::Tls(e.to_string()))?;
        exchange(&mut tls, &request, limit).await
    } else {
        let mut tcp = tcp;
        exchange(&mut tcp, &request, limit).await
    }
}

fn tls_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// The request head and body: `Host` first, then `headers` as given, then `Content-Length` and
/// `Connection: close`.
fn request_bytes(url: &url::Url, headers: &[(&str, String)], body: &[u8]) -> Result<Vec<u8>, Error> {
    let host = url.host_str().ok_or_else(|| malformed("the URL has no host"))?;
    let mut target = url.path().to_owned();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let mut head = format!("POST {target} HTTP/1.1\r\nHost: {host}");
    if let Some(port) = url.port() {
        head.push_str(&format!(":{port}"));
    }
    head.push_str("\r\n");
    for (name, value) in headers {
        let bad = |s: &str| s.bytes().any(|b| b == b'\r' || b == b'\n');
        if name.is_empty() || bad(name) || bad(value) || name.contains(':') {
            return Err(malformed(format!("header {name:?} cannot be sent")));
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    Ok(bytes)
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    request: &[u8],
    limit: usize,
) -> Result<Response, Error> {
    io.write_all(request).await?;
    io.flush().await?;
    read_response(io, limit).await
}

/// Reads bytes into `buf`; `Ok(0)` at the end of the stream. A TLS peer that closes without
/// `close_notify` has ended the stream too.
async fn read_more<R: AsyncRead + Unpin>(io: &mut R, buf: &mut Vec<u8>) -> Result<usize, Error> {
    let mut chunk = [0u8; 4096];
    match io.read(&mut chunk).await {
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// Reads one response (skipping interim 1xx answers), keeping at most `limit` bytes of its body.
pub async fn read_response<R: AsyncRead + Unpin>(io: &mut R, limit: usize) -> Result<Response, Error> {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let (status, headers) = read_head(io, &mut buf).await?;
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        let body = read_body(io, &mut buf, status, &headers, limit).await?;
        return Ok(Response { status, headers, body });
    }
}

async fn read_head<R: AsyncRead + Unpin>(io: &mut R, buf: &mut Vec<u8>) -> Result<(u16, Vec<(String, String)>), Error> {
    loop {
        let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut storage);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(used)) => {
                let status = parsed.code.ok_or_else(|| malformed("no status code"))?;
                let headers = parsed
                    .headers
                    .iter()
                    .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
                    .collect();
                buf.drain(..used);
                return Ok((status, headers));
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(malformed(e.to_string())),
        }
        if buf.len() >= MAX_HEAD_BYTES {
            return Err(malformed(format!("the response head is over {MAX_HEAD_BYTES} bytes")));
        }
        if read_more(io, buf).await? == 0 {
            return Err(malformed(if buf.is_empty() {
                "the connection closed without an answer"
            } else {
                "the connection closed inside the response head"
            }));
        }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> impl Iterator<Item = &'a str> {
    let name = name.to_owned();
    headers.iter().filter(move |(n, _)| *n == name).map(|(_, v)| v.trim())
}

async fn read_body<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut Vec<u8>,
    status: u16,
    headers: &[(String, String)],
    limit: usize,
) -> Result<Vec<u8>, Error> {
    if status == 204 || status == 304 {
        return Ok(Vec::new());
    }
    let chunked = header(headers, "transfer-encoding")
        .flat_map(|v| v.split(','))
        .last()
        .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("chunked"));
    if chunked {
        return read_chunked(io, buf, limit).await;
    }
    let mut lengths = header(headers, "content-length").flat_map(|v| v.split(',')).map(|v| v.trim().parse::<u64>());
    let length = match lengths.next() {
        None => None,
        Some(Ok(n)) if lengths.all(|m| m.as_ref().is_ok_and(|m| *m == n)) => Some(n),
        Some(_) => return Err(malformed("an invalid Content-Length")),
    };
    let wanted = length.map_or(limit, |n| usize::try_from(n).unwrap_or(usize::MAX).min(limit));
    while buf.len() < wanted {
        if read_more(io, buf).await? == 0 {
            if length.is_some() {
                return Err(malformed("the connection closed before the body ended"));
            }
            break;
        }
    }
    buf.truncate(wanted);
    Ok(std::mem::take(buf))
}

/// Decodes a chunked body (trailers are ignored), stopping once `limit` bytes are kept.
async fn read_chunked<R: AsyncRead + Unpin>(io: &mut R, buf: &mut Vec<u8>, limit: usize) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    loop {
        let line = read_line(io, buf).await?;
        let size = line.split(|b| *b == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size)
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .ok_or_else(|| malformed("an invalid chunk size"))?;
        if size == 0 {
            return Ok(body);
        }
        let mut remaining = size;
        while remaining > 0 {
            if buf.is_empty() && read_more(io, buf).await? == 0 {
                return Err(malformed("the connection closed inside a chunk"));
            }
            let take = remaining.min(buf.len());
            let keep = take.min(limit - body.len());
            body.extend_from_slice(&buf[..keep]);
            buf.drain(..take);
            remaining -= take;
            if body.len() >= limit {
                return Ok(body);
            }
        }
        while buf.len() < 2 {
            if read_more(io, buf).await? == 0 {
                return Err(malformed("the connection closed after a chunk"));
            }
        }
        if &buf[..2] != b"\r\n" {
            return Err(malformed("a chunk does not end with CRLF"));
        }
        buf.drain(..2);
    }
}

/// One CRLF-terminated line, without its CRLF.
async fn read_line<R: AsyncRead + Unpin>(io: &mut R, buf: &mut Vec<u8>) -> Result<Vec<u8>, Error> {
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = buf[..end].to_vec();
            buf.drain(..end + 2);
            return Ok(line);
        }
        if buf.len() > MAX_CHUNK_LINE_BYTES {
            return Err(malformed("a chunk-size line is too long"));
        }
        if read_more(io, buf).await? == 0 {
            return Err(malformed("the connection closed before the body ended"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(raw: &[u8], limit: usize) -> Result<Response, Error> {
        let mut input = raw;
        read_response(&mut input, limit).await
    }

    #[tokio::test]
    async fn a_body_ends_at_its_content_length() {
        let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Thing: a b\r\n\r\nhelloEXTRA", 100).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.headers, [("content-length".into(), "5".into()), ("x-thing".into(), "a b".into())]);
        assert_eq!(r.body, b"hello");
    }

    #[tokio::test]
    async fn a_chunked_body_is_decoded() {
        let raw = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n";
        let r = parse(raw, 100).await.unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.body, b"Wikipedia in \r\n\r\nchunks.");
    }

    #[tokio::test]
    async fn without_a_length_the_body_runs_to_the_close() {
        let r = parse(b"HTTP/1.0 500 Internal Server Error\r\nServer: x\r\n\r\nit broke\n", 100).await.unwrap();
        assert_eq!(r.status, 500);
        assert_eq!(r.body, b"it broke\n");
    }

    #[tokio::test]
    async fn no_content_has_no_body_and_interim_answers_are_skipped() {
        let r = parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 100).await.unwrap();
        assert_eq!((r.status, r.body.len()), (204, 0));
    }

    #[tokio::test]
    async fn garbage_or_a_cut_answer_is_an_error() {
        for raw in [
            &b"SSH-2.0-OpenSSH_9.6\r\n\r\n"[..],
            b"",
            b"HTTP/1.1 200 OK\r\nContent-Le",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
        ] {
            assert!(
                matches!(parse(raw, 100).await, Err(Error::Malformed(_))),
                "{:?} should not parse",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[tokio::test]
    async fn oversized_bodies_are_cut_and_oversized_heads_refused() {
        let mut raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'a', 10_000));
        assert_eq!(parse(&raw, 4096).await.unwrap().body.len(), 4096);

        let mut raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..100 {
            raw.extend_from_slice(b"64\r\n");
            raw.extend(std::iter::repeat_n(b'b', 100));
            raw.extend_from_slice(b"\r\n");
        }
        assert_eq!(parse(&raw, 4096).await.unwrap().body.len(), 4096, "no end chunk needed once the limit is reached");

        let mut raw = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'c', 10_000));
        assert_eq!(parse(&raw, 4096).await.unwrap().body.len(), 4096);

        let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
        raw.extend(format!("X-Big: {}\r\n\r\n", "d".repeat(MAX_HEAD_BYTES)).into_bytes());
        assert!(matches!(parse(&raw, 4096).await, Err(Error::Malformed(_))));
    }

    #[tokio::test]
    async fn https_speaks_tls_and_a_plain_http_answer_fails_the_handshake() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut hello = [0u8; 1];
            socket.read_exact(&mut hello).await.unwrap();
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
            hello[0]
        });
        let url = url::Url::parse(&format!("https://localhost:{}/hook", addr.port())).unwrap();
        let sent = post(&url, addr, &[], b"{}", 100).await;
        assert!(matches!(sent, Err(Error::Tls(_))), "{sent:?}");
        assert_eq!(server.await.unwrap(), 0x16, "the client opened with a TLS handshake record");
    }

    #[test]
    fn the_request_head_keeps_header_names_as_given() {
        let url = url::Url::parse("http://example.com:8080/hooks/in?x=1#frag").unwrap();
        let headers = [("X-Request-Signature-SHA-256", "ab12".to_owned()), ("X-Dwolla-Topic", "t".to_owned())];
        let raw = request_bytes(&url, &headers, b"{}").unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            "POST /hooks/in?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nX-Request-Signature-SHA-256: ab12\r\n\
             X-Dwolla-Topic: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        );
        let url = url::Url::parse("https://[::1]/").unwrap();
        assert!(String::from_utf8(request_bytes(&url, &[], b"").unwrap()).unwrap().contains("\r\nHost: [::1]\r\n"));
        assert!(request_bytes(&url, &[("X-Evil", "a\r\nB: c".to_owned())], b"").is_err());
    }
}

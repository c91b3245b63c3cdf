//! A bare HTTP/1.1 client: each worker owns one keep-alive connection (no pool behind its back)
//! and reconnects only when the server has closed it.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The media type that selects MX's v1 API.
pub const MX_ACCEPT: &str = "application/vnd.mx.api.v1+json";

/// No single request may take longer than this; a server that hangs fails the request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where requests go, who they claim to be and what they accept.
#[derive(Clone)]
pub struct Target {
    addr: SocketAddr,
    /// `http://{addr}`, which absolute URLs the server hands out begin with.
    base: String,
    host: HeaderValue,
    auth: Option<HeaderValue>,
    accept: HeaderValue,
}

impl Target {
    /// A server at `addr` spoken to as MX's API: Basic credentials `user:pass`, [`MX_ACCEPT`].
    pub fn new(addr: SocketAddr, user: &str, pass: &str) -> Self {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let auth = HeaderValue::from_str(&format!("Basic {token}")).expect("base64 is a valid header");
        Self { auth: Some(auth), ..Self::anonymous(addr, MX_ACCEPT) }
    }

    /// A server at `addr` spoken to with a bearer `token` (the payments API), accepting `accept`.
    pub fn bearer(addr: SocketAddr, token: &str, accept: &'static str) -> anyhow::Result<Self> {
        let auth = HeaderValue::from_str(&format!("Bearer {token}")).context("an access token that is no header")?;
        Ok(Self { auth: Some(auth), ..Self::anonymous(addr, accept) })
    }

    /// A server at `addr` spoken to without default credentials, accepting `accept`.
    pub fn anonymous(addr: SocketAddr, accept: &'static str) -> Self {
        Self {
            addr,
            base: format!("http://{addr}"),
            host: HeaderValue::from_str(&addr.to_string()).expect("a socket address is a valid header"),
            auth: None,
            accept: HeaderValue::from_static(accept),
        }
    }

    /// `http://{addr}`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The path (and query) of an absolute `url` on this server; `None` for a URL elsewhere.
    pub fn path_of<'a>(&self, url: &'a str) -> Option<&'a str> {
        url.strip_prefix(self.base.as_str()).filter(|p| p.starts_with('/'))
    }
}

/// A response read to its end.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as text, cut to `max` characters (for error reports).
    pub fn text(&self, max: usize) -> String {
        truncate(&String::from_utf8_lossy(&self.body), max)
    }
}

/// `s` cut to at most `max` characters, marked when cut.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// One keep-alive connection to a target.
pub struct Conn {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// TCP connections opened so far (1 when keep-alive held for the whole run).
    pub connects: u64,
    /// HTTP requests sent so far.
    pub requests: u64,
}

impl Conn {
    pub fn new(target: Target) -> Self {
        Self { target, sender: None, connects: 0, requests: 0 }
    }

    async fn connect(&mut self) -> anyhow::Result<()> {
        self.sender = None;
        let stream = TcpStream::connect(self.target.addr)
            .await
            .with_context(|| format!("connecting to {}", self.target.addr))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        self.connects += 1;
        self.sender = Some(sender);
        Ok(())
    }

    /// The connection, ready for a request: reused when still open, else opened anew.
    async fn ready(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        let alive = match self.sender.as_mut() {
            Some(s) => s.ready().await.is_ok(),
            None => false,
        };
        if !alive {
            self.connect().await?;
            self.sender.as_mut().expect("just connected").ready().await.context("a new connection failed")?;
        }
        Ok(self.sender.as_mut().expect("connected"))
    }

    /// Sends one request (JSON body when given) and reads the whole response.
    pub async fn request(&mut self, method: Method, path: &str, body: Option<Bytes>) -> anyhow::Result<Reply> {
        self.send(method, path, &[], body).await
    }

    /// [`Conn::request`] with `headers` added, each replacing a default of the same name
    /// (`Authorization`, `Accept`, `Content-Type`).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<Bytes>,
    ) -> anyhow::Result<Reply> {
        let result = tokio::time::timeout(REQUEST_TIMEOUT, self.send_inner(method, path, headers, body)).await;
        let result = result.unwrap_or_else(|_| Err(anyhow::anyhow!("no response within {REQUEST_TIMEOUT:?}")));
        if result.is_err() {
            // Whatever state the connection is in, the next request starts on a fresh one.
            self.sender = None;
        }
        result
    }

    async fn send_inner(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<Bytes>,
    ) -> anyhow::Result<Reply> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.target.host.clone())
            .header(ACCEPT, self.target.accept.clone());
        if let Some(auth) = &self.target.auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        let body = match body {
            Some(b) => {
                builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Full::new(b)
            }
            None => Full::new(Bytes::new()),
        };
        let mut request = builder.body(body)?;
        for (name, value) in headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        self.requests += 1;
        let sender = self.ready().await?;
        let (parts, body) = sender.send_request(request).await?.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply { status: parts.status, headers: parts.headers, body })
    }
}

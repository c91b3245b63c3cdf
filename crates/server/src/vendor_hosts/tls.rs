//! The vendor-host TLS listener: a handshake only for the vendor hosts (or no server name),
//! then each request goes to the API its Host names, through the same routers, edge and
//! connection timeouts as the plain listeners.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::ca::Material;
use super::{api_for, route, Api, Misdirected};
use crate::serve::{self, ConnectionLimits};

/// The TLS settings of the listener: the hosts' certificate, HTTP/1.1 only (as the plain
/// listeners).
pub fn server_config(material: &Material) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(ring::default_provider());
    let key = provider.key_provider.load_private_key(material.key.clone_key()).context("loading the hosts' key")?;
    let certified = Arc::new(CertifiedKey::new(material.chain.clone(), key));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(VendorCertificate(certified)));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Hands the certificate only to a client that asks for a vendor host (or for no name), so a
/// mistyped or foreign name fails at the handshake.
#[derive(Debug)]
struct VendorCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for VendorCertificate {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match hello.server_name() {
            Some(name) if api_for(name).is_none() => None,
            _ => Some(self.0.clone()),
        }
    }
}

/// The routers the listener sends requests to.
#[derive(Clone)]
pub struct Routes {
    pub payments: Router,
    pub aggregation: Router,
}

/// Serves `routes` over TLS on `listener` until `shutdown` resolves, then drains as the plain
/// listeners do. The handshake counts against the first request's header-read time.
pub async fn serve(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    routes: Routes,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    serve::accept_loop(listener, shutdown, move |stream, stop| {
        let (acceptor, routes) = (acceptor.clone(), routes.clone());
        async move {
            let _ = stream.set_nodelay(true);
            let accepted = Instant::now();
            let tls = match tokio::time::timeout(limits.header_read, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("closing a connection that did not finish its TLS handshake in time");
                    return;
                }
            };
            let server_name = tls.get_ref().1.server_name().map(str::to_owned);
            let first_request = limits.header_read.saturating_sub(accepted.elapsed());
            let service = tower::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(openiav_core::ops::OverTls);
                let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let target = match route(server_name.as_deref(), host.as_deref()) {
                    Ok(Api::Payments) => Ok(routes.payments.clone()),
                    Ok(Api::Aggregation) => Ok(routes.aggregation.clone()),
                    Err(why) => Err(why),
                };
                async move {
                    match target {
                        Ok(router) => router.oneshot(req).await,
                        Err(why) => Ok::<Response, Infallible>(misdirected(why)),
                    }
                }
            });
            serve::connection(TokioIo::new(tls), service, limits, first_request, stop).await;
        }
    })
    .await
}

/// 421: this listener answers only for the vendor hosts, each on a connection of its own name.
fn misdirected(why: Misdirected) -> Response {
    let message = match why {
        Misdirected::UnknownHost => "openiav's vendor-host listener answers only for the vendors' hosts.\n",
        Misdirected::HostIsNotServerName => "The Host header names another host than this connection's.\n",
    };
    (StatusCode::MISDIRECTED_REQUEST, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response()
}

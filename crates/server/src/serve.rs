//! The HTTP/1 accept loop: connection timeouts that close slow, silent and idle sockets, and a
//! graceful stop that stops accepting and drains in-flight requests.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// Put in a response's extensions to close its connection without writing any answer (a
/// sandbox fault rule's connection reset).
#[derive(Clone, Copy, Debug)]
pub struct AbortConnection;

/// How long connections may keep the server waiting.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// From accept to the end of the first request's headers.
    pub header_read: Duration,
    /// From the end of a response to the end of the next request's headers (hyper's header-read
    /// timer, which also runs while a keep-alive connection sits idle).
    pub idle: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and waits for
/// every open connection to finish its in-flight request.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    accept_loop(listener, shutdown, move |stream, stop| {
        let router = router.clone();
        async move {
            let _ = stream.set_nodelay(true);
            connection(TokioIo::new(stream), router, limits, limits.header_read, stop).await;
        }
    })
    .await
}

/// Accepts connections on `listener` and runs `on_connection` for each in a task of its own
/// until `shutdown` resolves; then stops accepting, tells the connections through their
/// receiver, and waits until every one has finished.
pub(crate) async fn accept_loop<F, Fut>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    mut on_connection: F,
) -> std::io::Result<()>
where
    F: FnMut(TcpStream, watch::Receiver<()>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (stop_tx, stop_rx) = watch::channel(());
    // Each connection holds a receiver; the drain is over when they are all gone.
    let (drained_tx, drained_rx) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: pause rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let (handled, drained) = (on_connection(stream, stop_rx.clone()), drained_rx.clone());
        tokio::spawn(async move {
            handled.await;
            drop(drained);
        });
    }
    drop(listener);
    let _ = stop_tx.send(());
    drop(drained_rx);
    drained_tx.closed().await;
    Ok(())
}

/// Serves one connection with `service`: closed when it sends no complete request within
/// `first_request`, or when a keep-alive wait passes the idle limit; on stop, after the request
/// in flight.
pub(crate) async fn connection<I, S>(
    io: I,
    service: S,
    limits: ConnectionLimits,
    first_request: Duration,
    mut stop: watch::Receiver<()>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: tower::Service<hyper::Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let started = Arc::new(AtomicBool::new(false));
    let seen = started.clone();
    let abort = Arc::new(tokio::sync::Notify::new());
    let aborting = abort.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        seen.store(true, Ordering::Relaxed);
        let (service, aborting) = (service.clone(), aborting.clone());
        async move {
            let resp = service.oneshot(req).await?;
            if resp.extensions().get::<AbortConnection>().is_some() {
                // The connection loop drops the connection; this answer is never written.
                aborting.notify_one();
                std::future::pending::<()>().await;
            }
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let first_request = tokio::time::sleep(first_request);
    tokio::pin!(first_request);
    let (mut waiting_first, mut stopping) = (true, false);
    loop {
        tokio::select! {
            outcome = conn.as_mut() => {
                if let Err(e) = outcome {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = abort.notified() => return,
            _ = &mut first_request, if waiting_first => {
                waiting_first = false;
                if !started.load(Ordering::Relaxed) {
                    tracing::debug!("closing a connection that sent no complete request in time");
                    return;
                }
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

//! A webhook receiver on a bare TCP listener (no HTTP library in between), for what only the raw
//! bytes show: it keeps each request exactly as sent and either answers `HTTP/1.1 200 OK` at once
//! or, while held, keeps the connection open without answering and notes when the client closes it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct RawRequest {
    /// The request line and headers, with the blank line that ends them.
    pub head: Vec<u8>,
    pub body: Vec<u8>,
}

impl RawRequest {
    pub fn head_text(&self) -> &str {
        std::str::from_utf8(&self.head).expect("a UTF-8 request head")
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<RawRequest>>,
    /// Connections the client closed while their answer was held back.
    closed_by_client: AtomicUsize,
}

pub struct RawReceiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    /// `true` while answers are held back.
    hold: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RawReceiver {
    /// A receiver that answers at once.
    pub async fn start() -> Self {
        Self::start_holding(false).await
    }

    /// A receiver that never answers until [`RawReceiver::release`] is called.
    pub async fn hung() -> Self {
        Self::start_holding(true).await
    }

    async fn start_holding(hold: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let (hold, held) = watch::channel(hold);
        let state = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, state.clone(), held.clone()));
            }
        });
        Self { addr, shared, hold, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<RawRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn closed_by_client(&self) -> usize {
        self.shared.closed_by_client.load(Ordering::SeqCst)
    }

    /// Answers every held and later request.
    pub fn release(&self) {
        self.hold.send_replace(false);
    }

    /// Waits until at least `n` requests have arrived; panics after `within` (a hang guard).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<RawRequest> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} requests within {within:?}, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for RawReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut socket: TcpStream, shared: Arc<Shared>, mut held: watch::Receiver<bool>) {
    let Some(request) = read_request(&mut socket).await else { return };
    shared.requests.lock().unwrap().push(request);
    if *held.borrow() {
        let mut probe = [0u8; 1];
        tokio::select! {
            _ = held.wait_for(|hold| !*hold) => {}
            // The client sends nothing more after its request: a read ends only when it closes.
            _ = socket.read(&mut probe) => {
                shared.closed_by_client.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
    }
    let _ = socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").await;
    let _ = socket.shutdown().await;
}

/// Reads a request head and a body of its `Content-Length`.
async fn read_request(socket: &mut TcpStream) -> Option<RawRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = buf[..head_end].to_vec();
    let length = String::from_utf8_lossy(&head)
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok()).flatten()
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(RawRequest { head, body: buf[head_end..head_end + length].to_vec() })
}

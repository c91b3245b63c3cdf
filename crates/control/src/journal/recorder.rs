//! The journal's writer: requests hand their entry to a bounded channel and go on; one task
//! lets them gather for a moment, writes them in one transaction and trims each tenant to its
//! bound. A full
//! channel drops entries (counted) rather than slow a request.

use std::collections::BTreeSet;
use std::sync::Arc;

use openiav_store::repo::journal::{self, JournalRecord};
use openiav_store::Store;
use tokio::sync::{mpsc, oneshot};

/// Entries kept per tenant unless configured otherwise.
pub const DEFAULT_KEEP: i64 = 1000;
/// Entries waiting to be written before new ones are dropped.
const CHANNEL: usize = 8192;
/// The most entries one transaction writes.
const BATCH: usize = 512;
/// How long the writer lets entries gather after the first: one commit (and one fsync) then
/// carries a moment's requests instead of each handful.
const LINGER: std::time::Duration = std::time::Duration::from_millis(25);
/// Counter of entries dropped because the writer fell behind.
pub const DROPPED: &str = "openiav_journal_dropped_total";

enum Message {
    Entry(Box<JournalRecord>),
    Flush(oneshot::Sender<()>),
}

/// A handle on the journal writer; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Message>,
    keep: Arc<i64>,
}

impl Recorder {
    /// Starts the writer on `store`, keeping `keep` entries per tenant. It stops once every
    /// handle is dropped, after writing what it holds.
    pub fn spawn(store: Store, keep: i64) -> Self {
        let keep = keep.max(1);
        let (tx, rx) = mpsc::channel(CHANNEL);
        tokio::spawn(write_loop(store, keep, rx));
        Self { tx, keep: Arc::new(keep) }
    }

    /// Entries kept per tenant.
    pub fn keep(&self) -> i64 {
        *self.keep
    }

    /// Hands an entry to the writer without waiting.
    pub fn record(&self, entry: JournalRecord) {
        if self.tx.try_send(Message::Entry(Box::new(entry))).is_err() {
            metrics::counter!(DROPPED).increment(1);
        }
    }

    /// Returns once every entry recorded before this call is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// Adds `message` and whatever else is waiting in the channel, up to a batch of entries.
fn take(
    message: Message,
    rx: &mut mpsc::Receiver<Message>,
    entries: &mut Vec<JournalRecord>,
    waiting: &mut Vec<oneshot::Sender<()>>,
) {
    let mut next = Some(message);
    while let Some(message) = next.take() {
        match message {
            Message::Entry(e) => entries.push(*e),
            Message::Flush(done) => waiting.push(done),
        }
        if entries.len() < BATCH {
            next = rx.try_recv().ok();
        }
    }
}

async fn write_loop(store: Store, keep: i64, mut rx: mpsc::Receiver<Message>) {
    while let Some(first) = rx.recv().await {
        let (mut entries, mut waiting) = (Vec::new(), Vec::new());
        take(first, &mut rx, &mut entries, &mut waiting);
        // A short batch with nobody waiting on it lingers for the entries about to come.
        if entries.len() < BATCH && waiting.is_empty() {
            tokio::time::sleep(LINGER).await;
            if let Ok(next) = rx.try_recv() {
                take(next, &mut rx, &mut entries, &mut waiting);
            }
        }
        if !entries.is_empty() {
            let mut seen = BTreeSet::new();
            let tenants: Vec<_> = entries.iter().map(|e| e.tenant_id).filter(|t| seen.insert(t.to_string())).collect();
            let written = store
                .write(move |c| {
                    Box::pin(async move {
                        journal::insert_batch(c, &entries).await?;
                        for tenant in tenants {
                            journal::trim(c, tenant, keep).await?;
                        }
                        Ok(())
                    })
                })
                .await;
            if let Err(e) = written {
                tracing::warn!(error = %e, "writing the request journal failed; its entries are lost");
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

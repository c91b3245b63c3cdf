//! How far behind a job queue is, read when metrics are scraped.

use openiav_core::clock::Timestamp;
use sqlx::Row;

use crate::{Conn, StoreError};

/// The size of one queue and the due time of its longest-waiting due job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueDepth {
    /// Every job on the queue, due or scheduled later.
    pub jobs: i64,
    /// The earliest `run_at` among jobs due at `now`; `None` when none is due.
    pub oldest_due_at: Option<Timestamp>,
}

/// The depth of `queue` at `now`.
pub async fn depth(conn: &mut Conn, queue: &str, now: Timestamp) -> Result<QueueDepth, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS jobs, MIN(CASE WHEN run_at <= $2 THEN run_at END) AS oldest FROM jobs WHERE queue = $1",
    )
    .bind(queue)
    .bind(now.millis())
    .fetch_one(conn)
    .await?;
    let oldest: Option<i64> = row.try_get("oldest")?;
    Ok(QueueDepth { jobs: row.try_get("jobs")?, oldest_due_at: oldest.map(Timestamp::from_millis) })
}

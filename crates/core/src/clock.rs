//! Time: an injectable `Clock` and the `Timestamp` every record stores (unix milliseconds).

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A point in time with millisecond precision, stored as unix milliseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// `2020-05-07T22:01:00Z`: whole seconds, as MX writes timestamps.
    pub fn to_rfc3339_seconds(self) -> String {
        let dt = self.to_datetime().replace_nanosecond(0).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        dt.format(&Rfc3339).unwrap_or_default()
    }

    /// `2024-11-18T18:48:11.357Z`: milliseconds, as Dwolla writes timestamps.
    pub fn to_rfc3339_millis(self) -> String {
        let dt = self.to_datetime();
        let ms = dt.millisecond();
        let whole = dt.replace_nanosecond(0).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let s = whole.format(&Rfc3339).unwrap_or_default();
        format!("{}.{:03}Z", s.trim_end_matches('Z'), ms)
    }

    /// The calendar day (UTC) as `YYYY-MM-DD`.
    pub fn to_date_string(self) -> String {
        let d = self.to_datetime().date();
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }

    /// Whole days since 1970-01-01 (UTC).
    pub fn unix_day(self) -> i64 {
        self.0.div_euclid(86_400_000)
    }
}

/// Unix milliseconds, as the store keeps them.
impl From<i64> for Timestamp {
    fn from(ms: i64) -> Self {
        Self(ms)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_millis())
    }
}

/// Where the current time comes from; tests use [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let now = OffsetDateTime::now_utc();
        Timestamp((now.unix_timestamp_nanos() / 1_000_000) as i64)
    }
}

/// A clock that only moves when told to; shared by clones.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(start.millis())))
    }

    pub fn advance_millis(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_mx_and_dwolla_timestamps() {
        let t = Timestamp::from_millis(1_588_888_860_357);
        assert_eq!(t.to_rfc3339_seconds(), "2020-05-07T22:01:00Z");
        assert_eq!(t.to_rfc3339_millis(), "2020-05-07T22:01:00.357Z");
        assert_eq!(t.to_date_string(), "2020-05-07");
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = ManualClock::new(Timestamp::from_millis(1000));
        assert_eq!(c.now().millis(), 1000);
        c.clone().advance_millis(500);
        assert_eq!(c.now().millis(), 1500);
    }
}

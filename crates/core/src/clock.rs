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

/// A tenant's test clock as stored: frozen at a moment, or running at an offset from the
/// real clock. No setting at all is the real clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockSetting {
    /// Where a frozen clock stands; `None` while it runs.
    pub frozen_at: Option<Timestamp>,
    /// How far a running clock is ahead of the real one (milliseconds).
    pub offset_ms: i64,
}

/// How a tenant's clock moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    Real,
    Frozen,
    Offset,
}

impl ClockMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Real => "real",
            Self::Frozen => "frozen",
            Self::Offset => "offset",
        }
    }
}

impl ClockSetting {
    /// A clock frozen at `at`.
    pub const fn frozen(at: Timestamp) -> Self {
        Self { frozen_at: Some(at), offset_ms: 0 }
    }

    /// A running clock `offset_ms` ahead of the real one.
    pub const fn offset(offset_ms: i64) -> Self {
        Self { frozen_at: None, offset_ms }
    }

    /// The tenant's now, given the real now.
    pub fn now(self, real: Timestamp) -> Timestamp {
        self.frozen_at.unwrap_or_else(|| real.plus_millis(self.offset_ms))
    }

    /// The same kind of clock, standing at `at` (a frozen clock stays frozen; a running one
    /// runs on from there).
    pub fn moved_to(self, at: Timestamp, real: Timestamp) -> Self {
        match self.frozen_at {
            Some(_) => Self::frozen(at),
            None => Self::offset(at.millis().saturating_sub(real.millis())),
        }
    }

    /// The mode of `setting` (none: the real clock).
    pub fn mode(setting: Option<Self>) -> ClockMode {
        match setting {
            None => ClockMode::Real,
            Some(Self { frozen_at: Some(_), .. }) => ClockMode::Frozen,
            Some(_) => ClockMode::Offset,
        }
    }
}

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a duration: write a whole number and a unit (ms, s, m, h, d), e.g. \"90s\", \"73h\", \"2d\", or ISO 8601 such as \"PT73H\"")]
pub struct BadDuration(pub String);

/// Parses a non-negative duration into milliseconds: `"250ms"`, `"90s"`, `"10m"`, `"73h"`,
/// `"2d"`, several parts (`"1h30m"`), or ISO 8601 (`"PT73H"`, `"P2DT3H"`, `"PT1.5S"`).
pub fn parse_duration(text: &str) -> Result<i64, BadDuration> {
    let bad = || BadDuration(text.to_owned());
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if let Some(iso) = s.strip_prefix('P').or_else(|| s.strip_prefix('p')) {
        return parse_iso(iso).ok_or_else(bad);
    }
    let mut total: i64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = n.checked_mul(unit).and_then(|ms| total.checked_add(ms)).ok_or_else(bad)?;
    }
    Ok(total)
}

/// ISO 8601 durations after the `P`: days, then `T` and hours, minutes, (fractional) seconds.
fn parse_iso(s: &str) -> Option<i64> {
    let (date, time) = match s.split_once(['T', 't']) {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (s, None),
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    let mut total: f64 = 0.0;
    let mut part = |text: &str, units: &[(char, f64)]| -> Option<()> {
        let mut rest = text;
        let mut allowed = units;
        while !rest.is_empty() {
            let at = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
            let n: f64 = rest[..at].parse().ok()?;
            let unit = rest[at..].chars().next()?.to_ascii_uppercase();
            let i = allowed.iter().position(|(u, _)| *u == unit)?;
            total += n * allowed[i].1;
            allowed = &allowed[i + 1..];
            rest = &rest[at + 1..];
        }
        Some(())
    };
    part(date, &[('W', 604_800_000.0), ('D', 86_400_000.0)])?;
    if let Some(t) = time {
        part(t, &[('H', 3_600_000.0), ('M', 60_000.0), ('S', 1_000.0)])?;
    }
    (total.is_finite() && total < 9.0e15).then_some(total.round() as i64)
}

/// Parses an RFC 3339 time (`2026-01-02T03:04:05Z`, with or without fractions or an offset).
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let dt = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
    i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok().map(Timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_short_and_iso_forms() {
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("10m"), Ok(600_000));
        assert_eq!(parse_duration("73h"), Ok(73 * 3_600_000));
        assert_eq!(parse_duration("2d"), Ok(172_800_000));
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration(" 0s "), Ok(0));
        assert_eq!(parse_duration("PT73H"), Ok(73 * 3_600_000));
        assert_eq!(parse_duration("P2DT3H4M"), Ok(2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000));
        assert_eq!(parse_duration("PT1.5S"), Ok(1_500));
        assert_eq!(parse_duration("P1W"), Ok(604_800_000));
        for bad in ["", "h", "73", "-5m", "5 minutes", "5x", "PT", "P", "PT5D", "PT3M2H", "99999999999999999d"] {
            assert_eq!(parse_duration(bad), Err(BadDuration(bad.to_owned())), "{bad:?}");
        }
    }

    #[test]
    fn rfc3339_times_parse_to_milliseconds() {
        assert_eq!(parse_rfc3339("2020-05-07T22:01:00.357Z"), Some(Timestamp::from_millis(1_588_888_860_357)));
        assert_eq!(parse_rfc3339("2020-05-07T23:01:00.357+01:00"), Some(Timestamp::from_millis(1_588_888_860_357)));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn a_frozen_clock_stays_put_and_an_offset_clock_runs_from_its_new_point() {
        let (real, later) = (Timestamp::from_millis(10_000), Timestamp::from_millis(25_000));
        let frozen = ClockSetting::frozen(Timestamp::from_millis(4_000));
        assert_eq!(
            (frozen.now(real), frozen.now(later)),
            (Timestamp::from_millis(4_000), Timestamp::from_millis(4_000))
        );
        let offset = ClockSetting::offset(3_600_000);
        assert_eq!(offset.now(real), Timestamp::from_millis(3_610_000));
        assert_eq!(offset.now(later), Timestamp::from_millis(3_625_000));

        // Moving keeps the mode: a frozen clock is frozen at the new point, a running one runs on.
        assert_eq!(
            frozen.moved_to(Timestamp::from_millis(9_000), real),
            ClockSetting::frozen(Timestamp::from_millis(9_000))
        );
        let moved = offset.moved_to(Timestamp::from_millis(50_000), real);
        assert_eq!((moved, moved.now(later)), (ClockSetting::offset(40_000), Timestamp::from_millis(65_000)));

        assert_eq!(ClockSetting::mode(None), ClockMode::Real);
        assert_eq!(ClockSetting::mode(Some(frozen)), ClockMode::Frozen);
        assert_eq!(ClockSetting::mode(Some(offset)).as_str(), "offset");
    }

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

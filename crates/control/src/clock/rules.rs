//! The test clock's decisions over plain values: where a move lands, and what an advance may run.

use openiav_core::clock::{parse_duration, parse_rfc3339, ClockSetting, Timestamp};

/// The most items one advance runs before it stops and says where (an advance over a flood of
/// due work answers in bounded time; the caller advances again to go on).
pub const MAX_ITEMS_PER_ADVANCE: usize = 2_000;
/// How long an advance holds the tenant's lease on real time. Past it, workers may claim the
/// tenant's due work again; claims are conditional, so nothing runs twice either way.
pub const ADVANCE_LEASE_MS: i64 = 600_000;

/// Why a clock move was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    BadDuration(String),
    BadTime(String),
    /// The clock only moves forward: due work already ran, and expiry rules assume time does not
    /// go back. `release` returns to the real clock, whatever it reads.
    Backwards {
        now: Timestamp,
        asked: Timestamp,
    },
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Self::BadDuration(m) => m.clone(),
            Self::BadTime(text) => {
                format!("{text:?} is not an RFC 3339 time; write it like \"2030-01-02T03:04:05Z\".")
            }
            Self::Backwards { now, asked } => format!(
                "The test clock only moves forward: it reads {} and {} is earlier. Release the clock to go back to real time.",
                now.to_rfc3339_millis(),
                asked.to_rfc3339_millis()
            ),
        }
    }
}

/// How far `text` moves the clock (milliseconds).
pub fn duration(text: &str) -> Result<i64, Refusal> {
    parse_duration(text).map_err(|e| Refusal::BadDuration(e.to_string()))
}

/// The time `text` names, if the clock, reading `now`, may move there.
pub fn set_target(text: &str, now: Timestamp) -> Result<Timestamp, Refusal> {
    let asked = parse_rfc3339(text).ok_or_else(|| Refusal::BadTime(text.to_owned()))?;
    if asked < now {
        return Err(Refusal::Backwards { now, asked });
    }
    Ok(asked)
}

/// The setting the clock keeps while an advance begins: the current one, or, for a tenant on
/// the real clock, a running clock with no offset yet.
pub fn advancing_setting(current: Option<ClockSetting>) -> ClockSetting {
    current.unwrap_or(ClockSetting::offset(0))
}

/// Where the clock stands to run an item due at `due` when it reads `now`: never backwards.
pub fn step_to(now: Timestamp, due: Timestamp) -> Timestamp {
    now.max(due)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp::from_millis(1_900_000_000_000);

    #[test]
    fn set_moves_forward_only_and_names_both_times_when_refused() {
        assert_eq!(set_target("2030-03-17T17:46:40Z", T), Ok(T));
        assert_eq!(set_target("2030-03-17T17:46:41.5Z", T), Ok(T.plus_millis(1_500)));
        let refused = set_target("2030-03-17T17:46:39Z", T).unwrap_err();
        assert_eq!(refused, Refusal::Backwards { now: T, asked: T.plus_millis(-1_000) });
        assert!(refused.message().contains("2030-03-17T17:46:40.000Z"), "{}", refused.message());
        assert!(matches!(set_target("tomorrow", T), Err(Refusal::BadTime(_))));
    }

    #[test]
    fn durations_and_steps() {
        assert_eq!(duration("73h"), Ok(73 * 3_600_000));
        assert!(matches!(duration("soon"), Err(Refusal::BadDuration(m)) if m.contains("\"soon\"")));
        assert_eq!(step_to(T, T.plus_millis(5)), T.plus_millis(5));
        assert_eq!(step_to(T, T.plus_millis(-5)), T, "overdue work runs at the clock's time");
        assert_eq!(advancing_setting(None), ClockSetting::offset(0));
        let frozen = ClockSetting::frozen(T);
        assert_eq!(advancing_setting(Some(frozen)), frozen);
    }
}

//! MX's retry rule for a failed webhook: "the frequency of request retries diminishes over the
//! course of approximately 24 hours, with no more than 12 total retries after an initial
//! request". MX publishes no exact offsets, so openiav uses the table below (12 gaps, doubling
//! at first, adding up to exactly 24 hours).

use openiav_core::clock::Timestamp;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// The gap before each retry: the n-th retry comes `RETRY_GAPS_MS[n - 1]` after the attempt
/// before it.
pub const RETRY_GAPS_MS: [i64; 12] = [
    MINUTE,
    2 * MINUTE,
    4 * MINUTE,
    8 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    4 * HOUR,
    6 * HOUR,
    7 * HOUR,
];

/// When a webhook is tried again after an attempt, `made` being the attempts made before that
/// one; a success (any 2xx) or the twelfth retry schedules nothing.
pub fn next_retry_at(made: usize, success: bool, now: Timestamp) -> Option<Timestamp> {
    if success {
        return None;
    }
    RETRY_GAPS_MS.get(made).map(|gap| now.plus_millis(*gap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_retries_thinning_out_over_24_hours() {
        assert_eq!(RETRY_GAPS_MS.len(), 12);
        assert_eq!(RETRY_GAPS_MS.iter().sum::<i64>(), 24 * HOUR);
        assert!(RETRY_GAPS_MS.windows(2).all(|w| w[0] < w[1]), "each gap is longer than the one before");
        let now = Timestamp::from_millis(1_000);
        assert_eq!(next_retry_at(0, false, now), Some(now.plus_millis(MINUTE)));
        assert_eq!(next_retry_at(11, false, now), Some(now.plus_millis(7 * HOUR)));
        assert_eq!(next_retry_at(12, false, now), None, "the twelfth retry was the last");
        assert_eq!(next_retry_at(0, true, now), None, "a 2xx ends it");
    }
}

//! Webhook rules over typed values: how many subscriptions a tenant holds, what a
//! subscription's url and secret must be, pausing by hand and automatically after repeated
//! failures, the automatic retry schedule, `startDate`/`endDate` bounds, and which addresses a
//! delivery may reach.

use openiav_core::clock::Timestamp;
use openiav_store::records::WebhookSubscriptionRecord;

use crate::body::is_http_url;
use crate::error::{FieldCode, FieldError};

/// Subscriptions a tenant may hold (Dwolla: 10 in the sandbox, 5 in production).
const SANDBOX_SUBSCRIPTIONS: usize = 10;
const SUBSCRIPTIONS: usize = 5;
/// The longest secret a subscription takes, in characters.
const MAX_SECRET_CHARS: usize = 128;
/// Gaps before each automatic retry (Dwolla: 8 retries over 72 hours).
pub const RETRY_GAPS_MS: [i64; 8] = [
    15 * 60_000,
    45 * 60_000,
    2 * 3_600_000,
    3 * 3_600_000,
    6 * 3_600_000,
    12 * 3_600_000,
    24 * 3_600_000,
    24 * 3_600_000,
];
/// Consecutive failures, and hours without success, after which a subscription pauses.
pub const PAUSE_AFTER_FAILURES: i64 = 400;
pub const PAUSE_AFTER_MS: i64 = 24 * 3_600_000;

/// Whether a tenant holding `held` subscriptions may add one.
pub fn may_subscribe(held: usize, is_sandbox: bool) -> bool {
    held < if is_sandbox { SANDBOX_SUBSCRIPTIONS } else { SUBSCRIPTIONS }
}

/// A new subscription's url (trimmed) and secret, or every field error they have.
pub fn subscription_fields(url: Option<&str>, secret: Option<&str>) -> Result<(String, String), Vec<FieldError>> {
    let url = url.unwrap_or_default().trim();
    let secret = secret.unwrap_or_default();
    let mut errors = Vec::new();
    if !is_http_url(url) {
        errors.push(FieldError::new(FieldCode::InvalidFormat, "/url", "Url must be a valid url."));
    }
    if secret.is_empty() {
        errors.push(FieldError::required("/secret", "Secret required."));
    } else if secret.chars().count() > MAX_SECRET_CHARS {
        errors.push(FieldError::new(FieldCode::InvalidFormat, "/secret", "Secret must be 128 or fewer characters."));
    }
    if errors.is_empty() {
        Ok((url.to_owned(), secret.to_owned()))
    } else {
        Err(errors)
    }
}

/// Pauses or unpauses by hand. Unpausing starts a fresh failure count; missed webhooks are
/// retried by hand, as on Dwolla.
pub fn set_paused(subscription: &mut WebhookSubscriptionRecord, paused: bool) {
    subscription.paused = paused;
    if !paused {
        subscription.consecutive_failures = 0;
    }
}

/// Counts one delivery's outcome on its subscription; returns whether that paused it (400
/// consecutive failures and a day without success).
pub fn count_outcome(subscription: &mut WebhookSubscriptionRecord, success: bool, now: Timestamp) -> bool {
    if success {
        subscription.consecutive_failures = 0;
        subscription.last_success_at = Some(now);
        return false;
    }
    subscription.consecutive_failures += 1;
    let since = subscription.last_success_at.unwrap_or(subscription.created_at);
    let pause = !subscription.paused
        && subscription.consecutive_failures >= PAUSE_AFTER_FAILURES
        && now.millis() - since.millis() >= PAUSE_AFTER_MS;
    if pause {
        subscription.paused = true;
    }
    pause
}

/// When a failed automatic delivery is tried again, `made` being the attempts made before it;
/// a success, a manual retry or the last scheduled retry schedules nothing.
pub fn next_retry_at(made: usize, success: bool, manual: bool, now: Timestamp) -> Option<Timestamp> {
    if success || manual {
        return None;
    }
    RETRY_GAPS_MS.get(made).map(|gap| now.plus_millis(*gap))
}

/// A `startDate`/`endDate` bound: an RFC 3339 time, or a `YYYY-MM-DD` day (its start, or with
/// `end_of_day` its last millisecond).
pub fn date_bound(value: &str, end_of_day: bool) -> Option<Timestamp> {
    if let Ok(t) = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339) {
        return Some(Timestamp::from_millis((t.unix_timestamp_nanos() / 1_000_000) as i64));
    }
    let day = time::Date::parse(value, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    let start = day.midnight().assume_utc().unix_timestamp() * 1000;
    Some(Timestamp::from_millis(if end_of_day { start + 86_400_000 - 1 } else { start }))
}

pub use openiav_outbound::address_allowed;

#[cfg(test)]
mod tests {
    use openiav_core::ids::TenantId;

    use super::*;

    fn subscription() -> WebhookSubscriptionRecord {
        WebhookSubscriptionRecord {
            id: "s".into(),
            tenant_id: TenantId::generate(),
            url: "https://example.com".into(),
            secret: Vec::new(),
            paused: false,
            consecutive_failures: 0,
            last_success_at: None,
            created_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn the_sandbox_holds_ten_subscriptions_and_other_tenants_five() {
        assert!(may_subscribe(9, true) && !may_subscribe(10, true));
        assert!(may_subscribe(4, false) && !may_subscribe(5, false));
    }

    #[test]
    fn a_subscription_needs_an_http_url_and_a_secret_of_at_most_128_characters() {
        let ok = subscription_fields(Some(" https://example.com/h "), Some(&"é".repeat(128)));
        assert_eq!(ok, Ok(("https://example.com/h".to_owned(), "é".repeat(128))));
        let paths = |r: Result<(String, String), Vec<FieldError>>| {
            r.expect_err("refused").into_iter().map(|e| (e.path, e.code)).collect::<Vec<_>>()
        };
        assert_eq!(
            paths(subscription_fields(Some("ftp://example.com"), None)),
            [("/url".to_owned(), FieldCode::InvalidFormat), ("/secret".to_owned(), FieldCode::Required)]
        );
        assert_eq!(
            paths(subscription_fields(Some("https://example.com"), Some(&"s".repeat(129)))),
            [("/secret".to_owned(), FieldCode::InvalidFormat)]
        );
        assert_eq!(paths(subscription_fields(None, Some("s"))), [("/url".to_owned(), FieldCode::InvalidFormat)]);
    }

    #[test]
    fn unpausing_starts_a_fresh_failure_count() {
        let mut s = subscription();
        s.consecutive_failures = 7;
        set_paused(&mut s, true);
        assert!(s.paused);
        assert_eq!(s.consecutive_failures, 7, "pausing keeps the count");
        set_paused(&mut s, false);
        assert!(!s.paused);
        assert_eq!(s.consecutive_failures, 0);
    }

    #[test]
    fn a_subscription_pauses_after_400_failures_and_a_day_without_success() {
        let mut s = subscription();
        let early = Timestamp::from_millis(1000);
        for _ in 0..PAUSE_AFTER_FAILURES {
            assert!(!count_outcome(&mut s, false, early), "not within the first day");
        }
        assert!(count_outcome(&mut s, false, Timestamp::from_millis(PAUSE_AFTER_MS)));
        assert!(s.paused);
        assert!(!count_outcome(&mut s, false, Timestamp::from_millis(PAUSE_AFTER_MS + 1)), "pauses once");
        assert!(!count_outcome(&mut s, true, Timestamp::from_millis(PAUSE_AFTER_MS + 2)));
        assert_eq!(s.consecutive_failures, 0);
    }

    #[test]
    fn failed_deliveries_retry_eight_times_over_72_hours() {
        let now = Timestamp::from_millis(0);
        assert_eq!(next_retry_at(0, false, false, now), Some(now.plus_millis(15 * 60_000)));
        assert_eq!(next_retry_at(7, false, false, now), Some(now.plus_millis(24 * 3_600_000)));
        assert_eq!(next_retry_at(8, false, false, now), None, "the last retry was the eighth");
        assert_eq!(next_retry_at(0, true, false, now), None, "a success");
        assert_eq!(next_retry_at(0, false, true, now), None, "a manual retry sends once");
        assert_eq!(RETRY_GAPS_MS.iter().sum::<i64>(), 72 * 3_600_000);
    }

    #[test]
    fn date_bounds_are_times_or_whole_days() {
        assert_eq!(date_bound("1970-01-02", false), Some(Timestamp::from_millis(86_400_000)));
        assert_eq!(date_bound("1970-01-02", true), Some(Timestamp::from_millis(2 * 86_400_000 - 1)));
        assert_eq!(date_bound("1970-01-01T00:00:01.5Z", true), Some(Timestamp::from_millis(1500)));
        assert_eq!(date_bound("yesterday", false), None);
    }
}

//! A webhook's `attempts` column: every delivery attempt, the request as sent and the
//! subscriber's answer, as `GET /webhooks/{id}` shows them.

use openiav_store::records::WebhookRecord;
use openiav_store::StoreError;

pub use openiav_outbound::attempts::{Attempt, AttemptRequest, AttemptResponse, Header};

/// The attempts `webhook` stores; a column that does not decode is an error naming the webhook.
pub fn of(webhook: &WebhookRecord) -> Result<Vec<Attempt>, StoreError> {
    serde_json::from_str(&webhook.attempts)
        .map_err(|e| StoreError::Corrupt(format!("webhook {}: column attempts does not decode: {e}", webhook.id)))
}

/// The column's JSON for `attempts`.
pub fn encode(attempts: &[Attempt]) -> String {
    serde_json::to_string(attempts).expect("attempts serialise")
}

#[cfg(test)]
mod tests {
    use openiav_core::clock::Timestamp;
    use openiav_core::ids::TenantId;
    use openiav_core::payments::EventTopic;

    use super::*;

    fn webhook(attempts: &str) -> WebhookRecord {
        WebhookRecord {
            id: "wh-1".into(),
            tenant_id: TenantId::generate(),
            subscription_id: "s".into(),
            event_id: "e".into(),
            topic: EventTopic::CustomerCreated,
            body: "{}".into(),
            attempts: attempts.into(),
            created_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn attempts_keep_the_stored_json() {
        let stored = r#"[{"id":"a1","request":{"body":"{}","headers":[{"name":"X-Dwolla-Topic","value":"customer_created"}],"timestamp":"1970-01-01T00:00:00.000Z","url":"https://example.com/h"},"response":{"body":"ok","headers":[],"statusCode":200,"timestamp":"1970-01-01T00:00:00.000Z"}}]"#;
        let attempts = of(&webhook(stored)).expect("decodes");
        assert_eq!(attempts[0].response.status_code, 200);
        assert_eq!(attempts[0].request.headers, [Header::new("X-Dwolla-Topic", "customer_created")]);
        assert_eq!(encode(&attempts), stored);
        assert_eq!(encode(&[]), "[]");
    }

    #[test]
    fn attempts_that_do_not_decode_name_the_webhook() {
        for broken in ["", "{}", r#"[{"id":"a1"}]"#] {
            let e = of(&webhook(broken)).expect_err(broken).to_string();
            assert!(e.contains("webhook wh-1") && e.contains("column attempts"), "{e}");
        }
    }
}

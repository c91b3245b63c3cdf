//! The rules of fault injection, free of I/O: path patterns, the deterministic draw, a rule's
//! effect as a typed value, and the validation of a new rule.

use axum::http::Method;
use openiav_core::clock::Timestamp;
use openiav_core::ids::TenantId;
use openiav_core::ops::{FaultEffectKind, Listener};
use openiav_store::repo::faults::FaultRuleRecord;
use serde::Deserialize;

/// Parts per million of a certain rule.
pub const CERTAIN_PPM: i64 = 1_000_000;
/// The `Retry-After` a rate-limit rule sends when none is given.
pub const DEFAULT_RETRY_AFTER_SECS: i64 = 1;
/// The longest latency a rule may add (under every request deadline anyone would set in tests).
pub const MAX_LATENCY_MS: i64 = 60_000;

/// A path pattern: `/` separated segments, where `*` (or a route template's `{name}`) is one
/// segment and `**` is any number of them, itself included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern(Vec<Segment>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Any,
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

impl PathPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.starts_with('/') {
            return Err("path must start with /".into());
        }
        let parsed = segments(text)
            .map(|s| match s {
                "**" => Ok(Segment::Any),
                "*" => Ok(Segment::One),
                s if s.starts_with('{') && s.ends_with('}') && s.len() > 2 => Ok(Segment::One),
                s if s.contains('*') || s.contains('{') || s.contains('}') => {
                    Err(format!("segment {s:?}: `*`, `**` and `{{name}}` stand alone in a segment"))
                }
                s => Ok(Segment::Literal(s.to_owned())),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self(parsed))
    }

    /// Whether the concrete request path `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        let path: Vec<&str> = segments(path).collect();
        matches_from(&self.0, &path)
    }
}

fn matches_from(pattern: &[Segment], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::Any, rest)) => (0..=path.len()).any(|skip| matches_from(rest, &path[skip..])),
        Some((seg, rest)) => match path.split_first() {
            Some((first, tail)) => {
                let ok = match seg {
                    Segment::Literal(l) => l == first,
                    _ => true,
                };
                ok && matches_from(rest, tail)
            }
            None => false,
        },
    }
}

/// SplitMix64: a small, well-mixed, fixed generator, so a seed means the same sequence on every
/// machine and version.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Whether the `index`-th request (0-based) matching a rule of `seed` is faulted, at a
/// probability of `ppm` parts per million.
pub fn draw(seed: i64, index: i64, ppm: i64) -> bool {
    if ppm >= CERTAIN_PPM {
        return true;
    }
    if ppm <= 0 {
        return false;
    }
    let x = splitmix64(splitmix64(seed as u64) ^ index as u64);
    ((x % CERTAIN_PPM as u64) as i64) < ppm
}

/// What a rule does, with its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultEffect {
    /// Answer this status with the vendor's error body.
    Status(u16),
    /// Wait this many milliseconds, then run the request.
    Latency(u64),
    /// Close the connection without answering.
    Reset,
    /// 429 with `Retry-After` seconds.
    RateLimit { retry_after_secs: u64 },
}

impl FaultEffect {
    /// The effect a stored rule holds.
    pub fn of(r: &FaultRuleRecord) -> Self {
        match r.effect {
            FaultEffectKind::Status => Self::Status(r.status.unwrap_or(500).clamp(400, 599) as u16),
            FaultEffectKind::Latency => Self::Latency(r.latency_ms.unwrap_or(0).clamp(0, MAX_LATENCY_MS) as u64),
            FaultEffectKind::Reset => Self::Reset,
            FaultEffectKind::RateLimit => Self::RateLimit {
                retry_after_secs: r.retry_after_secs.unwrap_or(DEFAULT_RETRY_AFTER_SECS).max(0) as u64,
            },
        }
    }
}

/// Whether a stored rule applies to a request on `listener` with `method` and `path` (its
/// count and probability aside).
pub fn rule_matches(r: &FaultRuleRecord, listener: Listener, method: &Method, path: &str) -> bool {
    r.listener.is_none_or(|l| l == listener)
        && r.method.as_deref().is_none_or(|m| m == method.as_str())
        && PathPattern::parse(&r.path).is_ok_and(|p| p.matches(path))
}

/// Paths no rule reaches: the control plane (so a rule can always be removed), metrics and probes.
pub fn exempt(path: &str) -> bool {
    path.starts_with("/_openiav/") || path == "/_openiav" || matches!(path, "/metrics" | "/health" | "/ready")
}

/// A rule as a client sends it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    /// `mx`, `dwolla` or `any` (the default).
    #[serde(default)]
    pub listener: Option<String>,
    /// An HTTP method or `any` (the default).
    #[serde(default)]
    pub method: Option<String>,
    pub path: String,
    /// `status`, `latency`, `reset` or `rate_limit`.
    pub effect: String,
    #[serde(default)]
    pub status: Option<i64>,
    #[serde(default)]
    pub latency_ms: Option<i64>,
    #[serde(default)]
    pub retry_after: Option<i64>,
    /// 0 to 1; 1 when absent.
    #[serde(default)]
    pub probability: Option<f64>,
    #[serde(default)]
    pub seed: Option<i64>,
    /// Apply to this many matching requests, then be spent; unlimited when absent.
    #[serde(default)]
    pub count: Option<i64>,
}

impl NewRule {
    /// The record this rule is stored as, or why it cannot be.
    pub fn into_record(self, id: String, tenant_id: TenantId, now: Timestamp) -> Result<FaultRuleRecord, String> {
        let listener = match self.listener.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("any") => None,
            Some(l) => Some(l.parse::<Listener>().map_err(|_| format!("listener {l:?}: use mx, dwolla or any"))?),
        };
        let method = match self.method.as_deref() {
            None => None,
            Some(m) if m.eq_ignore_ascii_case("any") => None,
            Some(m) => {
                let upper = m.to_ascii_uppercase();
                Method::from_bytes(upper.as_bytes()).map_err(|_| format!("method {m:?} is not an HTTP method"))?;
                Some(upper)
            }
        };
        PathPattern::parse(&self.path)?;
        let effect: FaultEffectKind = self
            .effect
            .parse()
            .map_err(|_| format!("effect {:?}: use status, latency, reset or rate_limit", self.effect))?;
        let (mut status, mut latency_ms, mut retry_after_secs) = (None, None, None);
        match effect {
            FaultEffectKind::Status => match self.status {
                Some(s @ 400..=599) => status = Some(s),
                Some(s) => return Err(format!("status {s}: a fault answers 400 to 599")),
                None => return Err("a status effect needs status".into()),
            },
            FaultEffectKind::Latency => match self.latency_ms {
                Some(ms @ 0..=MAX_LATENCY_MS) => latency_ms = Some(ms),
                Some(ms) => return Err(format!("latency_ms {ms}: 0 to {MAX_LATENCY_MS}")),
                None => return Err("a latency effect needs latency_ms".into()),
            },
            FaultEffectKind::RateLimit => match self.retry_after {
                None => retry_after_secs = Some(DEFAULT_RETRY_AFTER_SECS),
                Some(secs @ 0..=86_400) => retry_after_secs = Some(secs),
                Some(secs) => return Err(format!("retry_after {secs}: 0 to 86400 seconds")),
            },
            FaultEffectKind::Reset => {}
        }
        let probability = self.probability.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&probability) {
            return Err(format!("probability {probability}: 0 to 1"));
        }
        if let Some(n) = self.count {
            if n < 1 {
                return Err(format!("count {n}: at least 1 (leave it out for no limit)"));
            }
        }
        Ok(FaultRuleRecord {
            id,
            tenant_id,
            listener,
            method,
            path: self.path,
            effect,
            status,
            latency_ms,
            retry_after_secs,
            probability_ppm: (probability * CERTAIN_PPM as f64).round() as i64,
            seed: self.seed.unwrap_or(0),
            remaining: self.count,
            matched: 0,
            applied: 0,
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> PathPattern {
        PathPattern::parse(p).unwrap()
    }

    #[test]
    fn patterns_match_literal_one_and_any_segments() {
        assert!(pattern("/token").matches("/token"));
        assert!(!pattern("/token").matches("/token/x"));
        assert!(pattern("/users/*/members").matches("/users/USR-1/members"));
        assert!(!pattern("/users/*/members").matches("/users/members"));
        assert!(pattern("/users/{user_guid}/members").matches("/users/USR-1/members/"));
        assert!(pattern("/customers/**").matches("/customers"));
        assert!(pattern("/customers/**").matches("/customers/a/funding-sources"));
        assert!(!pattern("/customers/**").matches("/transfers/a"));
        assert!(pattern("/**/members").matches("/users/U/members"));
        assert!(pattern("/**").matches("/"));
        assert!(PathPattern::parse("token").is_err());
        assert!(PathPattern::parse("/to*ken").is_err());
    }

    #[test]
    fn the_draw_is_a_fixed_sequence_per_seed_near_its_probability() {
        let seq = |seed| (0..200).map(|i| draw(seed, i, 300_000)).collect::<Vec<_>>();
        assert_eq!(seq(7), seq(7));
        assert_ne!(seq(7), seq(8));
        let hits = (0..10_000).filter(|&i| draw(42, i, 300_000)).count();
        assert!((2_700..3_300).contains(&hits), "{hits} of 10000 at 0.3");
        assert!((0..100).all(|i| draw(1, i, CERTAIN_PPM)));
        assert!((0..100).all(|i| !draw(1, i, 0)));
    }

    fn new_rule(effect: &str) -> NewRule {
        NewRule {
            listener: None,
            method: None,
            path: "/token".into(),
            effect: effect.into(),
            status: None,
            latency_ms: None,
            retry_after: None,
            probability: None,
            seed: None,
            count: None,
        }
    }

    #[test]
    fn new_rules_are_validated_into_records() {
        let tenant = TenantId::generate();
        let build = |r: NewRule| r.into_record("f".into(), tenant, Timestamp::from_millis(0));
        assert!(build(new_rule("status")).is_err(), "status needs a status");
        assert!(build(NewRule { status: Some(302), ..new_rule("status") }).is_err());
        let r = build(NewRule {
            status: Some(503),
            method: Some("post".into()),
            listener: Some("MX".into()),
            count: Some(2),
            probability: Some(0.25),
            ..new_rule("status")
        })
        .unwrap();
        assert_eq!(
            (r.method.as_deref(), r.listener, r.remaining, r.probability_ppm),
            (Some("POST"), Some(Listener::Mx), Some(2), 250_000)
        );
        assert_eq!(FaultEffect::of(&r), FaultEffect::Status(503));
        let r = build(new_rule("rate_limit")).unwrap();
        assert_eq!(FaultEffect::of(&r), FaultEffect::RateLimit { retry_after_secs: 1 });
        assert!(build(NewRule { count: Some(0), ..new_rule("reset") }).is_err());
        assert!(build(NewRule { probability: Some(1.5), ..new_rule("reset") }).is_err());
        assert!(build(NewRule { listener: Some("plaid".into()), ..new_rule("reset") }).is_err());
        assert!(build(new_rule("explode")).is_err());
        assert!(build(NewRule { latency_ms: Some(5), ..new_rule("latency") }).is_ok());
    }

    #[test]
    fn rules_match_listener_method_and_path_and_spare_the_control_plane() {
        let tenant = TenantId::generate();
        let r = NewRule { method: Some("POST".into()), listener: Some("dwolla".into()), ..new_rule("reset") }
            .into_record("f".into(), tenant, Timestamp::from_millis(0))
            .unwrap();
        assert!(rule_matches(&r, Listener::Dwolla, &Method::POST, "/token"));
        assert!(!rule_matches(&r, Listener::Mx, &Method::POST, "/token"));
        assert!(!rule_matches(&r, Listener::Dwolla, &Method::GET, "/token"));
        assert!(exempt("/_openiav/faults") && exempt("/metrics") && !exempt("/token"));
    }
}

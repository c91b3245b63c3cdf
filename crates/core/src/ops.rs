//! The operations vocabulary: which listener a request came in on (and whether over TLS), and
//! the kinds of fault a rule can inject.

use crate::wire_enum;

/// Marks a request that reached openiav over TLS (vendor-host mode), so what it answers can
/// insist on TLS too (`Secure` cookies).
#[derive(Clone, Copy, Debug)]
pub struct OverTls;

wire_enum! {
    /// One of the two HTTP listeners (and so the vendor whose wire it speaks).
    pub enum Listener {
        /// The MX-compatible aggregation listener (with the widget, Plaid and Visa pages).
        Mx = "mx",
        /// The Dwolla-compatible payments listener.
        Dwolla = "dwolla",
    }
}

wire_enum! {
    /// What a fault rule does to a request it applies to.
    pub enum FaultEffectKind {
        /// Answers the given status with the vendor's own error body, without running the handler.
        Status = "status",
        /// Runs the request normally after waiting the given milliseconds.
        Latency = "latency",
        /// Closes the connection without an answer.
        Reset = "reset",
        /// Answers 429 with the vendor's body and `Retry-After`.
        RateLimit = "rate_limit",
    }
}

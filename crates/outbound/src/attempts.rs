//! One delivery attempt as recorded: the request as sent and the receiver's answer. Dwolla's
//! `GET /webhooks/{id}` and MX's delivery records show them in this shape.

use serde::{Deserialize, Serialize};

// Fields are declared in the order the stored JSON and the wire have always had.

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub id: String,
    pub request: AttemptRequest,
    pub response: AttemptResponse,
}

/// The request an attempt sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRequest {
    pub body: String,
    pub headers: Vec<Header>,
    pub timestamp: String,
    pub url: String,
}

/// What the receiver answered; status code 0 and the reason as body when nothing was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptResponse {
    pub body: String,
    pub headers: Vec<Header>,
    pub status_code: u16,
    pub timestamp: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), value: value.into() }
    }
}

//! `openiav sandbox force …`: moves a resource to a state through the real transitions
//! (`POST /_openiav/force/{kind}/{id}`) and prints the resource as it now stands.

use clap::Subcommand;
use serde_json::{json, Value};

use super::ControlClient;

#[derive(Debug, Subcommand)]
pub enum ForceCommand {
    /// An MX member's connection status (CONNECTED, LOCKED, DENIED, EXPIRED, PREVENTED, …).
    Member {
        guid: String,
        #[arg(long)]
        status: String,
    },
    /// A Dwolla customer's status (verified, suspended, deactivated, document, retry, kba, unverified).
    Customer {
        id: String,
        #[arg(long)]
        status: String,
    },
    /// A bank funding source's state (verified, unverified, removed).
    FundingSource {
        id: String,
        #[arg(long)]
        state: String,
    },
    /// A pending transfer's outcome (processed, failed with --return-code, cancelled).
    Transfer {
        id: String,
        #[arg(long)]
        status: String,
        /// The ACH return code of a failure (R01, R02, R03, …).
        #[arg(long)]
        return_code: Option<String>,
    },
    /// The micro-deposits sent to a Dwolla funding source (processed, failed).
    MicroDeposit {
        /// The funding source's id.
        id: String,
        #[arg(long)]
        status: String,
    },
    /// An MX micro-deposit's status (DEPOSITED, VERIFIED, DENIED, ERRORED).
    MxMicroDeposit {
        guid: String,
        #[arg(long)]
        status: String,
    },
}

/// The path and body a force command sends.
fn request(command: ForceCommand) -> (String, Value) {
    match command {
        ForceCommand::Member { guid, status } => {
            (format!("/_openiav/force/members/{guid}"), json!({ "connection_status": status }))
        }
        ForceCommand::Customer { id, status } => {
            (format!("/_openiav/force/customers/{id}"), json!({ "status": status }))
        }
        ForceCommand::FundingSource { id, state } => {
            (format!("/_openiav/force/funding-sources/{id}"), json!({ "state": state }))
        }
        ForceCommand::Transfer { id, status, return_code } => {
            let mut body = json!({ "status": status });
            if let Some(code) = return_code {
                body["returnCode"] = code.into();
            }
            (format!("/_openiav/force/transfers/{id}"), body)
        }
        ForceCommand::MicroDeposit { id, status } => {
            (format!("/_openiav/force/micro-deposits/{id}"), json!({ "status": status }))
        }
        ForceCommand::MxMicroDeposit { guid, status } => {
            (format!("/_openiav/force/mx-micro-deposits/{guid}"), json!({ "status": status }))
        }
    }
}

pub async fn run(client: &ControlClient, command: ForceCommand) -> anyhow::Result<Option<Value>> {
    let (path, body) = request(command);
    client.post(&path, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_transfer_sends_its_return_code_in_dwollas_spelling() {
        let (path, body) = request(ForceCommand::Transfer {
            id: "t-1".into(),
            status: "failed".into(),
            return_code: Some("R01".into()),
        });
        assert_eq!(path, "/_openiav/force/transfers/t-1");
        assert_eq!(body, json!({ "status": "failed", "returnCode": "R01" }));
        let (path, body) = request(ForceCommand::Member { guid: "MBR-1".into(), status: "LOCKED".into() });
        assert_eq!((path.as_str(), body), ("/_openiav/force/members/MBR-1", json!({ "connection_status": "LOCKED" })));
    }
}

//! `openiav sandbox fire …`: fires a Dwolla event topic or an MX webhook type about a resource
//! (`POST /_openiav/fire/{dwolla|mx}`) and prints the fired record.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::ControlClient;

#[derive(Debug, Subcommand)]
pub enum FireCommand {
    /// A Dwolla event (e.g. customer_transfer_completed) about a customer, funding source,
    /// exchange, transfer or bank transfer.
    Dwolla {
        topic: String,
        /// The id of the resource the event is about.
        #[arg(long)]
        resource: String,
    },
    /// An MX webhook (e.g. CONNECTION_STATUS) about a member, a user or a micro-deposit.
    Mx(MxArgs),
}

#[derive(Debug, Args)]
pub struct MxArgs {
    /// The webhook type (CONNECTION_STATUS, MEMBER, AGGREGATION, VERIFICATION, USER, MICRODEPOSIT, …).
    #[arg(value_name = "TYPE")]
    kind: String,
    #[arg(long)]
    member: Option<String>,
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    micro_deposit: Option<String>,
}

fn request(command: FireCommand) -> (&'static str, Value) {
    match command {
        FireCommand::Dwolla { topic, resource } => {
            ("/_openiav/fire/dwolla", json!({ "topic": topic, "resourceId": resource }))
        }
        FireCommand::Mx(a) => {
            let mut body = json!({ "type": a.kind });
            for (field, value) in
                [("member_guid", a.member), ("user_guid", a.user), ("micro_deposit_guid", a.micro_deposit)]
            {
                if let Some(value) = value {
                    body[field] = value.into();
                }
            }
            ("/_openiav/fire/mx", body)
        }
    }
}

pub async fn run(client: &ControlClient, command: FireCommand) -> anyhow::Result<Option<Value>> {
    let (path, body) = request(command);
    client.post(path, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fire_requests_name_the_resource_as_the_control_api_reads_it() {
        let (path, body) = request(FireCommand::Dwolla { topic: "customer_created".into(), resource: "c-1".into() });
        assert_eq!(
            (path, body),
            ("/_openiav/fire/dwolla", json!({ "topic": "customer_created", "resourceId": "c-1" }))
        );
        let mx = MxArgs { kind: "USER".into(), member: None, user: Some("USR-1".into()), micro_deposit: None };
        assert_eq!(request(FireCommand::Mx(mx)).1, json!({ "type": "USER", "user_guid": "USR-1" }));
    }
}

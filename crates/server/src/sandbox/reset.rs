//! `openiav sandbox reset`: deletes the tenant's data on the server, keeping its credentials and
//! settings; prints how many rows of each kind went.

use clap::Args;
use serde_json::Value;

use super::ControlClient;

#[derive(Debug, Args)]
pub struct ResetArgs {}

pub async fn run(client: &ControlClient, _args: ResetArgs) -> anyhow::Result<Option<Value>> {
    client.post("/_openiav/reset", &Value::Null).await
}

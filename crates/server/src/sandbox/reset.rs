//! (scaffold) `openiav sandbox reset`; its owner replaces this file.

use clap::Args;
use serde_json::Value;

use super::ControlClient;

#[derive(Debug, Args)]
pub struct ResetArgs {}

pub async fn run(_client: &ControlClient, _args: ResetArgs) -> anyhow::Result<Option<Value>> {
    anyhow::bail!("not built yet")
}

//! (scaffold) `openiav sandbox fixtures`; its owner replaces this file.

use clap::Args;
use serde_json::Value;

use super::ControlClient;

#[derive(Debug, Args)]
pub struct FixturesArgs {}

pub async fn run(_client: &ControlClient, _args: FixturesArgs) -> anyhow::Result<Option<Value>> {
    anyhow::bail!("not built yet")
}

//! (scaffold) `openiav sandbox snapshot|restore`; its owner replaces this file.

use clap::Args;
use serde_json::Value;

use super::ControlClient;

#[derive(Debug, Args)]
pub struct SnapshotArgs {}

#[derive(Debug, Args)]
pub struct RestoreArgs {}

pub async fn run_snapshot(_client: &ControlClient, _args: SnapshotArgs) -> anyhow::Result<Option<Value>> {
    anyhow::bail!("not built yet")
}

pub async fn run_restore(_client: &ControlClient, _args: RestoreArgs) -> anyhow::Result<Option<Value>> {
    anyhow::bail!("not built yet")
}

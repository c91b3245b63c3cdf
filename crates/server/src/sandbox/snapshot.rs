//! `openiav sandbox snapshot [--out FILE]` and `openiav sandbox restore FILE`: the tenant's data
//! as a versioned JSON document, and replacing the tenant's data with one.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde_json::{json, Value};

use super::ControlClient;

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Write the document to this file instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A document written by `openiav sandbox snapshot`.
    pub file: PathBuf,
}

pub async fn run_snapshot(client: &ControlClient, args: SnapshotArgs) -> anyhow::Result<Option<Value>> {
    let document = client.get("/_openiav/snapshot").await?.context("the server answered no snapshot")?;
    let Some(out) = args.out else { return Ok(Some(document)) };
    let rows: usize = document["tables"]
        .as_object()
        .map_or(0, |tables| tables.values().map(|t| t["rows"].as_array().map_or(0, Vec::len)).sum());
    std::fs::write(&out, serde_json::to_vec_pretty(&document)?)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(Some(json!({ "written": out.display().to_string(), "tenant": document["tenant"], "rows": rows })))
}

pub async fn run_restore(client: &ControlClient, args: RestoreArgs) -> anyhow::Result<Option<Value>> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let document: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", args.file.display()))?;
    client.post("/_openiav/restore", &document).await
}

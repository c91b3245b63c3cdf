//! `openiav sandbox journal`: the tenant's most recent requests, newest first.

use clap::Args;
use serde_json::Value;

use super::ControlClient;

#[derive(Debug, Args)]
pub struct JournalArgs {
    /// How many entries (default 100).
    #[arg(long)]
    pub limit: Option<i64>,
    /// Only answers with this status.
    #[arg(long)]
    pub status: Option<i64>,
    /// Only this route template, e.g. `/users/{user}`.
    #[arg(long)]
    pub route: Option<String>,
}

pub async fn run(client: &ControlClient, args: JournalArgs) -> anyhow::Result<Option<Value>> {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(limit) = args.limit {
        query.append_pair("limit", &limit.to_string());
    }
    if let Some(status) = args.status {
        query.append_pair("status", &status.to_string());
    }
    if let Some(route) = &args.route {
        query.append_pair("route", route);
    }
    let query = query.finish();
    let path = if query.is_empty() { "/_openiav/journal".to_owned() } else { format!("/_openiav/journal?{query}") };
    client.get(&path).await
}

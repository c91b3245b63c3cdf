//! `openiav sandbox faults list|add|remove|clear`: the tenant's fault rules.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};

use super::ControlClient;

#[derive(Debug, Subcommand)]
pub enum FaultsCommand {
    /// Every rule, with how often it matched and applied.
    List,
    /// Add a rule, e.g. `add --listener dwolla --method POST --path /token --effect status --status 500 --count 2`.
    Add(AddArgs),
    /// Remove one rule.
    Remove {
        /// The rule's id (`flt_…`).
        id: String,
    },
    /// Remove every rule.
    Clear,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListenerArg {
    Mx,
    Dwolla,
    Any,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum EffectArg {
    Status,
    Latency,
    Reset,
    RateLimit,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[arg(long, value_enum, default_value = "any")]
    pub listener: ListenerArg,
    /// An HTTP method, or `any`.
    #[arg(long, default_value = "any")]
    pub method: String,
    /// A path pattern: `*` is one segment, `**` any number (`/users/*/members`, `/customers/**`).
    #[arg(long)]
    pub path: String,
    #[arg(long, value_enum)]
    pub effect: EffectArg,
    /// The status a `status` effect answers with (the vendor's own error body).
    #[arg(long)]
    pub status: Option<i64>,
    /// Milliseconds a `latency` effect adds.
    #[arg(long)]
    pub latency_ms: Option<i64>,
    /// Seconds of `Retry-After` a `rate_limit` effect sends.
    #[arg(long)]
    pub retry_after: Option<i64>,
    /// 0 to 1 (default 1).
    #[arg(long)]
    pub probability: Option<f64>,
    /// Seed of the draw: the same seed gives the same sequence of faulted requests.
    #[arg(long)]
    pub seed: Option<i64>,
    /// Apply to the next N matching requests only.
    #[arg(long)]
    pub count: Option<i64>,
}

impl AddArgs {
    /// The rule as the control API takes it.
    pub fn body(&self) -> Value {
        let listener = match self.listener {
            ListenerArg::Mx => "mx",
            ListenerArg::Dwolla => "dwolla",
            ListenerArg::Any => "any",
        };
        let effect = match self.effect {
            EffectArg::Status => "status",
            EffectArg::Latency => "latency",
            EffectArg::Reset => "reset",
            EffectArg::RateLimit => "rate_limit",
        };
        let mut body = Map::new();
        body.insert("listener".into(), json!(listener));
        body.insert("method".into(), json!(self.method));
        body.insert("path".into(), json!(self.path));
        body.insert("effect".into(), json!(effect));
        let optional = [
            ("status", self.status.map(Value::from)),
            ("latency_ms", self.latency_ms.map(Value::from)),
            ("retry_after", self.retry_after.map(Value::from)),
            ("probability", self.probability.map(Value::from)),
            ("seed", self.seed.map(Value::from)),
            ("count", self.count.map(Value::from)),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                body.insert(name.into(), v);
            }
        }
        Value::Object(body)
    }
}

pub async fn run(client: &ControlClient, command: FaultsCommand) -> anyhow::Result<Option<Value>> {
    match command {
        FaultsCommand::List => client.get("/_openiav/faults").await,
        FaultsCommand::Add(args) => client.post("/_openiav/faults", &args.body()).await,
        FaultsCommand::Remove { id } => {
            client.delete(&format!("/_openiav/faults/{id}")).await?;
            Ok(Some(json!({ "removed": id })))
        }
        FaultsCommand::Clear => client.delete("/_openiav/faults").await,
    }
}

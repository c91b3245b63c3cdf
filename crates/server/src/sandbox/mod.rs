//! `openiav sandbox …`: the control plane's verbs, each a call to `/_openiav/…` on a running
//! server with the tenant's own credentials.

pub mod client;
pub mod clock;
pub mod faults;
pub mod fire;
pub mod fixtures;
pub mod force;
pub mod journal;
pub mod reset;
pub mod snapshot;

use clap::{Args, Subcommand};

pub use client::ControlClient;

/// Where the server is and whose credentials to call it with.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// Base URL of either listener of a running openiav (MX credentials go with the aggregation
    /// listener's URL, Dwolla credentials with the payments listener's).
    #[arg(long, global = true, env = "OPENIAV_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The tenant's MX client_id (with --mx-api-key: HTTP Basic).
    #[arg(long, global = true, env = "OPENIAV_MX_CLIENT_ID")]
    pub mx_client_id: Option<String>,
    #[arg(long, global = true, env = "OPENIAV_MX_API_KEY", hide_env_values = true)]
    pub mx_api_key: Option<String>,
    /// The tenant's Dwolla application key (with --dwolla-secret: a bearer token from `/token`).
    #[arg(long, global = true, env = "OPENIAV_DWOLLA_KEY")]
    pub dwolla_key: Option<String>,
    #[arg(long, global = true, env = "OPENIAV_DWOLLA_SECRET", hide_env_values = true)]
    pub dwolla_secret: Option<String>,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub verb: SandboxCommand,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Delete the tenant's data, keeping its credentials and settings.
    Reset(reset::ResetArgs),
    /// Write the tenant's data as a versioned JSON document.
    Snapshot(snapshot::SnapshotArgs),
    /// Replace the tenant's data with a snapshot document.
    Restore(snapshot::RestoreArgs),
    /// Load custom sandbox data (institutions, users with accounts and transactions).
    Fixtures(fixtures::FixturesArgs),
    /// Move a resource to a state through the real transitions and side effects.
    #[command(subcommand)]
    Force(force::ForceCommand),
    /// Fire a Dwolla event or an MX webhook for a resource.
    #[command(subcommand)]
    Fire(fire::FireCommand),
    /// Read, freeze, advance, set or release the tenant's test clock.
    #[command(subcommand)]
    Clock(clock::ClockCommand),
    /// List, add and remove fault rules.
    #[command(subcommand)]
    Faults(faults::FaultsCommand),
    /// The tenant's most recent requests.
    Journal(journal::JournalArgs),
}

/// Runs one verb against the server and prints its JSON answer.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let client = ControlClient::connect(&args.connection).await?;
    let answer = match args.verb {
        SandboxCommand::Reset(a) => reset::run(&client, a).await?,
        SandboxCommand::Snapshot(a) => snapshot::run_snapshot(&client, a).await?,
        SandboxCommand::Restore(a) => snapshot::run_restore(&client, a).await?,
        SandboxCommand::Fixtures(a) => fixtures::run(&client, a).await?,
        SandboxCommand::Force(c) => force::run(&client, c).await?,
        SandboxCommand::Fire(c) => fire::run(&client, c).await?,
        SandboxCommand::Clock(c) => clock::run(&client, c).await?,
        SandboxCommand::Faults(c) => faults::run(&client, c).await?,
        SandboxCommand::Journal(a) => journal::run(&client, a).await?,
    };
    if let Some(value) = answer {
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

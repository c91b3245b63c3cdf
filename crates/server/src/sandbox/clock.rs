//! `openiav sandbox clock show|freeze|advance DURATION|set TIME|release`: the tenant's test
//! clock through `/_openiav/clock`.

use clap::Subcommand;
use serde_json::{json, Value};

use super::ControlClient;

#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// The clock's mode (real, frozen, offset), its now and its offset from real time.
    Show,
    /// Stop the clock where it stands.
    Freeze,
    /// Move the clock forward by DURATION (`90s`, `10m`, `73h`, `2d`, `PT73H`), running whatever
    /// falls due on the way, in order, before answering.
    Advance {
        /// How far: a whole number and a unit (ms, s, m, h, d), or ISO 8601.
        duration: String,
    },
    /// Move the clock forward to TIME (RFC 3339), running whatever falls due on the way.
    Set {
        /// When, e.g. `2030-01-02T03:04:05Z`; never earlier than the clock reads.
        time: String,
    },
    /// Go back to the real clock.
    Release,
}

pub async fn run(client: &ControlClient, command: ClockCommand) -> anyhow::Result<Option<Value>> {
    match command {
        ClockCommand::Show => client.get("/_openiav/clock").await,
        ClockCommand::Freeze => client.post("/_openiav/clock/freeze", &json!({})).await,
        ClockCommand::Advance { duration } => {
            client.post("/_openiav/clock/advance", &json!({ "duration": duration })).await
        }
        ClockCommand::Set { time } => client.post("/_openiav/clock/set", &json!({ "time": time })).await,
        ClockCommand::Release => client.post("/_openiav/clock/release", &json!({})).await,
    }
}

//! The real `openiav serve` binary as a child process, for the tests that need whole processes
//! (crashes, several servers on one database): started on free ports with the sandbox
//! credentials given, its listeners read from what it prints, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running server and the base URLs of its two listeners.
pub struct Server {
    pub child: Child,
    // Each test binary compiles this module on its own; the crash test drives payments only.
    #[allow(dead_code)]
    pub aggregation: String,
    pub payments: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `openiav serve` on `database`, with `credentials` as `OPENIAV_SANDBOX_*` variables.
pub fn start(database: &str, key_file: &Path, credentials: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_openiav"))
        .env_remove("RUST_LOG")
        .envs(credentials.iter().copied())
        .args(["--database", database, "--key-file"])
        .arg(key_file)
        .args(["serve", "--aggregation-listen", "127.0.0.1:0", "--payments-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.map_while(Result::ok) {
        let (Some(agg), Some(pay)) =
            (line.split("aggregation (MX) on ").nth(1), line.split("payments (Dwolla) on ").nth(1))
        else {
            continue;
        };
        let aggregation = agg.split(',').next().unwrap().trim().to_owned();
        return Server { child, aggregation, payments: pay.trim().to_owned() };
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server never announced its listeners");
}

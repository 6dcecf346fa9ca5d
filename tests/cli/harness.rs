//! Running the `iampass` binary against an emulator, reading its output. The emulator, its
//! users and their phones are the fixtures of `tests/common/`, re-exported here for the topics.

use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use assert_cmd::assert::{Assert, OutputAssertExt};
use iampass::emulator::RunningEmulator;
use serde_json::Value;

pub use crate::common::emulator::{
    APP, SECRET, emulator, emulator_timing_out_after, phone_answers, user_with_phone,
    user_without_phone,
};
pub use crate::common::net::dead_url;

/// Longest any one run of the binary may take before the test fails (it never should).
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Every variable the binary reads (its own and the proxy variables its HTTP client honours),
/// cleared so the caller's environment cannot leak in.
const ENV: [&str; 11] = [
    "IAMPASS_SERVER",
    "IAMPASS_APPLICATION_ID",
    "IAMPASS_APPLICATION_SECRET",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The binary with none of the `IAMPASS_*` variables set.
pub fn bare_iampass() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iampass"));
    for var in ENV {
        cmd.env_remove(var);
    }
    cmd.timeout(DEADLINE);
    cmd
}

/// The binary pointed at `emulator` through the environment, as an administrator would.
pub fn iampass(emulator: &RunningEmulator) -> Command {
    let mut cmd = bare_iampass();
    cmd.env("IAMPASS_SERVER", emulator.base_url())
        .env("IAMPASS_APPLICATION_ID", APP)
        .env("IAMPASS_APPLICATION_SECRET", SECRET);
    cmd
}

/// Runs the command off the async runtime (the emulator's control calls share it).
pub async fn run(cmd: &mut Command) -> Output {
    let mut cmd = std::mem::replace(cmd, bare_iampass());
    tokio::task::spawn_blocking(move || cmd.output().expect("the binary runs"))
        .await
        .expect("the run completes")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// Standard output as the one JSON document `--json` promises.
pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {:?}; stderr: {:?}",
            stdout(output),
            stderr(output)
        )
    })
}

/// assert_cmd's assertions on a finished run (they show both streams on failure).
pub fn check(output: &Output) -> Assert {
    output.clone().assert()
}

//! Starting emulators, running the `iampass` binary against them, reading its output.

use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use assert_cmd::assert::{Assert, OutputAssertExt};
use iampass::emulator::{Behaviour, Emulator, RunningEmulator};
use serde_json::Value;

pub const APP: &str = "app-1";
pub const SECRET: &str = "secret-1";

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

pub async fn emulator() -> RunningEmulator {
    Emulator::builder()
        .application(APP, SECRET)
        .start()
        .await
        .expect("emulator starts")
}

/// An emulator where a request nobody answers times out after `pending_timeout`.
pub async fn emulator_timing_out_after(pending_timeout: Duration) -> RunningEmulator {
    Emulator::builder()
        .application(APP, SECRET)
        .pending_timeout(pending_timeout)
        .start()
        .await
        .expect("emulator starts")
}

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

/// Adds `user` with a registered phone.
pub async fn user_with_phone(emulator: &RunningEmulator, user: &str) {
    emulator.register_device(APP, user).await.unwrap();
}

/// Makes `user`'s phone answer every request by itself.
pub async fn phone_answers(emulator: &RunningEmulator, user: &str, behaviour: Behaviour) {
    emulator.set_behaviour(APP, user, behaviour).await.unwrap();
}

/// A loopback URL where nothing listens (a port just bound, then released).
pub fn dead_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

//! `login` until approved, denied, timed out, cancelled or interrupted; then `status` and
//! `logout` through the session file.

use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use iampass::emulator::{Behaviour, SessionAction};
use iampass::{Session, Status};
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::json;

use crate::harness::*;

/// Fast polling, so tests do not wait a second between status checks.
const POLL: [&str; 2] = ["--poll-interval", "0.05"];

fn after(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[tokio::test]
async fn an_approved_login_exits_0() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    phone_answers(&emulator, "alice", Behaviour::Approve { after: after(200) }).await;

    let out = run(iampass(&emulator).args(["login", "alice"]).args(POLL)).await;
    check(&out)
        .code(0)
        .stdout("✔ \"alice\" signed in (session active)\n")
        .stderr("");

    let out = run(iampass(&emulator)
        .args([
            "login",
            "alice",
            "--method",
            "acceptance",
            "--method",
            "facial",
            "--duration",
            "120",
            "--json",
        ])
        .args(POLL))
    .await;
    check(&out).code(0).stderr("");
    let doc = json(&out);
    assert_eq!(doc["approved"], true, "{doc}");
    assert_eq!(doc["status"], "active", "{doc}");
    assert_eq!(doc["session_file"], serde_json::Value::Null, "{doc}");
    let sessions = emulator.sessions(Some(APP), Some("alice")).await.unwrap();
    let newest = sessions.last().unwrap();
    assert_eq!(doc["session_token"], newest.session_token.as_str());
    assert_eq!(newest.session_status, Status::Active);
    assert_eq!(
        newest.methods,
        [
            iampass::AuthenticationMethod::Acceptance,
            iampass::AuthenticationMethod::Facial
        ]
    );
}

#[tokio::test]
async fn a_denied_login_exits_1() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    phone_answers(&emulator, "alice", Behaviour::Deny { after: after(100) }).await;

    let out = run(iampass(&emulator).args(["login", "alice"]).args(POLL)).await;
    check(&out)
        .code(1)
        .stdout(contains("\"alice\" did not sign in: denied"))
        // Not a terminal: no colour, no spinner.
        .stdout(contains("\x1b").not())
        .stderr("");

    let out = run(iampass(&emulator)
        .args(["login", "alice", "--json"])
        .args(POLL))
    .await;
    check(&out).code(1);
    assert_eq!(
        json(&out),
        json!({"user": "alice", "status": "failed", "approved": false, "reason": "denied on the phone"})
    );
}

#[tokio::test]
async fn a_login_nobody_answers_times_out_and_exits_1() {
    let emulator = emulator_timing_out_after(after(300)).await;
    user_with_phone(&emulator, "alice").await;

    let out = run(iampass(&emulator).args(["login", "alice"]).args(POLL)).await;
    check(&out)
        .code(1)
        .stdout(contains("no answer in time (timeout)"));

    let out = run(iampass(&emulator)
        .args(["login", "alice", "--json"])
        .args(POLL))
    .await;
    check(&out).code(1);
    assert_eq!(json(&out)["status"], "timeout");
}

/// Should IAMPASS never time a request out, `--max-wait` ends the wait and withdraws it.
#[tokio::test]
async fn max_wait_withdraws_an_unanswered_login() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;

    let out = run(iampass(&emulator)
        .args(["login", "alice", "--json", "--max-wait", "0.3"])
        .args(POLL))
    .await;
    check(&out).code(1);
    let doc = json(&out);
    assert_eq!(doc["status"], "timeout", "{doc}");
    assert!(
        doc["reason"].as_str().unwrap().contains("--max-wait"),
        "{doc}"
    );
    let sessions = emulator.sessions(Some(APP), Some("alice")).await.unwrap();
    assert_eq!(sessions[0].session_status, Status::Closed);
}

#[tokio::test]
async fn a_user_without_phone_cannot_sign_in() {
    let emulator = emulator().await;
    user_without_phone(&emulator, "alice").await;

    let out = run(iampass(&emulator).args(["login", "alice"])).await;
    check(&out)
        .code(1)
        .stdout(contains("could not start").and(contains("NO_MOBILE_DEVICE")));
    let out = run(iampass(&emulator).args(["login", "alice", "--json"])).await;
    assert_eq!(
        json(&out),
        json!({"user": "alice", "status": "failed", "approved": false, "reason": "NO_MOBILE_DEVICE"})
    );
}

/// The login process started in the background, so the test can act while it waits.
fn spawn_login(emulator: &iampass::emulator::RunningEmulator, user: &str) -> std::process::Child {
    StdCommand::new(env!("CARGO_BIN_EXE_iampass"))
        .env("IAMPASS_SERVER", emulator.base_url())
        .env("IAMPASS_APPLICATION_ID", APP)
        .env("IAMPASS_APPLICATION_SECRET", SECRET)
        .args(["login", user, "--json"])
        .args(POLL)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Waits for the process's end (killing it and failing the test after [`DEADLINE`]).
async fn finish(child: std::process::Child) -> std::process::Output {
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    match tokio::time::timeout(DEADLINE, waiting).await {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = StdCommand::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("the login did not end");
        }
    }
}

#[tokio::test]
async fn a_login_cancelled_on_the_phone_exits_1() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    let child = spawn_login(&emulator, "alice");
    let pending = emulator
        .wait_for_session(APP, "alice", Status::Pending, DEADLINE)
        .await
        .unwrap();
    emulator
        .session_action(&pending.session_token, SessionAction::Cancel)
        .await
        .unwrap();

    let out = finish(child).await;
    check(&out).code(1);
    assert_eq!(json(&out)["status"], "cancelled");
}

#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_withdraws_the_pending_login_and_exits_130() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    let child = spawn_login(&emulator, "alice");
    let pending = emulator
        .wait_for_session(APP, "alice", Status::Pending, DEADLINE)
        .await
        .unwrap();
    let killed = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let out = finish(child).await;
    check(&out).code(130).stderr(contains("interrupted"));
    assert_eq!(json(&out)["error"]["kind"], "interrupted");
    let sessions = emulator.sessions(Some(APP), Some("alice")).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].session_token, pending.session_token);
    assert_eq!(sessions[0].session_status, Status::Closed, "logged out");
}

#[tokio::test]
async fn session_out_then_status_then_logout() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    phone_answers(&emulator, "alice", Behaviour::Approve { after: after(100) }).await;
    let dir = std::env::temp_dir().join(format!("iampass-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("alice.json");
    let file_arg = file.to_str().unwrap();

    let out = run(iampass(&emulator)
        .args(["login", "alice", "--session-out", file_arg])
        .args(POLL))
    .await;
    check(&out)
        .code(0)
        .stdout(contains(format!("session saved to {file_arg}")));
    let session = Session::from_json(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(session.active());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the file holds the session secret");
    }

    // status and logout need only the session file: no IAMPASS_* variables.
    let out = run(bare_iampass().args(["status", "--session", file_arg])).await;
    check(&out).code(0).stdout("✔ session active\n");
    let out = run(bare_iampass().args(["status", "--session", file_arg, "--json"])).await;
    check(&out).code(0);
    assert_eq!(json(&out), json!({"status": "active", "active": true}));

    let out = run(bare_iampass().args(["logout", "--session", file_arg])).await;
    check(&out).code(0).stdout("logged out\n");
    let token = session.session_token().unwrap();
    let sessions = emulator.sessions(Some(APP), Some("alice")).await.unwrap();
    assert_eq!(sessions[0].session_token, token);
    assert_eq!(sessions[0].session_status, Status::Closed);

    let out = run(bare_iampass().args(["status", "--session", file_arg])).await;
    check(&out).code(1).stdout("✘ session closed\n");
    let out = run(bare_iampass().args(["--json", "status", "--session", file_arg])).await;
    check(&out).code(1);
    assert_eq!(json(&out), json!({"status": "closed", "active": false}));
    let out = run(bare_iampass().args(["logout", "--session", file_arg, "--json"])).await;
    check(&out).code(0);
    assert_eq!(json(&out), json!({"status": "closed", "logged_out": true}));

    // --json login names the file it wrote.
    let second = dir.join("second.json");
    let out = run(iampass(&emulator)
        .args([
            "login",
            "alice",
            "--json",
            "--session-out",
            second.to_str().unwrap(),
        ])
        .args(POLL))
    .await;
    check(&out).code(0);
    assert_eq!(json(&out)["session_file"], second.to_str().unwrap());
    assert!(
        Session::from_json(&std::fs::read_to_string(&second).unwrap())
            .unwrap()
            .active()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

//! What the CLI prints and writes cannot leak or clobber: passwords in URLs are left out,
//! `--session-out` never follows a link, a secret on the command line is warned about; and its
//! messages say what is wrong (missing `--session`, a bad session file, a `401`, an unknown
//! user to delete, a denial).

use std::path::PathBuf;
use std::time::Duration;

use iampass::emulator::Behaviour;
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::json;

use crate::harness::*;

const POLL: [&str; 2] = ["--poll-interval", "0.05"];

/// A fresh directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iampass-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn passwords_in_server_urls_are_never_printed() {
    let dead = dead_url();
    let with_password = dead.replace("http://", "http://bob:PW-s3cr3t@");
    for server in [
        "http://bob:PW-s3cr3t@[::1",
        "http://bob:PW-s3cr3t@[::1]:1/x?y",
        with_password.as_str(),
    ] {
        for json_flag in [false, true] {
            let mut cmd = bare_iampass();
            cmd.env("IAMPASS_APPLICATION_ID", APP)
                .env("IAMPASS_APPLICATION_SECRET", SECRET)
                .args(["--server", server, "device", "alice"]);
            if json_flag {
                cmd.arg("--json");
            }
            let out = run(&mut cmd).await;
            check(&out)
                .failure()
                .stdout(contains("PW-s3cr3t").not())
                .stderr(contains("PW-s3cr3t").not());
        }
    }
    let out = run(bare_iampass()
        .env("IAMPASS_APPLICATION_ID", APP)
        .env("IAMPASS_APPLICATION_SECRET", SECRET)
        .args(["--server", "http://bob:PW-s3cr3t@[::1", "device", "alice"]))
    .await;
    check(&out)
        .code(2)
        .stderr(contains("server URL").and(contains("http://***@[::1")));
}

#[cfg(unix)]
#[tokio::test]
async fn session_out_replaces_a_link_and_leaves_its_target_alone() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    let approve = Behaviour::Approve {
        after: Duration::from_millis(50),
    };
    phone_answers(&emulator, "alice", approve).await;
    let dir = temp_dir("symlink");
    let target = dir.join("precious.txt");
    std::fs::write(&target, "precious").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.join("session.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let out = run(iampass(&emulator)
        .args(["login", "alice", "--session-out", link.to_str().unwrap()])
        .args(POLL))
    .await;
    check(&out).code(0);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644, "the target's mode is untouched");
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_file(), "the link itself was replaced");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let session = iampass::Session::from_json(&std::fs::read_to_string(&link).unwrap()).unwrap();
    assert!(session.active());
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_secret_on_the_command_line_is_warned_about() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    let out = run(iampass(&emulator)
        .env_remove("IAMPASS_APPLICATION_SECRET")
        .args(["--app-secret", SECRET, "device", "alice"]))
    .await;
    check(&out).code(0).stderr(
        contains("warning:")
            .and(contains("--app-secret"))
            .and(contains("IAMPASS_APPLICATION_SECRET"))
            .and(contains(SECRET).not()),
    );
    // From the environment: no warning.
    let out = run(iampass(&emulator).args(["device", "alice"])).await;
    check(&out).code(0).stderr("");

    // From a file: no warning either.
    let dir = temp_dir("secret-file");
    let file = dir.join("secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let out = run(iampass(&emulator)
        .env_remove("IAMPASS_APPLICATION_SECRET")
        .args([
            "--app-secret-file",
            file.to_str().unwrap(),
            "device",
            "alice",
        ]))
    .await;
    check(&out)
        .code(0)
        .stdout("\"alice\" has a registered phone\n")
        .stderr("");
    let out = run(iampass(&emulator).args([
        "--app-secret-file",
        "/nonexistent/secret",
        "device",
        "alice",
    ]))
    .await;
    check(&out).code(2).stderr(contains("--app-secret-file"));
    std::fs::remove_dir_all(&dir).unwrap();

    let out = run(bare_iampass().arg("--help")).await;
    check(&out).code(0).stdout(
        contains("--app-secret-file")
            .and(contains("IAMPASS_APPLICATION_SECRET"))
            .and(contains("process list")),
    );
}

#[tokio::test]
async fn a_missing_session_names_just_that() {
    for command in ["status", "logout"] {
        let out = run(bare_iampass().arg(command)).await;
        check(&out)
            .code(2)
            .stdout("")
            .stderr(contains("missing --session FILE"))
            .stderr(contains("--app-id").not())
            .stderr(contains("IAMPASS_APPLICATION").not())
            .stderr(contains("Usage").not());
        let out = run(bare_iampass().args([command, "--json"])).await;
        check(&out).code(2);
        assert_eq!(json(&out)["error"]["kind"], "bad_input");
    }
}

#[tokio::test]
async fn a_bad_session_file_is_called_one() {
    let dir = temp_dir("bad-session");
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "{\"session_token\": ").unwrap();
    let out = run(bare_iampass().args(["status", "--session", garbage.to_str().unwrap()])).await;
    check(&out)
        .code(2)
        .stderr(contains(format!(
            "bad session file {}: EOF while parsing",
            garbage.display()
        )))
        .stderr(contains("unexpected answer from IAMPASS").not());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_401_hints_at_the_secret_or_the_clock() {
    let emulator = emulator().await;
    let out = run(iampass(&emulator)
        .env("IAMPASS_APPLICATION_SECRET", "wrong")
        .args(["device", "alice"]))
    .await;
    check(&out)
        .code(3)
        .stderr(contains("HTTP 401").and(contains(
            "(wrong application secret, or this machine's clock is off?)",
        )));
}

#[tokio::test]
async fn deleting_an_unknown_user_says_it_did_not_exist() {
    let emulator = emulator().await;
    emulator
        .management_api(APP)
        .unwrap()
        .add_user("alice")
        .await
        .unwrap();
    let out = run(iampass(&emulator).args(["users", "delete", "nobody"])).await;
    check(&out)
        .code(0)
        .stdout("no such user: \"nobody\" (nothing to delete)\n");
    let out = run(iampass(&emulator).args(["--json", "users", "delete", "alice", "nobody"])).await;
    check(&out).code(0);
    assert_eq!(
        json(&out),
        json!({"deleted": ["alice"], "not_found": ["nobody"]})
    );
    assert_eq!(emulator.applications().await.unwrap()[0].users, 0);
}

#[tokio::test]
async fn a_denial_says_so_with_a_reason() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    let deny = Behaviour::Deny {
        after: Duration::from_millis(50),
    };
    phone_answers(&emulator, "alice", deny).await;
    let out = run(iampass(&emulator).args(["login", "alice"]).args(POLL)).await;
    check(&out)
        .code(1)
        .stdout("✘ \"alice\" did not sign in: denied on the phone\n");
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

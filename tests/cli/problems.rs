//! What goes wrong gets a clear message on stderr and its own exit code: bad input (2),
//! refusals (3), outages (4), unknown users and applications (5); and secrets stay secret.

use iampass::emulator::Faults;
use predicates::prelude::*;
use predicates::str::contains;

use crate::harness::*;

/// Every command that talks to IAMPASS with the application's credentials.
const COMMANDS: [&[&str]; 7] = [
    &["users", "add", "alice"],
    &["users", "delete", "alice"],
    &["link", "alice"],
    &["sms", "alice", "+15550100"],
    &["device", "alice"],
    &["lost-device", "alice"],
    &["login", "alice"],
];

#[tokio::test]
async fn missing_credentials_are_bad_input() {
    for args in COMMANDS {
        let out = run(bare_iampass().args(args)).await;
        check(&out).code(2).stdout("").stderr(contains(
            "missing application id: set IAMPASS_APPLICATION_ID or pass --app-id",
        ));

        let out = run(bare_iampass()
            .args(["--app-id", "app-1", "--json"])
            .args(args))
        .await;
        check(&out)
            .code(2)
            .stderr(contains("IAMPASS_APPLICATION_SECRET"));
        let doc = json(&out);
        assert_eq!(doc["error"]["kind"], "bad_input", "{doc}");
        assert_eq!(doc["error"]["exit_code"], 2, "{doc}");
    }
    // An empty variable is as missing as an absent one.
    let out = run(bare_iampass()
        .env("IAMPASS_APPLICATION_ID", "app-1")
        .env("IAMPASS_APPLICATION_SECRET", "")
        .args(["device", "alice"]))
    .await;
    check(&out)
        .code(2)
        .stderr(contains("missing application secret"));
}

#[tokio::test]
async fn bad_arguments_are_usage_errors() {
    let emulator = emulator().await;
    let cases: [&[&str]; 17] = [
        &["users", "add"],
        &["users", "add", ""],
        &["users", "delete", "alice", ""],
        &["link", ""],
        &["device", ""],
        &["lost-device", ""],
        &["login", ""],
        &["sms", "alice", "12345"],
        &["sms", "alice", "+12"],
        &["sms", "alice", "+44 7700 abc"],
        &["login", "alice", "--duration", "0"],
        &["login", "alice", "--duration", "abc"],
        &["login", "alice", "--duration", "-5"],
        &["login", "alice", "--method", "retina"],
        &["login", "alice", "--poll-interval", "0"],
        &["device", "alice", "--timeout", "never"],
        &["frobnicate"],
    ];
    for args in cases {
        let out = run(iampass(&emulator).args(args)).await;
        check(&out).code(2).stdout("").stderr(contains("error:"));
    }
    let sms = run(iampass(&emulator).args(["sms", "alice", "12345"])).await;
    check(&sms).stderr(contains("not a phone number with country code"));
    // Nothing reached IAMPASS.
    assert_eq!(emulator.stats().await.unwrap().total(), 0);
}

#[tokio::test]
async fn a_bad_server_url_is_bad_input() {
    for server in ["not a url", "ftp://127.0.0.1:1", "127.0.0.1:8765"] {
        let out = run(bare_iampass()
            .env("IAMPASS_APPLICATION_ID", APP)
            .env("IAMPASS_APPLICATION_SECRET", SECRET)
            .args(["--server", server, "device", "alice"]))
        .await;
        check(&out).code(2).stderr(contains("server URL"));
    }
}

#[tokio::test]
async fn bad_session_files_are_bad_input() {
    let dir = std::env::temp_dir().join(format!("iampass-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "not json").unwrap();
    let never_started = dir.join("failed.json");
    std::fs::write(
        &never_started,
        iampass::Session::failed_to_start(None).to_json(),
    )
    .unwrap();
    let missing = dir.join("missing.json");

    for (file, says) in [
        (&missing, "cannot read the session file"),
        (&garbage, "bad session file"),
        (&never_started, "never started"),
    ] {
        for command in ["status", "logout"] {
            let out =
                run(bare_iampass().args([command, "--session", file.to_str().unwrap()])).await;
            check(&out).code(2).stderr(contains(says));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `--session-out` that cannot be written fails before the phone is asked anything.
#[tokio::test]
async fn an_unwritable_session_out_fails_before_the_request() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    let nowhere = std::env::temp_dir()
        .join("iampass-cli-no-such-dir")
        .join("s.json");
    let out = run(iampass(&emulator).args([
        "login",
        "alice",
        "--session-out",
        nowhere.to_str().unwrap(),
    ]))
    .await;
    check(&out).code(2).stderr(contains("--session-out"));
    assert!(emulator.sessions(Some(APP), None).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_unreachable_server_is_an_outage() {
    let server = dead_url();
    for args in COMMANDS {
        let out = run(bare_iampass()
            .env("IAMPASS_SERVER", &server)
            .env("IAMPASS_APPLICATION_ID", APP)
            .env("IAMPASS_APPLICATION_SECRET", SECRET)
            .args(args))
        .await;
        check(&out)
            .code(4)
            .stdout("")
            .stderr(contains("cannot connect to IAMPASS").and(contains("IAMPASS_SERVER")))
            .stderr(contains("\x1b").not());
    }
    let out = run(bare_iampass()
        .env("IAMPASS_APPLICATION_ID", APP)
        .env("IAMPASS_APPLICATION_SECRET", SECRET)
        .args(["--server", &server, "--json", "login", "alice"]))
    .await;
    check(&out).code(4);
    assert_eq!(json(&out)["error"]["kind"], "outage");
}

#[tokio::test]
async fn a_failing_server_is_an_outage() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    emulator
        .set_faults(Faults {
            error_rate: 1.0,
            error_status: 503,
            ..Faults::default()
        })
        .await
        .unwrap();
    for args in COMMANDS {
        let out = run(iampass(&emulator).args(args)).await;
        check(&out).code(4).stderr(contains("HTTP 503"));
    }
}

#[tokio::test]
async fn a_slow_server_is_an_outage_after_the_timeout() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    emulator
        .set_faults(Faults {
            latency: std::time::Duration::from_secs(30),
            ..Faults::default()
        })
        .await
        .unwrap();
    let out = run(iampass(&emulator).args(["device", "alice", "--timeout", "0.3"])).await;
    check(&out)
        .code(4)
        .stderr(contains("did not answer within"));
}

#[tokio::test]
async fn unknown_users_and_applications_are_not_found() {
    let emulator = emulator().await;
    for args in [
        &["link", "nobody"][..],
        &["sms", "nobody", "+15550100"],
        &["device", "nobody"],
        &["lost-device", "nobody"],
        &["login", "nobody"],
    ] {
        let out = run(iampass(&emulator).args(args)).await;
        check(&out)
            .code(5)
            .stderr(contains("nobody").or(contains("unknown user")));
        let out = run(iampass(&emulator).arg("--json").args(args)).await;
        assert_eq!(json(&out)["error"]["kind"], "not_found");
    }
    let out =
        run(iampass(&emulator).args(["--app-id", "no-such-app", "users", "add", "alice"])).await;
    check(&out).code(5).stderr(contains("unknown application"));
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_the_secret_is_never_printed() {
    let emulator = emulator().await;
    let secret = "wrong-s3cr3t-value";
    for args in COMMANDS {
        let out = run(iampass(&emulator)
            .env("IAMPASS_APPLICATION_SECRET", secret)
            .args(args))
        .await;
        check(&out).code(3).stderr(contains("401"));
        let out = run(iampass(&emulator)
            .args(["--json", "--app-secret", secret])
            .args(args))
        .await;
        check(&out)
            .code(3)
            .stdout(contains(secret).not())
            .stderr(contains(secret).not());
        assert_eq!(json(&out)["error"]["kind"], "refused");
    }
    for help in [&["--help"][..], &["login", "--help"], &["-h"]] {
        let out = run(iampass(&emulator)
            .env("IAMPASS_APPLICATION_SECRET", secret)
            .args(help))
        .await;
        check(&out).code(0).stdout(contains(secret).not());
    }
}

#[tokio::test]
async fn help_documents_the_exit_codes() {
    let out = run(bare_iampass().arg("--help")).await;
    check(&out).code(0).stdout(
        contains("Exit codes:")
            .and(contains("  2    bad input"))
            .and(contains("  4    outage"))
            .and(contains("  130  interrupted")),
    );
}

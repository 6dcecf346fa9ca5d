//! The audit trail (issue 9.10): a whole sign-in, a walkaway and return, and a logout, as they
//! appear in the log of a real server, through a subscriber installed for this test binary.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use iampass::Status;
use iampass::emulator::SessionAction;

use crate::emulator_control::session_action;
use crate::harness::*;

/// Every log line of this test binary (all tests share the global subscriber; each test
/// reads only the lines of its own user).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_env_filter("iampass=debug")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

/// The captured lines that mention `needle`.
fn lines_with(needle: &str) -> Vec<String> {
    let bytes = log().0.lock().unwrap().clone();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_walkaway_return_and_logout_are_audited_with_who_and_where() {
    log();
    let user = "audit-walker";
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, user).await;
    let token = session_of(&emulator, user, Status::Active).await;
    assert_eq!(client.get("/dashboard").await.status, 200);
    session_action(&emulator, &token, SessionAction::Walkaway).await;
    assert_eq!(client.get("/dashboard").await.status, 401);
    assert_eq!(client.get("/dashboard").await.status, 401);
    session_action(&emulator, &token, SessionAction::Return).await;
    assert_eq!(client.get("/dashboard").await.status, 200);
    let out = client
        .post_json("/auth/logout", serde_json::json!({}))
        .await;
    assert!(out.status < 400, "{}", out.status);

    let mine = lines_with(&format!("user=\"{user}\""));
    let one = |message: &str| -> String {
        let found: Vec<&String> = mine.iter().filter(|l| l.contains(message)).collect();
        assert_eq!(
            found.len(),
            1,
            "one {message:?} event in:\n{}",
            mine.join("\n")
        );
        found[0].clone()
    };
    for event in ["login started", "login approved", "logout"] {
        one(event);
    }
    // Two walked-away requests, one event; each carries the request's span: client and path.
    for event in ["IAMPASS walkaway", "IAMPASS return"] {
        let line = one(event);
        assert!(line.contains("iampass_validate{"), "{line}");
        assert!(line.contains("client=127.0.0.1"), "{line}");
        assert!(line.contains("path=\"/dashboard\""), "{line}");
        assert!(line.contains("handle="), "{line}");
        assert!(!line.contains(&token), "the token never appears: {line}");
    }
    // No line of this user shows the session's token or secret.
    assert!(mine.iter().all(|l| !l.contains(&token)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_ups_are_audited_started_approved_and_refused() {
    log();
    let user = "audit-sudo";
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, user).await;
    let started = client
        .post_json("/auth/step-up", serde_json::json!({"methods": ["facial"]}))
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(client.poll_until_done().await.json()["status"], "active");
    crate::harness::phone_answers(
        &emulator,
        user,
        iampass::emulator::Behaviour::Deny {
            after: std::time::Duration::ZERO,
        },
    )
    .await;
    let started = client
        .post_json("/auth/step-up", serde_json::json!({}))
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(client.poll_until_done().await.json()["status"], "failed");

    let mine = lines_with(&format!("user=\"{user}\""));
    let count = |message: &str| mine.iter().filter(|l| l.contains(message)).count();
    assert_eq!(count("step-up started"), 2, "{}", mine.join("\n"));
    assert_eq!(count("step-up approved"), 1, "{}", mine.join("\n"));
    assert_eq!(count("step-up refused"), 1, "{}", mine.join("\n"));
    let approved = mine
        .iter()
        .find(|l| l.contains("step-up approved"))
        .unwrap();
    assert!(approved.contains("methods=\"facial\""), "{approved}");
    let started = mine.iter().find(|l| l.contains("step-up started")).unwrap();
    assert!(started.contains("address=Some(127.0.0.1)"), "{started}");
}

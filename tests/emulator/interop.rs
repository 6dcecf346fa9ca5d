//! The reference Python client (`tests/interop/reference_client.py`) against the emulator.

use std::process::Command;

use super::*;

/// The reference client's interpreter, or `None` (skip) unless interop is required.
fn python() -> Option<String> {
    match std::env::var("IAMPASS_PYTHON") {
        Ok(p) if !p.trim().is_empty() => Some(p),
        _ => {
            assert!(
                std::env::var("IAMPASS_REQUIRE_INTEROP").as_deref() != Ok("1"),
                "IAMPASS_REQUIRE_INTEROP=1 but IAMPASS_PYTHON is not set"
            );
            eprintln!(
                "skipping the Python interop test: set IAMPASS_PYTHON to a python with IAMPASS==0.0.32"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_python_client_works_against_the_emulator() {
    let Some(python) = python() else { return };
    let emulator = emulator().await;
    // A session started and approved from Rust, handed to Python as JSON.
    user_with_phone_in(&emulator, APP, "rust user").await;
    let (rust_session, token) = start_session(&emulator, APP, "rust user").await;
    session_action(&emulator, &token, SessionAction::Approve).await;

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/reference_client.py"
    );
    let base = emulator.base_url().to_owned();
    let rust_json = rust_session.to_json();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([APP, SECRET, &rust_json])
            .env("IAMPASS_SERVER", base)
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "reference client script failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // Python's session JSON loads here and talks to the emulator.
    let python_json = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PYTHON_SESSION_JSON="))
        .expect("the script prints its session JSON");
    let mut session = emulator
        .authentication_api(APP)
        .unwrap()
        .attach(Session::from_json(python_json).unwrap());
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);
    let failed_json = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PYTHON_FAILED_SESSION_JSON="))
        .expect("the script prints a failed session's JSON");
    let failed = Session::from_json(failed_json).unwrap();
    assert_eq!(failed.failure_reason(), Some("NO_MOBILE_DEVICE"));
    assert_eq!(failed.session_status(), Status::Failed);
    // Python logged the Rust session out.
    let mut rust_session = rust_session;
    assert_eq!(rust_session.get_status().await.unwrap(), Status::Closed);
    emulator.shutdown().await;
}

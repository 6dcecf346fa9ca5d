//! Starting and stopping: either runtime, dropping the handle, bind errors.

use super::*;

#[actix_web::test]
async fn runs_under_the_actix_runtime_too() {
    let emulator = emulator().await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let (mut session, token) = start_session(&emulator, APP, "alice").await;
    session_action(&emulator, &token, SessionAction::Approve).await;
    assert_eq!(session.get_status().await.unwrap(), Status::Active);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_stops_the_server() {
    let emulator = emulator().await;
    let base = emulator.base_url().to_owned();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(http.get(format!("{base}/phone")).send().await.is_ok());
    drop(emulator);
    let deadline = Instant::now() + DEADLINE;
    eventually("the server to stop", || {
        let http = &http;
        let url = format!("{base}/phone");
        async move { http.get(url).send().await.is_err() }
    })
    .await;
    assert!(Instant::now() < deadline);
}

#[tokio::test]
async fn bind_errors_are_reported() {
    let first = emulator().await;
    let taken = first.local_addr();
    let err = Emulator::builder().bind(taken).start().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    let err = Emulator::builder()
        .bind("not an address")
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let any = Emulator::builder().bind("0.0.0.0:0").start().await.unwrap();
    assert!(any.base_url().starts_with("http://127.0.0.1:"));
    // Beyond loopback the phone page wants the control token.
    let token = any.control_token().unwrap().expose().to_owned();
    assert!(
        reqwest::get(format!("{}?token={token}", any.phone_url()))
            .await
            .unwrap()
            .status()
            .is_success()
    );
    first.shutdown().await;
    any.shutdown().await;
}

//! `iampass_event_streams`: up when a stream opens, down when it ends, whether the client
//! goes away or the session ends.

use std::time::Duration;

use iampass::Status;
use iampass::emulator::SessionAction;

use crate::harness::*;

const STREAMS: &str = "iampass_event_streams";

/// Opens `/auth/events` with the client's cookie; the response streams until dropped.
async fn open_stream(client: &Client) -> reqwest::Response {
    let response = http()
        .get(format!("{}/auth/events", client.base))
        .header("accept", "text/event-stream")
        .header(
            "cookie",
            format!("{}={}", client.cookie_name, client.cookie.as_ref().unwrap()),
        )
        .send()
        .await
        .expect("the app answers");
    assert_eq!(response.status(), 200);
    response
}

async fn streams_become(open: f64) {
    eventually(&format!("{open} open event streams"), || async move {
        Reading::now().get(STREAMS, &[]) == open
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_gauge_goes_back_to_zero_however_streams_end() {
    let _serial = serial().await;
    let emulator = emulator().await;
    let app = start_app(
        builder(&emulator)
            .events_interval(Duration::from_millis(100))
            .build()
            .unwrap(),
    );
    let mut quinn = Client::new(&app);
    sign_in(&emulator, &mut quinn, "quinn").await;
    streams_become(0.0).await;

    // The client goes away.
    let first = open_stream(&quinn).await;
    let mut second = open_stream(&quinn).await;
    streams_become(2.0).await;
    drop(first);
    streams_become(1.0).await;

    // The session ends: the stream says so and ends.
    let token = session_of(&emulator, "quinn", Status::Active).await;
    session_action(&emulator, &token, SessionAction::Close).await;
    let mut events = String::new();
    while let Some(chunk) = second.chunk().await.expect("the stream reads") {
        events.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(events.contains("event: closed"), "{events}");
    streams_become(0.0).await;
}

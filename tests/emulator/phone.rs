//! The phone page over plain HTTP, and its event stream (its browser test is `browser.rs`).

use super::*;

#[tokio::test]
async fn the_phone_page() {
    let emulator = emulator().await;
    let http = reqwest::Client::new();
    user_with_phone_in(&emulator, APP, "alice").await;
    let (_, pending) = start_session(&emulator, APP, "alice").await;
    user_with_phone_in(&emulator, APP2, "bob").await;
    let (_, active) = start_session(&emulator, APP2, "bob").await;
    session_action(&emulator, &active, SessionAction::Approve).await;
    emulator
        .management_api(APP)
        .unwrap()
        .send_registration_sms("alice", None, "+15551234567", None)
        .await
        .unwrap();

    let response = http.get(emulator.phone_url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("text/html"));
    // Nothing inline may run: the script and style are files of the emulator.
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = response.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("<style"),
        "inline code"
    );
    for (asset, kind) in [("phone.js", "text/javascript"), ("phone.css", "text/css")] {
        let response = http
            .get(format!("{}/phone/{asset}", emulator.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert!(content_type(&response).starts_with(kind), "{asset}");
    }
    for needle in [
        r#"id="devices""#,
        r#"id="pending""#,
        r#"id="sessions""#,
        r#"id="sms""#,
        &format!(r#"data-session="{pending}" data-user="alice""#),
        &format!(r#"data-action="approve" data-session="{pending}""#),
        &format!(r#"data-action="deny" data-session="{pending}""#),
        &format!(r#"data-session="{active}" data-user="bob""#),
        r#"data-status="active""#,
        &format!(r#"data-action="walkaway" data-session="{active}""#),
        "+15551234567",
        r#"<script src="/phone/phone.js" defer></script>"#,
        r#"<link rel="stylesheet" href="/phone/phone.css">"#,
    ] {
        assert!(html.contains(needle), "phone page lacks {needle}");
    }
    session_action(&emulator, &active, SessionAction::Walkaway).await;
    // Filtered by user: only bob's phone.
    let html = get_text(
        &http,
        format!("{}?app_id={APP2}&user=bob", emulator.phone_url()),
    )
    .await;
    assert!(html.contains(&format!(r#"data-action="return" data-session="{active}""#)));
    assert!(!html.contains(&pending));
    // `/` leads to the phone.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = client.get(emulator.base_url()).send().await.unwrap();
    assert_eq!(root.status(), StatusCode::SEE_OTHER);
    assert_eq!(root.headers()["location"], "/phone");
    // Unknown links.
    let response = http
        .get(format!("{}/phone/register/nope", emulator.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    emulator.shutdown().await;
}

/// A phone page event stream read over HTTP.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(emulator: &RunningEmulator, query: &str) -> EventStream {
        let url = format!("{}/phone/events{query}", emulator.base_url());
        let response = reqwest::get(url).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(content_type(&response), "text/event-stream");
        assert_eq!(response.headers()["cache-control"], "no-store");
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The next block of the stream (up to a blank line), or `None` once it ended.
    async fn block(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block = self.buffer[..end].to_owned();
                self.buffer.drain(..end + 2);
                return Some(block);
            }
            let chunk = tokio::time::timeout(DEADLINE, self.response.chunk())
                .await
                .expect("the stream goes on");
            match chunk {
                Ok(Some(bytes)) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The data of the next `state` event.
    async fn state(&mut self) -> Value {
        loop {
            let block = self.block().await.expect("the stream is open");
            let mut lines = block.lines();
            if block.starts_with("retry: ") {
                lines.next();
            }
            if lines.next() == Some("event: state") {
                let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
                return serde_json::from_str(data).unwrap();
            }
        }
    }
}

/// The `session_status` of each session in a list of the phone's state.
fn statuses(state: &Value, list: &str) -> Vec<String> {
    state[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_phone_page_streams_every_change() {
    let emulator = emulator().await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let mut events = EventStream::open(&emulator, &format!("?app_id={APP}&user=alice")).await;
    // The first block tells the browser how long to wait before reconnecting.
    let first = events.block().await.unwrap();
    assert!(first.starts_with("retry: "), "{first}");
    assert!(first.contains("event: state"), "{first}");
    // A request appears, its approval moves it, walking away shows; nothing was asked.
    let (_, token) = start_session(&emulator, APP, "alice").await;
    let state = events.state().await;
    assert_eq!(state["pending"][0]["session_token"], token.as_str());
    session_action(&emulator, &token, SessionAction::Approve).await;
    let state = events.state().await;
    assert_eq!(statuses(&state, "pending"), Vec::<String>::new());
    assert_eq!(statuses(&state, "sessions"), ["active"]);
    session_action(&emulator, &token, SessionAction::Walkaway).await;
    assert_eq!(statuses(&events.state().await, "sessions"), ["walkaway"]);
    // Changes elsewhere are not this stream's: another user's request sends nothing, so the
    // next event is the SMS to alice.
    user_with_phone_in(&emulator, APP, "bob").await;
    start_session(&emulator, APP, "bob").await;
    emulator
        .management_api(APP)
        .unwrap()
        .send_registration_sms("alice", None, "+15551234567", None)
        .await
        .unwrap();
    let state = events.state().await;
    assert_eq!(state["sms"][0]["phone_number"], "+15551234567");
    assert_eq!(statuses(&state, "sessions"), ["walkaway"]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_stream_sends_timeouts_when_they_happen_and_ends_with_the_server() {
    let emulator = emulator_timing_out_after(Duration::from_millis(300)).await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let mut events = EventStream::open(&emulator, "").await;
    events.state().await;
    start_session(&emulator, APP, "alice").await;
    assert_eq!(statuses(&events.state().await, "pending"), ["pending"]);
    // Nobody asks the emulator anything: the timeout still reaches the page.
    let state = events.state().await;
    assert_eq!(statuses(&state, "pending"), Vec::<String>::new());
    assert_eq!(
        emulator.stats().await.unwrap().route_count("status"),
        0,
        "no status call was needed"
    );
    // The stream ends when the server stops.
    emulator.shutdown().await;
    assert_eq!(events.block().await, None);
}

#[tokio::test]
async fn the_stream_refuses_bad_queries() {
    let emulator = emulator().await;
    let response = reqwest::get(format!("{}/phone/events?user=%FF", emulator.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_new_request_of_a_signed_in_user_shows_as_a_step_up() {
    let emulator = emulator().await;
    let http = reqwest::Client::new();
    user_with_phone_in(&emulator, APP, "alice").await;
    let (_, first) = start_session(&emulator, APP, "alice").await;
    session_action(&emulator, &first, SessionAction::Approve).await;
    // Signed in to APP already: the next request of APP is "confirm again" (wire-visible:
    // the same user has an active session of the same application).
    let again = emulator
        .authentication_api(APP)
        .unwrap()
        .authenticate_user_with("alice", &[iampass::AuthenticationMethod::Facial], None)
        .await
        .unwrap();
    let again = again.session_token().unwrap().to_owned();
    // Bob's first request is an ordinary sign-in.
    user_with_phone_in(&emulator, APP, "bob").await;
    let (_, bobs) = start_session(&emulator, APP, "bob").await;

    let html = get_text(&http, emulator.phone_url()).await;
    assert!(
        html.contains(&format!(
            "Confirm again: you are already signed in to {APP} · facial"
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!("{APP} asks you to sign in")),
        "{html}"
    );
    let state: serde_json::Value = http
        .get(format!("{}/_emulator/phone", emulator.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["step_ups"], serde_json::json!([again]));
    assert!(!state["step_ups"].to_string().contains(&bobs));
    // Once the first session ends, the same request is no longer a step-up.
    session_action(&emulator, &first, SessionAction::Close).await;
    let html = get_text(&http, format!("{}?user=alice", emulator.phone_url())).await;
    assert!(!html.contains("Confirm again"), "{html}");
}

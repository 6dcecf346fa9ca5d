//! `GET /auth/events` over real HTTP: the states a session goes through (driven by the
//! emulator's control API), heartbeats, the caps, anonymous requests, the end of a stream,
//! one shared IAMPASS check per interval for all the streams of a session, and `live.js`.

use std::time::{Duration, Instant};

use iampass::Status;
use iampass::actix::{CookieState, SessionCookie};
use iampass::emulator::SessionAction;
use serde_json::{Value, json};

use crate::emulator_control::*;
use crate::harness::*;

/// A short interval and heartbeat so that the tests run quickly.
const INTERVAL: Duration = Duration::from_millis(100);

/// Bound on waiting for any one event.
const EVENT_WAIT: Duration = Duration::from_secs(10);

/// One open event stream, read event by event.
struct Events {
    status: u16,
    headers: reqwest::header::HeaderMap,
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// Opens `path` with the client's cookie (if any).
    async fn open(client: &Client, path: &str) -> Events {
        let mut request = http()
            .get(format!("{}{path}", client.base))
            .header("accept", "text/event-stream");
        if let Some(cookie) = &client.cookie {
            request = request.header("cookie", format!("{}={cookie}", client.cookie_name));
        }
        let response = request.send().await.expect("the app answers");
        Events {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            response,
            buffer: String::new(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The next event (name, data), or `None` at the end of the stream. Fails after
    /// [`EVENT_WAIT`] without one.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = "message".to_owned();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                let data = serde_json::from_str(&data).unwrap_or(Value::Null);
                return Some((name, data));
            }
            let chunk = tokio::time::timeout(EVENT_WAIT, self.response.chunk())
                .await
                .expect("an event within the wait")
                .expect("the stream reads");
            match chunk {
                Some(bytes) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                None => {
                    assert!(self.buffer.trim().is_empty(), "cut: {:?}", self.buffer);
                    return None;
                }
            }
        }
    }

    /// The next event that is not a heartbeat.
    async fn next_state(&mut self) -> Option<(String, Value)> {
        loop {
            match self.next().await {
                Some((name, _)) if name == "heartbeat" => continue,
                other => return other,
            }
        }
    }

    /// The next state's name, asserting its `data.state` agrees.
    async fn expect_state(&mut self, expected: &str) -> Value {
        let (name, data) = self.next_state().await.expect("an event, not the end");
        assert_eq!(name, expected, "{data}");
        assert_eq!(data["state"], expected);
        data
    }

    async fn expect_end(&mut self) {
        assert_eq!(self.next().await, None, "the stream ends");
    }
}

fn fast(emulator: &iampass::emulator::RunningEmulator) -> iampass::actix::IampassBuilder {
    builder(emulator)
        .events_interval(INTERVAL)
        .events_heartbeat(Duration::from_secs(30))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walkaway_return_and_remote_close_are_pushed_then_the_stream_ends() {
    let emulator = emulator().await;
    let app = start_app(fast(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "alice").await;
    let token = session_of(&emulator, "alice", Status::Active).await;

    let mut events = Events::open(&client, "/auth/events?next=/dashboard").await;
    assert_eq!(events.status, 200);
    assert_eq!(events.header("content-type"), Some("text/event-stream"));
    assert_eq!(events.header("cache-control"), Some("no-store"));
    assert_eq!(events.header("x-accel-buffering"), Some("no"));
    assert!(events.headers.get("set-cookie").is_none());
    events.expect_state("active").await;

    session_action(&emulator, &token, SessionAction::Walkaway).await;
    events.expect_state("walkaway").await;
    // A stream opened while the phone is away starts locked and keeps the cookie.
    let mut second = Events::open(&client, "/auth/events").await;
    assert_eq!(second.status, 200);
    assert!(
        second.headers.get("set-cookie").is_none(),
        "walkaway keeps the cookie"
    );
    second.expect_state("walkaway").await;
    drop(second);

    session_action(&emulator, &token, SessionAction::Return).await;
    events.expect_state("active").await;
    assert_eq!(client.get("/dashboard").await.status, 200);

    session_action(&emulator, &token, SessionAction::Close).await;
    let closed = events.expect_state("closed").await;
    assert_eq!(closed["login_url"], "/auth/login?next=%2Fdashboard");
    events.expect_end().await;

    // Reconnecting after the end: one `closed`, the end, and the cookie is removed.
    let mut again = Events::open(&client, "/auth/events").await;
    let removal = again
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with("iampass=") && v.contains("Max-Age=0"));
    assert!(removal, "{:?}", again.headers);
    assert_eq!(
        again.expect_state("closed").await["login_url"],
        "/auth/login"
    );
    again.expect_end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_at_the_configured_interval() {
    let emulator = emulator().await;
    let app = start_app(
        builder(&emulator)
            .events_heartbeat(Duration::from_millis(50))
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "hana").await;
    let mut events = Events::open(&client, "/auth/events").await;
    events.expect_state("active").await;
    for _ in 0..3 {
        let (name, data) = events.next().await.unwrap();
        assert_eq!((name.as_str(), data), ("heartbeat", json!({})));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_and_pending_requests_get_closed_and_the_end() {
    let emulator = emulator().await;
    let app = start_app(fast(&emulator).build().unwrap());
    let mut anonymous = Client::new(&app);
    let mut events = Events::open(&anonymous, "/auth/events?next=/dashboard").await;
    assert_eq!(events.status, 200);
    assert_eq!(events.header("content-type"), Some("text/event-stream"));
    let closed = events.expect_state("closed").await;
    assert_eq!(closed["login_url"], "/auth/login?next=%2Fdashboard");
    events.expect_end().await;

    // A hostile `next` is not echoed.
    let mut events = Events::open(&anonymous, "/auth/events?next=//evil.example").await;
    assert_eq!(
        events.expect_state("closed").await["login_url"],
        "/auth/login"
    );
    events.expect_end().await;

    // A login in progress is not a session to follow.
    user_with_phone(&emulator, "penny").await;
    anonymous.start_login("penny", None).await;
    let mut events = Events::open(&anonymous, "/auth/events").await;
    events.expect_state("closed").await;
    events.expect_end().await;

    // A garbage cookie: closed, the end, and the cookie goes.
    anonymous.cookie = Some("garbage".into());
    let mut events = Events::open(&anonymous, "/auth/events").await;
    assert!(events.headers.get("set-cookie").is_some());
    events.expect_state("closed").await;
    events.expect_end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_ends_with_expired_when_the_cookie_expires() {
    let emulator = emulator().await;
    let app = start_app(fast(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "erin").await;
    // The same session, in a cookie that expires in 2 s.
    let opened = app
        .iampass
        .open_cookie(client.cookie.as_ref().unwrap())
        .unwrap();
    let short = SessionCookie::new(
        opened.session().clone(),
        "erin",
        "erin",
        CookieState::Authenticated,
        Duration::from_secs(2),
        None,
    );
    client.cookie = Some(app.iampass.seal_cookie(&short).unwrap().value().to_owned());
    let mut events = Events::open(&client, "/auth/events?next=/dashboard").await;
    events.expect_state("active").await;
    let expired = events.expect_state("expired").await;
    assert_eq!(expired["login_url"], "/auth/login?next=%2Fdashboard");
    events.expect_end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_capped_per_session_and_per_address() {
    let emulator = emulator().await;
    let app = start_app(
        fast(&emulator)
            .events_heartbeat(Duration::from_millis(50))
            .events_caps(2, 3)
            .build()
            .unwrap(),
    );
    let mut carol = Client::new(&app);
    sign_in(&emulator, &mut carol, "carol").await;
    let mut dave = Client::new(&app);
    sign_in(&emulator, &mut dave, "dave").await;

    let mut first = Events::open(&carol, "/auth/events").await;
    first.expect_state("active").await;
    let mut second = Events::open(&carol, "/auth/events").await;
    second.expect_state("active").await;
    let refused = Events::open(&carol, "/auth/events").await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), Some("5"));

    // Another session from the same address: one more, then the address is full.
    let mut third = Events::open(&dave, "/auth/events").await;
    third.expect_state("active").await;
    let refused = Events::open(&dave, "/auth/events").await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());
    // Other requests are still served while the streams are open.
    assert_eq!(dave.get("/dashboard").await.status, 200);

    // A client that goes away gives its place back (noticed at the next heartbeat).
    drop(first);
    let mut reopened = eventually_some(
        DEADLINE,
        "the closed stream's place to be freed",
        || async {
            let events = Events::open(&carol, "/auth/events").await;
            if events.status == 200 {
                return Some(events);
            }
            assert_eq!(events.status, 429);
            None
        },
    )
    .await;
    reopened.expect_state("active").await;
    drop(second);
    drop(third);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stream_gives_its_place_back_within_about_a_second() {
    // The default heartbeat (15 s) and caps (8 per session): actix notices a closed
    // connection only when a write fails, so the stream's probe comment must do it.
    let emulator = emulator().await;
    let app = start_app(
        builder(&emulator)
            .events_interval(INTERVAL)
            .build()
            .unwrap(),
    );
    let mut erin = Client::new(&app);
    sign_in(&emulator, &mut erin, "erin").await;
    let mut streams = Vec::new();
    for _ in 0..8 {
        let mut events = Events::open(&erin, "/auth/events").await;
        events.expect_state("active").await;
        streams.push(events);
    }
    assert_eq!(Events::open(&erin, "/auth/events").await.status, 429);
    drop(streams);
    let closed = Instant::now();
    let mut reopened = eventually_some(
        Duration::from_secs(2),
        "a closed stream's place to be freed within 2 s",
        || async {
            let events = Events::open(&erin, "/auth/events").await;
            (events.status == 200).then_some(events)
        },
    )
    .await;
    reopened.expect_state("active").await;
    assert!(closed.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streams_of_one_session_share_one_status_check_per_interval() {
    const STREAMS: usize = 5;
    let emulator = emulator().await;
    let interval = Duration::from_millis(200);
    let app = start_app(
        builder(&emulator)
            .events_interval(interval)
            .events_heartbeat(interval)
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "sam").await;
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        let mut events = Events::open(&client, "/auth/events").await;
        events.expect_state("active").await;
        streams.push(events);
    }
    let before = emulator.stats().await.unwrap().route_count("status");
    let started = Instant::now();
    // Ten heartbeats on every stream: about two seconds, about ten ticks.
    for events in &mut streams {
        let mut beats = 0;
        while beats < 10 {
            let (name, _) = events.next().await.unwrap();
            assert!(name == "heartbeat" || name == "active", "{name}");
            beats += usize::from(name == "heartbeat");
        }
    }
    let elapsed = started.elapsed();
    let calls = emulator.stats().await.unwrap().route_count("status") - before;
    let ticks = (elapsed.as_millis() / interval.as_millis()) as u64;
    assert!(calls >= 1, "the session is checked");
    assert!(
        calls <= ticks + 2,
        "{calls} status calls in {elapsed:?} for {STREAMS} streams (at most one per {interval:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_js_is_served_cacheable_and_nosniff_and_zero_knobs_are_refused() {
    let emulator = emulator().await;
    let app = start_app(fast(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let script = client.get("/auth/live.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(script.header("x-content-type-options"), Some("nosniff"));
    assert!(script.header("cache-control").unwrap().contains("max-age="));
    assert!(script.body.contains("data-iampass-protected"));

    assert!(
        builder(&emulator)
            .events_interval(Duration::ZERO)
            .build()
            .is_err()
    );
    assert!(
        builder(&emulator)
            .events_heartbeat(Duration::ZERO)
            .build()
            .is_err()
    );
    assert!(builder(&emulator).events_caps(0, 1).build().is_err());
    assert!(builder(&emulator).events_caps(1, 0).build().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_unavailable_and_the_stream_goes_on() {
    let emulator = emulator().await;
    let app = start_app(fast(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "olga").await;
    let mut events = Events::open(&client, "/auth/events").await;
    events.expect_state("active").await;
    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    events.expect_state("unavailable").await;
    emulator
        .set_faults(iampass::emulator::Faults::default())
        .await
        .unwrap();
    events.expect_state("active").await;
    // The cookie survived the outage.
    assert_eq!(client.get("/dashboard").await.status, 200);
}

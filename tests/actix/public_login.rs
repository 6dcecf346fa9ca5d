//! No enumeration in the public mode (issue 9.3): an unknown user, a user without a phone and
//! a real user get the same answer from `POST /auth/login`, and the login then ends as the
//! same failed answer; the decoys never ask IAMPASS on poll and count against the rate limits.
//! The app-driven mode keeps its precise reasons.

use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, web};
use iampass::actix::{Iampass, SecondFactor};
use iampass::core::store::Rate;
use iampass::emulator::{SessionAction, UnknownUserAnswer};
use serde_json::json;

use crate::harness::*;

/// Decoys that end quickly, so the tests see their end.
fn quick_decoys(emulator: &iampass::emulator::RunningEmulator) -> iampass::actix::IampassBuilder {
    builder(emulator).public_login_decoy_delay(Duration::from_secs(1), Duration::from_secs(2))
}

/// What an observer sees of a start answer: status, body, whether our cookie is set.
fn shape(answer: &Answer, cookie_name: &str) -> (u16, String, bool, Option<String>) {
    (
        answer.status,
        answer.body.clone(),
        answer
            .set_cookies(cookie_name)
            .iter()
            .any(|c| !c.contains("Max-Age=0")),
        answer.header("location").map(str::to_owned),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_phoneless_and_real_users_get_the_same_answers() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "rita").await;
    user_without_phone(&emulator, "penny").await;
    let app = start_app(quick_decoys(&emulator).build().unwrap());
    let name = app.iampass.cookie_name().to_owned();

    let mut clients = Vec::new();
    let mut starts = Vec::new();
    for user in ["rita", "penny", "nobody"] {
        let mut client = Client::new(&app);
        let answer = client.post_login(user).await;
        starts.push(shape(&answer, &name));
        clients.push(client);
    }
    assert_eq!(starts[0].0, 202, "{:?}", starts[0]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&starts[0].1).unwrap(),
        json!({"status": "pending", "poll_url": "/auth/poll"})
    );
    assert!(starts[0].2, "the real login sets the pending cookie");
    assert_eq!(starts[1], starts[0], "a user without a phone");
    assert_eq!(starts[2], starts[0], "an unknown user");

    // While pending, the decoys poll like the real one; IAMPASS is never asked about them.
    let status_calls = emulator.stats().await.unwrap().route_count("status");
    for client in &mut clients[1..] {
        let poll = client.get("/auth/poll").await;
        assert_eq!(
            (poll.status, poll.json()["status"].clone()),
            (200, json!("pending"))
        );
    }
    assert_eq!(
        emulator.stats().await.unwrap().route_count("status"),
        status_calls
    );

    // The real user refuses on the phone; the decoys end by themselves. All read the same.
    act_on_pending(&emulator, "rita", SessionAction::Deny).await;
    let mut ends = Vec::new();
    for client in &mut clients {
        let done = client.poll_until_done().await;
        ends.push((done.status, done.body.clone(), client.cookie.is_none()));
    }
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ends[0].1).unwrap(),
        json!({"status": "failed", "reason": "not_approved",
               "message": "Sign-in was not approved."})
    );
    assert!(ends[0].2, "the ended login's cookie is removed");
    assert_eq!(ends[1], ends[0]);
    assert_eq!(ends[2], ends[0]);
    assert_eq!(
        emulator.stats().await.unwrap().route_count("status"),
        status_calls + 1,
        "only the real login's end was asked of IAMPASS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_and_the_wait_page_look_the_same_too() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "rob").await;
    let app = start_app(quick_decoys(&emulator).build().unwrap());
    let name = app.iampass.cookie_name().to_owned();
    let mut real = Client::new(&app);
    let mut decoy = Client::new(&app);
    let real_start = real.post_form("/auth/login", &[("user", "rob")]).await;
    let decoy_start = decoy.post_form("/auth/login", &[("user", "ghost")]).await;
    assert_eq!(real_start.status, 303);
    assert_eq!(shape(&decoy_start, &name), shape(&real_start, &name));

    let waiting = decoy.get_html("/auth/login?wait=1").await;
    assert_eq!(waiting.status, 200);
    assert!(
        waiting.body.contains("Check your phone"),
        "{}",
        waiting.body
    );
    act_on_pending(&emulator, "rob", SessionAction::Deny).await;
    let real_end = real.get_html("/auth/login?wait=1").await;
    assert!(
        real_end.body.contains("Sign-in was not approved."),
        "{}",
        real_end.body
    );
    // The decoy ends within its 2 s; the wait page refreshes every 2 s like this loop.
    eventually("the decoy's wait page ends", || {
        let mut decoy = decoy.clone();
        async move {
            decoy
                .get_html("/auth/login?wait=1")
                .await
                .body
                .contains("Sign-in was not approved.")
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_for_an_unknown_user_gets_a_decoy() {
    let emulator = emulator_with(|b| b.unknown_user_answer(UnknownUserAnswer::NotFound)).await;
    let app = start_app(quick_decoys(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let started = client.start_login("ghost", None).await;
    assert_eq!(started.json()["poll_url"], "/auth/poll");
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["status"], "failed");
    assert_eq!(done.json()["message"], "Sign-in was not approved.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decoys_count_against_the_rate_limits() {
    let emulator = emulator().await;
    let app = start_app(
        builder(&emulator)
            .rate_limit_per_user(Rate::per_minute(2))
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    assert_eq!(client.post_login("ghost").await.status, 202);
    assert_eq!(client.post_login("ghost").await.status, 202);
    let limited = client.post_login("ghost").await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.header("retry-after").is_some());
    // A resolver that refuses the name counts too.
    let app = start_app(
        builder(&emulator)
            .rate_limit_per_user(Rate::per_minute(1))
            .user_resolver(|_user: String| async move {
                Err::<String, _>(iampass::Error::InvalidArgument("no such user".into()))
            })
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    assert_eq!(client.post_login("ghost").await.status, 202);
    assert_eq!(client.post_login("ghost").await.status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_replayed_decoy_gets_nothing() {
    let emulator = emulator().await;
    let app = start_app(quick_decoys(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    client.start_login("ghost", Some("/dashboard")).await;
    let decoy_cookie = client.cookie.clone().unwrap();
    // Tampered: refused like any bad cookie.
    let mut forged = client.clone();
    let mut bytes = decoy_cookie.clone().into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    forged.cookie = Some(String::from_utf8(bytes).unwrap());
    assert_eq!(forged.get("/auth/poll").await.status, 401);
    // The decoy itself never signs anyone in.
    assert_eq!(client.get("/dashboard").await.status, 401);
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["status"], "failed");
    assert_eq!(client.get("/dashboard").await.status, 401);
}

/// The app-driven mode: the app's own handler after its own first factor.
async fn app_sign_in(
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
    iampass: web::Data<Iampass>,
) -> HttpResponse {
    let user = body["user"].as_str().unwrap_or_default();
    match iampass.start_login(&req, SecondFactor::new(user)).await {
        Ok(started) => started.into_http_response(),
        Err(e) => HttpResponse::UnprocessableEntity().json(json!({"reason": e.reason()})),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_driven_mode_keeps_precise_answers() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "cy").await;
    user_without_phone(&emulator, "pat").await;
    let app = serve(
        builder(&emulator).public_login(false).build().unwrap(),
        1,
        |iampass| {
            App::new()
                .app_data(web::Data::new(iampass.clone()))
                .wrap(iampass.middleware())
                .configure(iampass.routes())
                .route("/signin", web::post().to(app_sign_in))
        },
    );
    let mut client = Client::new(&app);
    let unknown = client.post_json("/signin", json!({"user": "nobody"})).await;
    assert_eq!(unknown.json()["reason"], "UNKNOWN_USER");
    let phoneless = client.post_json("/signin", json!({"user": "pat"})).await;
    assert_eq!(phoneless.json()["reason"], "NO_MOBILE_DEVICE");
    let started = client.post_json("/signin", json!({"user": "cy"})).await;
    assert_eq!(started.status, 202);
    act_on_pending(&emulator, "cy", SessionAction::Cancel).await;
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["status"], "cancelled");
    assert_eq!(
        done.json()["message"],
        "The request was cancelled on the phone."
    );
}

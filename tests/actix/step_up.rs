//! Step-up ("sudo mode", issue 23) over real HTTP against the emulator: a route guarded by
//! `require_recent` (or asking for `RecentApproval`) needs a recent phone approval; a stale
//! one is answered `401 step_up_required` (JSON) or `303` to the step-up page (HTML); the
//! step-up is started for the session's own user and completed by the poll, which re-seals
//! the cookie and ends the old IAMPASS session; a refusal leaves the user signed in.

use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, Responder, web};
use iampass::actix::{Iampass, RecentApproval, RequireIampass, SecondFactor};
use iampass::core::store::Rate;
use iampass::emulator::{Behaviour, RunningEmulator};
use iampass::{AuthenticationMethod, Status};
use serde_json::json;

use crate::harness::*;

/// The window of `/brief`: short, so that a test can watch it expire.
const BRIEF: Duration = Duration::from_secs(3);

async fn recent(who: RecentApproval) -> HttpResponse {
    let methods: Vec<&str> = who.methods().iter().map(|m| m.as_str()).collect();
    HttpResponse::Ok().json(json!({"user": who.user(), "methods": methods}))
}

/// The app's own first factor for the password-first mode: `POST /signin {"user"}`.
async fn sign_in_first(
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
    iampass: web::Data<Iampass>,
) -> impl Responder {
    let user = body["user"].as_str().unwrap_or_default();
    match iampass.start_login(&req, SecondFactor::new(user)).await {
        Ok(started) => started.into_http_response(),
        Err(e) => HttpResponse::UnprocessableEntity().json(json!({"reason": e.reason()})),
    }
}

/// `/sensitive` (5 minutes), `/brief` ([`BRIEF`]), `/facial` (5 minutes, facial), `/recent`
/// (the extractor with the builder's defaults), `/dashboard`, `/signin` and the crate's routes.
fn step_up_app(iampass: Iampass) -> TestApp {
    serve(iampass, 2, |iampass| {
        let minutes = Duration::from_secs(300);
        App::new()
            .app_data(web::Data::new(iampass.clone()))
            .wrap(iampass.middleware())
            .configure(iampass.routes())
            .route(
                "/dashboard",
                web::get().to(|who: RequireIampass| async move { format!("hi {}", who.user()) }),
            )
            .route("/signin", web::post().to(sign_in_first))
            .route("/recent", web::get().to(recent))
            .service(
                web::scope("/sensitive")
                    .wrap(iampass.require_recent(minutes))
                    .route("", web::get().to(recent)),
            )
            .service(
                web::scope("/brief")
                    .wrap(iampass.require_recent(BRIEF))
                    .route("", web::get().to(recent)),
            )
            .service(
                web::scope("/facial")
                    .wrap(
                        iampass
                            .require_recent(minutes)
                            .methods([AuthenticationMethod::Facial]),
                    )
                    .route("", web::get().to(recent)),
            )
    })
}

/// A signed-in client of a fresh app whose phone approves at once.
async fn signed_in(emulator: &RunningEmulator, user: &str) -> (TestApp, Client) {
    let app = step_up_app(builder(emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(emulator, &mut client, user).await;
    (app, client)
}

/// Starts a step-up (JSON) towards `next` with `methods` and polls it to its end.
async fn step_up(client: &mut Client, next: &str, methods: &[&str]) -> Answer {
    let started = client
        .post_json("/auth/step-up", json!({"next": next, "methods": methods}))
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(started.json()["poll_url"], "/auth/poll");
    assert!(client.others.contains_key("iampass-step-up"));
    client.poll_until_done().await
}

fn assert_step_up_required(answer: &Answer, step_up_url: &str) {
    assert_eq!(answer.status, 401, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["error"], "step_up_required");
    assert_eq!(body["step_up_url"], step_up_url);
    assert!(body["message"].as_str().unwrap().contains("phone"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_proof_needs_a_step_up_and_an_approval_lasts_its_window() {
    let emulator = emulator().await;
    let (_app, mut client) = signed_in(&emulator, "sudo-ada").await;
    // The login itself is a fresh approval.
    assert_eq!(client.get("/brief").await.status, 200);
    assert_eq!(client.get("/sensitive").await.status, 200);
    // The window expires: the JSON and the HTML answers.
    eventually("the brief window to expire", || {
        let mut client = client.clone();
        async move { client.get("/brief").await.status == 401 }
    })
    .await;
    assert_step_up_required(&client.get("/brief").await, "/auth/step-up?next=%2Fbrief");
    let html = client.get_html("/brief?tab=2").await;
    assert_eq!(html.status, 303);
    assert_eq!(
        html.header("location"),
        Some("/auth/step-up?next=%2Fbrief%3Ftab%3D2")
    );
    // Still signed in, and the 5-minute route still answers.
    assert_eq!(client.get("/dashboard").await.status, 200);
    assert_eq!(client.get("/sensitive").await.status, 200);
    // Approve: 200 again within the window, the cookie re-sealed, the step-up cookie gone.
    let before = client.cookie.clone();
    let old = session_of(&emulator, "sudo-ada", Status::Active).await;
    let done = step_up(&mut client, "/brief", &[]).await;
    assert_eq!(done.json()["status"], "active", "{}", done.body);
    assert_eq!(done.json()["redirect"], "/brief");
    assert_ne!(client.cookie, before);
    assert!(client.others.is_empty(), "{:?}", client.others);
    let ok = client.get("/brief").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["user"], "sudo-ada");
    // The new IAMPASS session replaced the old one, which is logged out.
    let new = session_of(&emulator, "sudo-ada", Status::Active).await;
    assert_ne!(new, old);
    eventually("the old session to be closed", || async {
        let sessions = emulator
            .sessions(Some(APP), Some("sudo-ada"))
            .await
            .unwrap();
        sessions
            .iter()
            .any(|s| s.session_token == old && s.session_status == Status::Closed)
    })
    .await;
    // The old cookie no longer works.
    let mut stale = client.clone();
    stale.cookie = before;
    assert_eq!(stale.get("/dashboard").await.status, 401);
    // And the window expires again.
    eventually("the brief window to expire again", || {
        let mut client = client.clone();
        async move { client.get("/brief").await.status == 401 }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_step_up_leaves_the_user_signed_in_and_still_refused() {
    let emulator = emulator().await;
    let user = "sudo-deny";
    let (_app, mut client) = signed_in(&emulator, user).await;
    assert_step_up_required(
        &client.get("/facial").await,
        "/auth/step-up?next=%2Ffacial&methods=facial",
    );
    phone_answers(
        &emulator,
        user,
        Behaviour::Deny {
            after: Duration::ZERO,
        },
    )
    .await;
    let cookie = client.cookie.clone();
    let done = step_up(&mut client, "/facial", &["facial"]).await;
    let body = done.json();
    assert_eq!(body["status"], "failed", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("still signed in"),
        "{body}"
    );
    // The session cookie is untouched, the step-up cookie removed.
    assert_eq!(client.cookie, cookie);
    assert!(client.others.is_empty());
    assert_eq!(client.get("/dashboard").await.status, 200);
    assert_eq!(client.get("/facial").await.status, 401);
    // A request left unanswered and cancelled on the phone: the same.
    phone_answers(&emulator, user, Behaviour::Ignore).await;
    let started = client
        .post_json(
            "/auth/step-up",
            json!({"next": "/facial", "methods": ["facial"]}),
        )
        .await;
    assert_eq!(started.status, 202);
    let pending = session_of(&emulator, user, Status::Pending).await;
    emulator
        .session_action(&pending, iampass::emulator::SessionAction::Cancel)
        .await
        .unwrap();
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["status"], "cancelled", "{}", done.body);
    assert_eq!(client.get("/dashboard").await.status, 200);
    // Signing out while a step-up waits on the phone ends both.
    let started = client
        .post_json("/auth/step-up", json!({"next": "/facial"}))
        .await;
    assert_eq!(started.status, 202);
    let waiting = session_of(&emulator, user, Status::Pending).await;
    let out = client.post_json("/auth/logout", json!({})).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(client.cookie.is_none() && client.others.is_empty());
    eventually("the waiting step-up to be ended", || async {
        let sessions = emulator.sessions(Some(APP), Some(user)).await.unwrap();
        sessions
            .iter()
            .any(|s| s.session_token == waiting && s.session_status == Status::Closed)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_without_the_required_method_is_refused() {
    let emulator = emulator().await;
    let (_app, mut client) = signed_in(&emulator, "sudo-methods").await;
    assert_eq!(client.get("/facial").await.status, 401);
    // Approved, but with acceptance only: fresh, yet not facial.
    let done = step_up(&mut client, "/facial", &["acceptance"]).await;
    assert_eq!(done.json()["status"], "active");
    assert_eq!(client.get("/sensitive").await.status, 200);
    assert_eq!(client.get("/facial").await.status, 401);
    // The IAMPASS request asked for what the step-up named.
    let newest = emulator
        .sessions(Some(APP), Some("sudo-methods"))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(newest.methods, vec![AuthenticationMethod::Acceptance]);
    // Facial: admitted; the extractor in the scope sees the methods.
    let done = step_up(&mut client, "/facial", &["facial"]).await;
    assert_eq!(done.json()["status"], "active");
    let ok = client.get("/facial").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["methods"], json!(["facial"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extractor_uses_the_builders_defaults() {
    let emulator = emulator().await;
    let app = step_up_app(
        builder(&emulator)
            .step_up_methods([AuthenticationMethod::Device])
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "sudo-defaults").await;
    assert_step_up_required(
        &client.get("/recent").await,
        "/auth/step-up?next=%2Frecent&methods=device",
    );
    // A step-up that names no method asks for the configured ones.
    let done = step_up(&mut client, "/recent", &[]).await;
    assert_eq!(done.json()["status"], "active");
    assert_eq!(
        client.get("/recent").await.json()["methods"],
        json!(["device"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_are_simply_unauthenticated() {
    let emulator = emulator().await;
    let app = step_up_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    for path in ["/facial", "/recent"] {
        let answer = client.get(path).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.json()["error"], "unauthenticated");
    }
    let html = client.get_html("/facial").await;
    assert_eq!(html.status, 303);
    assert_eq!(html.header("location"), Some("/auth/login?next=%2Ffacial"));
    let started = client
        .post_json("/auth/step-up", json!({"next": "/facial"}))
        .await;
    assert_eq!(started.status, 401);
    assert_eq!(started.json()["error"], "unauthenticated");
    let page = client.get_html("/auth/step-up?next=%2Ffacial").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/auth/login?next=%2Ffacial"));
    // No step-up in progress: the poll says so.
    assert_eq!(client.get("/auth/poll").await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_the_form_flow_without_javascript() {
    let emulator = emulator().await;
    let (_app, mut client) = signed_in(&emulator, "sudo-form").await;
    let page = client
        .get_html("/auth/step-up?next=%2Ffacial&methods=facial")
        .await;
    assert_eq!(page.status, 200);
    for needle in [
        "Confirm it is you",
        "sudo-form",
        "<code>/facial</code>",
        r#"<form id="iampass-step-up" method="post" action="/auth/step-up""#,
        r#"name="methods" value="facial""#,
        "/auth/login.js",
    ] {
        assert!(page.body.contains(needle), "{needle} in {}", page.body);
    }
    assert!(page.header("content-security-policy").is_some());
    // A bad method on the page: a clear 400, not a 500.
    assert_eq!(
        client.get_html("/auth/step-up?methods=retina").await.status,
        400
    );
    let posted = client
        .post_form(
            "/auth/step-up",
            &[("next", "/facial"), ("methods", "facial")],
        )
        .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    assert_eq!(posted.header("location"), Some("/auth/step-up?wait=1"));
    let landed = eventually_some(DEADLINE, "the wait page to finish", || {
        let mut client = client.clone();
        async move {
            let answer = client.get_html("/auth/step-up?wait=1").await;
            (answer.status == 303).then_some((answer, client))
        }
    })
    .await;
    let (answer, next_client) = landed;
    client = next_client;
    assert_eq!(answer.header("location"), Some("/facial"));
    assert_eq!(client.get("/facial").await.status, 200);
    // A refused form step-up: the wait page says so, the user is still signed in.
    phone_answers(
        &emulator,
        "sudo-form",
        Behaviour::Deny {
            after: Duration::ZERO,
        },
    )
    .await;
    let posted = client
        .post_form(
            "/auth/step-up",
            &[("next", "/facial"), ("methods", "facial")],
        )
        .await;
    assert_eq!(posted.status, 303);
    let refused = eventually_some(DEADLINE, "the wait page to say no", || {
        let mut client = client.clone();
        async move {
            let answer = client.get_html("/auth/step-up?wait=1").await;
            answer.body.contains("Not confirmed").then_some(answer)
        }
    })
    .await;
    assert!(refused.body.contains("still signed in"), "{}", refused.body);
    assert!(
        refused
            .body
            .contains("/auth/step-up?next=%2Ffacial&amp;methods=facial")
            || refused
                .body
                .contains("/auth/step-up?next=%2Ffacial&#38;methods=facial")
    );
    assert_eq!(client.get("/dashboard").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_step_up_is_refused() {
    let emulator = emulator().await;
    let (_app, mut client) = signed_in(&emulator, "sudo-csrf").await;
    client
        .extra
        .push(("origin".into(), "https://evil.example".into()));
    let refused = client
        .post_json("/auth/step-up", json!({"next": "/facial"}))
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"], "cross_site");
    assert!(client.others.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_ups_are_rate_limited_as_logins() {
    let emulator = emulator().await;
    let app = step_up_app(
        builder(&emulator)
            .rate_limit_per_user(Rate::per_minute(2))
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "sudo-limited").await;
    let done = step_up(&mut client, "/facial", &["facial"]).await;
    assert_eq!(done.json()["status"], "active");
    let limited = client
        .post_json("/auth/step-up", json!({"next": "/facial"}))
        .await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.json()["error"], "rate_limited");
    assert!(limited.header("retry-after").is_some());
    assert_eq!(client.get("/dashboard").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_up_works_when_the_phone_is_the_second_factor() {
    let emulator = emulator().await;
    let user = "sudo-second";
    phone_approving_at_once(&emulator, user).await;
    let app = step_up_app(
        builder(&emulator)
            .public_login(false)
            .login_path("/signin")
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    let started = client.post_json("/signin", json!({"user": user})).await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(client.poll_until_done().await.json()["status"], "active");
    assert_eq!(client.get("/facial").await.status, 401);
    let done = step_up(&mut client, "/facial", &["facial"]).await;
    assert_eq!(done.json()["status"], "active", "{}", done.body);
    // The re-sealed cookie keeps its first factor: this deployment still accepts it.
    assert_eq!(client.get("/facial").await.status, 200);
    assert_eq!(client.get("/dashboard").await.status, 200);
}

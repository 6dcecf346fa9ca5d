//! The axum adapter over real HTTP on loopback: a real `axum::serve` server wrapped by
//! `IampassLayer`, against the emulator, driven by the same browser-like client as the actix
//! suite: the login flow, the guards' answers, the scripts and the event stream, the second
//! factor from an axum handler, a route without the layer, one cookie for both adapters, and
//! the application's own unauthenticated responder.

#[path = "../common/mod.rs"]
mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http::request::Parts;
use iampass::axum::{
    IampassIdentity, IampassLayer, Presence, RecentApproval, RequireIampass, RequireIampassLayer,
    RequireRecentLayer, SecondFactor,
};
use iampass::core::Iampass;
use serde_json::json;

use common::actix_app::{Client, builder, sign_in, start_app};
use common::emulator::{emulator, phone_approving_at_once};

mod step_up;

/// A running axum app; stops when dropped.
struct AxumApp {
    url: String,
    iampass: Iampass,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl AxumApp {
    fn client(&self) -> Client {
        Client::at(&self.url, &self.iampass)
    }
}

/// The test app: `/` (optional identity), `/dashboard` (RequireIampass), `/presence`,
/// `/admin` (guard layer), `/signin` (second factor from a handler), `/unwrapped` (no
/// layer), `/settings/api-key` (step-up guard, facial), `/recent` (the step-up extractor with
/// the builder's defaults), and the crate's routes.
async fn serve(iampass: Iampass) -> AxumApp {
    let guarded = Router::new()
        .route("/admin", get(|| async { "admin area" }))
        .layer(RequireIampassLayer::new(&iampass));
    let recent = |who: RecentApproval| async move {
        let methods: Vec<&str> = who.methods().iter().map(|m| m.as_str()).collect();
        let body = json!({"user": who.user(), "methods": methods}).to_string();
        ([(http::header::CONTENT_TYPE, "application/json")], body)
    };
    let sensitive = Router::new().route("/settings/api-key", get(recent)).layer(
        RequireRecentLayer::new(&iampass, std::time::Duration::from_secs(300))
            .methods([iampass::AuthenticationMethod::Facial]),
    );
    let second = iampass.clone();
    let app = Router::new()
        .route(
            "/",
            get(|who: Option<IampassIdentity>| async move {
                who.map_or("hello, stranger".to_owned(), |w| {
                    format!("hello {}", w.user())
                })
            }),
        )
        .route(
            "/dashboard",
            get(|who: RequireIampass| async move { format!("hi {}", who.user()) }),
        )
        .route(
            "/presence",
            get(|p: Presence| async move {
                match p {
                    Presence::SignedIn(who) => format!("signed in: {}", who.user()),
                    Presence::Away => "away".into(),
                    Presence::Unavailable => "unavailable".into(),
                    _ => "anonymous".into(),
                }
            }),
        )
        .route(
            "/signin",
            post(move |parts: Parts| async move {
                // (The application's own first factor would be checked here.)
                match second
                    .start_login(&parts, SecondFactor::new("alice").next("/dashboard"))
                    .await
                {
                    Ok(started) => started.into_response(),
                    Err(e) => e.into_response(),
                }
            }),
        )
        .route("/recent", get(recent))
        .merge(guarded)
        .merge(sensitive)
        .merge(iampass::axum::routes(&iampass))
        .layer(IampassLayer::new(&iampass))
        .route(
            "/unwrapped",
            get(|who: RequireIampass| async move { who.user().to_owned() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    AxumApp {
        url,
        iampass,
        _stop: stop,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_in_by_phone_and_guards_routes() {
    let emulator = emulator().await;
    let app = serve(builder(&emulator).build().unwrap()).await;
    let mut alice = app.client();

    // Anonymous: 401 JSON for an API client, 303 to the login page for a browser.
    let api = alice.get("/dashboard").await;
    assert_eq!(api.status, 401, "{}", api.body);
    assert_eq!(api.json()["error"], "unauthenticated");
    let page = alice.get_html("/dashboard").await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.headers.get("location").unwrap(),
        "/auth/login?next=%2Fdashboard"
    );
    assert_eq!(alice.get("/").await.body, "hello, stranger");
    assert_eq!(alice.get("/presence").await.body, "anonymous");
    assert_eq!(alice.get("/admin").await.status, 401);
    assert_eq!(alice.get_html("/auth/login").await.status, 200);

    sign_in(&emulator, &mut alice, "alice").await;
    assert_eq!(alice.get("/dashboard").await.body, "hi alice");
    assert_eq!(alice.get("/").await.body, "hello alice");
    assert_eq!(alice.get("/presence").await.body, "signed in: alice");
    assert_eq!(alice.get("/admin").await.body, "admin area");

    // Logout ends the session at IAMPASS and removes the cookie; the old cookie is refused.
    let old = alice.cookie.clone();
    let out = alice.post_json("/auth/logout", json!({})).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(out.json()["status"], "closed");
    assert!(alice.cookie.is_none());
    alice.cookie = old;
    assert_eq!(alice.get("/dashboard").await.status, 401);
    assert!(alice.cookie.is_none(), "the refused cookie is removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cookie_opens_in_both_adapters() {
    let emulator = emulator().await;
    let actix = start_app(builder(&emulator).build().unwrap());
    let axum = serve(builder(&emulator).build().unwrap()).await;

    let mut on_actix = Client::new(&actix);
    sign_in(&emulator, &mut on_actix, "alice").await;
    let mut moved = axum.client();
    moved.cookie = on_actix.cookie.clone();
    assert_eq!(moved.get("/dashboard").await.body, "hi alice");

    let mut on_axum = axum.client();
    sign_in(&emulator, &mut on_axum, "bob").await;
    let mut back = Client::new(&actix);
    back.cookie = on_axum.cookie.clone();
    assert_eq!(back.get("/dashboard").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_factor_starts_from_an_axum_handler() {
    let emulator = emulator().await;
    phone_approving_at_once(&emulator, "alice").await;
    let app = serve(builder(&emulator).public_login(false).build().unwrap()).await;
    let mut client = app.client();
    let public = client.post_login("alice").await;
    assert_eq!(public.status, 403, "the public start is off");
    let started = client.post_json("/signin", json!({})).await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(started.json()["poll_url"], "/auth/poll");
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["status"], "active", "{}", done.body);
    assert_eq!(done.json()["redirect"], "/dashboard");
    // A password deployment: the cookie records the first factor, so it is accepted.
    assert_eq!(client.get("/dashboard").await.body, "hi alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_events_and_a_route_without_the_layer() {
    let emulator = emulator().await;
    let app = serve(builder(&emulator).build().unwrap()).await;
    let mut client = app.client();
    for script in ["/auth/login.js", "/auth/live.js"] {
        let js = client.get(script).await;
        assert_eq!(js.status, 200);
        assert_eq!(
            js.headers.get("content-type").unwrap(),
            "text/javascript; charset=utf-8"
        );
    }
    // Anonymous: one `closed` event, then the end of the stream.
    let events = client.get("/auth/events?next=/dashboard").await;
    assert_eq!(events.status, 200);
    assert_eq!(
        events.headers.get("content-type").unwrap(),
        "text/event-stream"
    );
    assert!(
        events.body.starts_with("event: closed\n"),
        "{}",
        events.body
    );
    // An extractor on a route outside the layer is a configuration error, said as such.
    let http = common::actix_app::http();
    let unwrapped = http
        .get(format!("{}/unwrapped", app.url))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(unwrapped.status(), 500);
    let body: serde_json::Value = unwrapped.json().await.unwrap();
    assert_eq!(body["error"], "misconfigured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_unauthenticated_responder_answers_guards_and_extractors() {
    use axum::response::Response;
    let emulator = emulator().await;
    let iampass = builder(&emulator)
        .login_path("/signin")
        .axum_unauthenticated_responder(|parts: &Parts, denial| match denial {
            iampass::axum::Denial::Unauthenticated { .. }
                if parts.uri.path() == "/admin" || parts.uri.query() == Some("custom") =>
            {
                let mut custom: Response = "custom".into_response();
                *custom.status_mut() = http::StatusCode::FORBIDDEN;
                custom
            }
            other => other.default_reply(parts).into_response(),
        })
        .build()
        .unwrap();
    let app = serve(iampass).await;
    let mut client = app.client();
    // The guard layer and the extractor both answer with it...
    let guarded = client.get_html("/admin").await;
    assert_eq!((guarded.status, guarded.body.as_str()), (403, "custom"));
    let extracted = client.get("/dashboard?custom").await;
    assert_eq!((extracted.status, extracted.body.as_str()), (403, "custom"));
    assert_eq!(client.get("/presence?custom").await.body, "anonymous");
    // ... and its fallback is the default answer, with the configured login path.
    let page = client.get_html("/dashboard").await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.headers.get("location").unwrap(),
        "/signin?next=%2Fdashboard"
    );
    assert_eq!(client.get("/dashboard").await.status, 401);
    // Signed in, nobody is refused.
    sign_in(&emulator, &mut client, "alice").await;
    assert_eq!(client.get_html("/admin").await.body, "admin area");
}

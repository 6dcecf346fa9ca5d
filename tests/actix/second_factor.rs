//! IAMPASS as the second factor (issue 9.1): the application checks a password in its own
//! handler, then starts the phone approval with `Iampass::start_login`; the public user-name
//! start can be switched off.

use actix_web::{App, HttpRequest, HttpResponse, Responder, web};
use iampass::Status;
use iampass::actix::{Iampass, RequireIampass, SecondFactor};
use iampass::emulator::SessionAction;
use serde_json::json;

use crate::harness::*;

/// The app's own first factor: `POST /signin {"user", "password"}`, password "pw" for all.
async fn sign_in(
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
    iampass: web::Data<Iampass>,
) -> Result<impl Responder, actix_web::Error> {
    let user = body["user"].as_str().unwrap_or_default();
    if body["password"] != "pw" {
        return Ok(HttpResponse::Unauthorized().json(json!({"error": "bad_password"})));
    }
    let login = SecondFactor::new(user).next("/dashboard");
    match iampass.start_login(&req, login).await {
        Ok(started) => Ok(started.into_http_response()),
        // The app sees the precise reason; here it passes it on.
        Err(e) => Ok(HttpResponse::UnprocessableEntity()
            .json(json!({"reason": e.reason(), "message": e.message()}))),
    }
}

async fn sign_out(req: HttpRequest, iampass: web::Data<Iampass>) -> impl Responder {
    iampass.logout(&req).await
}

fn two_factor_app(iampass: Iampass) -> TestApp {
    serve(iampass, 1, |iampass| {
        App::new()
            .app_data(web::Data::new(iampass.clone()))
            .wrap(iampass.middleware())
            .configure(iampass.routes())
            .route("/signin", web::post().to(sign_in))
            .route("/signout", web::post().to(sign_out))
            .route(
                "/dashboard",
                web::get().to(|who: RequireIampass| async move { format!("hi {}", who.user()) }),
            )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_then_the_phone() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "ada").await;
    let app = two_factor_app(
        builder(&emulator)
            .public_login(false)
            .login_path("/signin")
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    // The public user-name start is off: nobody can make a phone ring without the password.
    let public = client.post_login("ada").await;
    assert_eq!(public.status, 403);
    assert_eq!(public.json()["error"], "public_login_disabled");
    let wrong = client
        .post_json("/signin", json!({"user": "ada", "password": "nope"}))
        .await;
    assert_eq!(wrong.status, 401);
    assert!(
        emulator
            .sessions(Some(APP), Some("ada"))
            .await
            .unwrap()
            .is_empty()
    );

    let started = client
        .post_json("/signin", json!({"user": "ada", "password": "pw"}))
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(started.json()["poll_url"], "/auth/poll");
    act_on_pending(&emulator, "ada", SessionAction::Approve).await;
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["status"], "active");
    assert_eq!(done.json()["redirect"], "/dashboard");
    assert_eq!(client.get("/dashboard").await.body, "hi ada");

    // Logout from the app's own handler ends the IAMPASS session.
    let token = session_of(&emulator, "ada", Status::Active).await;
    let out = client.post_json("/signout", json!({})).await;
    assert_eq!(out.status, 200);
    assert!(client.cookie.is_none());
    let closed = emulator.sessions(Some(APP), Some("ada")).await.unwrap();
    assert!(
        closed
            .iter()
            .any(|s| s.session_token == token && s.session_status == Status::Closed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_gets_precise_reasons() {
    let emulator = emulator().await;
    user_without_phone(&emulator, "phoneless").await;
    let app = two_factor_app(builder(&emulator).public_login(false).build().unwrap());
    let mut client = Client::new(&app);
    let none = client
        .post_json("/signin", json!({"user": "phoneless", "password": "pw"}))
        .await;
    assert_eq!(none.json()["reason"], "NO_MOBILE_DEVICE");
    let unknown = client
        .post_json("/signin", json!({"user": "nobody", "password": "pw"}))
        .await;
    assert_eq!(unknown.json()["reason"], "UNKNOWN_USER");
    assert!(
        unknown.json()["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apps_own_tests_sign_in_in_one_call() {
    let emulator = emulator().await;
    let iampass = builder(&emulator).build().unwrap();
    let cookie = emulator.sign_in(&iampass, "zed").await.unwrap();
    let app = start_app(iampass);
    let mut client = Client::new(&app);
    client.cookie = Some(cookie.value().to_owned());
    assert_eq!(client.get("/dashboard").await.body, "hi zed");
    // In-memory too, with actix's test tools.
    let iampass = builder(&emulator).build().unwrap();
    let cookie = emulator.sign_in(&iampass, "zoe").await.unwrap();
    let service = actix_web::test::init_service(App::new().wrap(iampass.middleware()).route(
        "/dashboard",
        web::get().to(|who: RequireIampass| async move { format!("hi {}", who.user()) }),
    ))
    .await;
    let request = actix_web::test::TestRequest::get()
        .uri("/dashboard")
        .cookie(cookie)
        .to_request();
    assert_eq!(
        actix_web::test::call_and_read_body(&service, request).await,
        "hi zoe"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_only_cookie_does_not_pass_a_password_deployment() {
    // Two deployments of one application, server and cookie key: one signs in by user name
    // and phone, the other by password then phone.
    let emulator = emulator().await;
    let phone_only = start_app(builder(&emulator).build().unwrap());
    let password = two_factor_app(
        builder(&emulator)
            .public_login(false)
            .login_path("/signin")
            .build()
            .unwrap(),
    );
    let mut mallory = Client::new(&phone_only);
    crate::harness::sign_in(&emulator, &mut mallory, "ada").await;
    assert_eq!(mallory.get("/dashboard").await.status, 200);

    let mut skipping = Client::new(&password);
    skipping.cookie = mallory.cookie.clone();
    let refused = skipping.get("/dashboard").await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(skipping.cookie.is_none(), "the refused cookie is removed");

    // The same cookie with the password step on record passes.
    let mut ada = Client::new(&password);
    let started = ada
        .post_json("/signin", json!({"user": "ada", "password": "pw"}))
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    // (The phone approves at once, as set up by the first sign-in.)
    assert_eq!(ada.poll_until_done().await.json()["status"], "active");
    assert_eq!(ada.get("/dashboard").await.body, "hi ada");

    // A deployment may say it does not require the first factor.
    let lenient = start_app(
        builder(&emulator)
            .public_login(false)
            .require_first_factor(false)
            .build()
            .unwrap(),
    );
    let mut accepted = Client::new(&lenient);
    accepted.cookie = mallory.cookie.clone();
    assert_eq!(accepted.get("/dashboard").await.status, 200);
}

//! Dead ends of the second-factor path (issue 22): every redirect lands on a page that works,
//! a poll without its cookie says why, and an explicit `Accept: application/json` gets JSON
//! even for a form post.

use actix_web::{App, HttpRequest, HttpResponse, Responder, web};
use iampass::actix::{Iampass, RequireIampass, SecondFactor};
use iampass::emulator::SessionAction;

use crate::harness::*;

#[derive(serde::Deserialize)]
struct SignIn {
    user: String,
    password: String,
}

/// The app's own first factor as a form (`POST /signin`), and its page (`GET /signin`).
async fn sign_in(
    req: HttpRequest,
    form: web::Form<SignIn>,
    iampass: web::Data<Iampass>,
) -> impl Responder {
    if form.password != "pw" {
        return HttpResponse::Unauthorized().body("wrong user name or password");
    }
    match iampass
        .start_login(&req, SecondFactor::new(&form.user).next("/dashboard"))
        .await
    {
        Ok(started) => started.into_http_response(),
        Err(e) => HttpResponse::UnprocessableEntity().body(e.message().to_owned()),
    }
}

fn second_factor_app(iampass: Iampass) -> TestApp {
    serve(iampass, 1, |iampass| {
        App::new()
            .app_data(web::Data::new(iampass.clone()))
            .wrap(iampass.middleware())
            .configure(iampass.routes())
            .route(
                "/signin",
                web::get().to(|| async { "the app's sign-in page" }),
            )
            .route("/signin", web::post().to(sign_in))
            .route(
                "/dashboard",
                web::get().to(|who: RequireIampass| async move { format!("hi {}", who.user()) }),
            )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_public_login_every_redirect_reaches_the_apps_sign_in_page() {
    let emulator = emulator().await;
    let app = second_factor_app(
        builder(&emulator)
            .public_login(false)
            .login_path("/signin")
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);

    // The middleware sends a browser to the app's page, which is there.
    let guarded = client.get_html("/dashboard").await;
    assert_eq!(guarded.status, 303);
    assert_eq!(
        guarded.header("location"),
        Some("/signin?next=%2Fdashboard")
    );
    let page = client.get_html("/signin?next=%2Fdashboard").await;
    assert_eq!(page.status, 200, "{}", page.body);

    // The crate's user-name page would only lead to a 403: it sends to the app's page.
    let form = client.get_html("/auth/login?next=%2Fdashboard").await;
    assert_eq!(form.status, 303, "{}", form.body);
    assert_eq!(form.header("location"), Some("/signin?next=%2Fdashboard"));
    let bare = client.get_html("/auth/login").await;
    assert_eq!(bare.status, 303);
    assert_eq!(bare.header("location"), Some("/signin"));
    // An unsafe `next` is dropped, as everywhere.
    let evil = client.get_html("/auth/login?next=%2F%2Fevil.example").await;
    assert_eq!(evil.header("location"), Some("/signin"));

    // A form posted to the public start (an old copy of the page) lands there too, and no
    // phone rang.
    let posted = client
        .post_form("/auth/login", &[("user", "ada"), ("next", "/dashboard")])
        .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    assert_eq!(posted.header("location"), Some("/signin?next=%2Fdashboard"));
    assert!(client.cookie.is_none());
    // A script still gets the 403 that says why.
    let script = client.post_login("ada").await;
    assert_eq!(script.status, 403);
    assert_eq!(script.json()["error"], "public_login_disabled");
    assert!(
        emulator
            .sessions(Some(APP), Some("ada"))
            .await
            .unwrap()
            .is_empty()
    );

    // The wait page under /auth/login stays: the app's form post lands there.
    user_with_phone(&emulator, "ada").await;
    let started = client
        .post_form("/signin", &[("user", "ada"), ("password", "pw")])
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    assert_eq!(started.header("location"), Some("/auth/login?wait=1"));
    let waiting = client.get_html("/auth/login?wait=1").await;
    assert_eq!(waiting.status, 200, "{}", waiting.body);
    act_on_pending(&emulator, "ada", SessionAction::Approve).await;
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["status"], "active", "{}", done.body);
    assert_eq!(client.get("/dashboard").await.body, "hi ada");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_sign_in_page_of_its_own_the_login_page_does_not_loop() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).public_login(false).build().unwrap());
    let mut client = Client::new(&app);
    let page = client.get_html("/auth/login?next=%2Fdashboard").await;
    assert_eq!(page.status, 200, "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_without_its_cookie_says_why() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let poll = client.get("/auth/poll").await;
    assert_eq!(poll.status, 401);
    let body = poll.json();
    assert_eq!(body["error"], "no_pending_login");
    let message = body["message"].as_str().unwrap_or_default();
    for cause in [
        "cookie",
        "Secure",
        "HTTPS",
        "cookie_secure(false)",
        "expired",
    ] {
        assert!(message.contains(cause), "{cause:?} not in {message:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_json_accept_wins_over_a_form_post() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "ada").await;
    user_with_phone(&emulator, "bob").await;
    let form = |client: &Client, path: &str, accept: &str, fields: &[(&str, &str)]| {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        http()
            .post(format!("{}{path}", client.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", accept)
            .body(body)
    };

    // The crate's public start.
    let public = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&public);
    let request = form(
        &client,
        "/auth/login",
        "application/json",
        &[("user", "ada")],
    );
    let json = client.send(request).await;
    assert_eq!(json.status, 202, "{}", json.body);
    assert_eq!(json.json()["poll_url"], "/auth/poll");
    let mut client = Client::new(&public);
    let request = form(&client, "/auth/login", "*/*", &[("user", "bob")]);
    let html = client.send(request).await;
    assert_eq!(html.status, 303, "{}", html.body);
    assert_eq!(html.header("location"), Some("/auth/login?wait=1"));
    // A refusal follows the same rule: JSON for a script, the form page for a browser.
    let mut client = Client::new(&public);
    let request = form(&client, "/auth/login", "application/json", &[("user", "")]);
    let refused = client.send(request).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["error"], "bad_request");

    // The application's own handler calling start_login.
    let app = second_factor_app(
        builder(&emulator)
            .public_login(false)
            .login_path("/signin")
            .build()
            .unwrap(),
    );
    let fields = [("user", "ada"), ("password", "pw")];
    let mut client = Client::new(&app);
    let request = form(&client, "/signin", "application/json", &fields);
    let json = client.send(request).await;
    assert_eq!(json.status, 202, "{}", json.body);
    assert_eq!(json.json()["poll_url"], "/auth/poll");
    let mut client = Client::new(&app);
    let request = form(&client, "/signin", "text/html", &fields);
    let html = client.send(request).await;
    assert_eq!(html.status, 303, "{}", html.body);
    assert_eq!(html.header("location"), Some("/auth/login?wait=1"));
}

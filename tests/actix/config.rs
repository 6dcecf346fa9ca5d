//! Configuration seen from outside: the revalidation window, the login path, a missing
//! middleware, the environment, and the extractor forms.

use std::time::Duration;

use iampass::actix::{Iampass, Revalidate};
use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revalidate_after_reuses_the_answer_within_the_window() {
    let emulator = emulator().await;
    let iampass = builder(&emulator)
        .revalidate(Revalidate::After(Duration::from_secs(30)))
        .build()
        .unwrap();
    let app = start_app(iampass);
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "liam").await;
    emulator.reset_stats().await.unwrap();
    for _ in 0..10 {
        assert_eq!(client.get("/dashboard").await.status, 200);
    }
    assert_eq!(emulator.stats().await.unwrap().route_count("status"), 1);
    // Logout forgets the cached answer: the replayed cookie is refused at once.
    let cookie = client.cookie.clone();
    client.post_json("/auth/logout", json!({})).await;
    client.cookie = cookie;
    assert_eq!(client.get("/dashboard").await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_answers_303_for_html_and_401_for_apis() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let html = client.get_html("/dashboard").await;
    assert_eq!(html.status, 303);
    assert_eq!(
        html.header("location").unwrap(),
        "/auth/login?next=%2Fdashboard"
    );
    let api = client.get("/dashboard").await;
    assert_eq!(api.status, 401);
    assert_eq!(
        api.json(),
        json!({"error": "unauthenticated", "status": null})
    );
    let guarded = client.get_html("/admin/x").await;
    assert_eq!(guarded.status, 303);
    assert_eq!(
        guarded.header("location").unwrap(),
        "/auth/login?next=%2Fadmin%2Fx"
    );
    assert_eq!(client.get("/admin").await.status, 401);

    // A custom responder and login path.
    let custom = start_app(
        builder(&emulator)
            .login_path("/signin")
            .unauthenticated_responder(|req, denial| match denial {
                iampass::actix::Denial::Unauthenticated { .. } if req.path() == "/admin" => {
                    actix_web::HttpResponse::Forbidden().body("custom")
                }
                other => other.default_response(req),
            })
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&custom);
    assert_eq!(client.get_html("/admin").await.body, "custom");
    assert_eq!(
        client
            .get_html("/dashboard")
            .await
            .header("location")
            .unwrap(),
        "/signin?next=%2Fdashboard"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_middleware_is_a_500_not_a_panic() {
    let emulator = emulator().await;
    let app = start_app_without_middleware(builder(&emulator).build().unwrap());
    let http = http();
    for path in ["/dashboard", "/admin"] {
        let answer = http
            .get(format!("{}{path}", app.url))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 500, "{path}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "misconfigured");
    }
    // The optional extractor is simply absent, and the server is still alive.
    let home = http.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(home.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_from_the_environment() {
    use base64::Engine;
    let b64 = |k: &[u8]| base64::engine::general_purpose::STANDARD.encode(k);
    let emulator = emulator().await;
    // Only this test touches these variables (and CI unsets them before the tests).
    // SAFETY: no other thread of this test binary reads or writes them.
    unsafe {
        std::env::remove_var("IAMPASS_APPLICATION_ID");
    }
    assert!(matches!(
        Iampass::from_env(),
        Err(iampass::Error::Config(_))
    ));
    unsafe {
        std::env::set_var("IAMPASS_APPLICATION_ID", APP);
        std::env::set_var("IAMPASS_APPLICATION_SECRET", SECRET);
        std::env::set_var("IAMPASS_COOKIE_KEY", b64(&KEY2));
        std::env::set_var(
            "IAMPASS_COOKIE_OLD_KEYS",
            format!("{}, {}", b64(&[3; 64]), b64(&KEY)),
        );
    }
    let from_env = Iampass::from_env()
        .unwrap()
        .server(emulator.base_url())
        .cookie_secure(false)
        .build()
        .unwrap();
    // A cookie of the old key opens; new cookies are sealed with IAMPASS_COOKIE_KEY.
    let old = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&old);
    sign_in(&emulator, &mut client, "xena").await;
    let app = start_app(from_env.clone());
    let mut moved = client.to(&app);
    assert_eq!(moved.get("/dashboard").await.body, "hi xena");
    let by_new_key = builder(&emulator).cookie_key(&KEY2).build().unwrap();
    assert!(
        by_new_key
            .open_cookie(moved.cookie.as_ref().unwrap())
            .is_ok()
    );
    unsafe {
        std::env::set_var("IAMPASS_COOKIE_KEY", "not base64!");
    }
    assert!(matches!(
        Iampass::from_env(),
        Err(iampass::Error::Config(_))
    ));
    unsafe {
        std::env::remove_var("IAMPASS_COOKIE_KEY");
        std::env::remove_var("IAMPASS_COOKIE_OLD_KEYS");
    }
    // Without a key anywhere, build() says how to make one.
    let Err(iampass::Error::Config(message)) = Iampass::from_env().unwrap().build() else {
        panic!("a missing cookie key is refused");
    };
    assert!(message.contains("IAMPASS_COOKIE_KEY"), "{message}");
}

/// An app in memory (no socket needed): the middleware, the login routes and handlers that
/// take the identity as `RequireIampass`, as `Result<_, Denial>` and through `IampassExt`.
fn in_memory(
    iampass: Iampass,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    use actix_web::{App, FromRequest, HttpRequest, web};
    use iampass::actix::{Denial, IampassIdentity, RequireIampass};
    async fn decided(who: Result<IampassIdentity, Denial>) -> String {
        match who {
            Ok(who) => format!("ok {}", who.user()),
            Err(Denial::Unauthenticated { login_url, .. }) => format!("anonymous {login_url}"),
            Err(other) => format!("denied {other}"),
        }
    }
    async fn by_trait(req: HttpRequest) -> Result<String, Denial> {
        Ok(format!(
            "trait {}",
            IampassIdentity::extract(&req).await?.user()
        ))
    }
    App::new()
        .wrap(iampass.middleware())
        .configure(iampass.routes())
        .route(
            "/dashboard",
            web::get().to(|who: RequireIampass| async move { who.user().to_owned() }),
        )
        .route("/decided", web::get().to(decided))
        .route("/trait", web::get().to(by_trait))
}

#[actix_web::test]
async fn routes_prefix_moves_the_handlers_and_the_login_path() {
    use actix_web::test::{TestRequest, call_service, read_body};
    // Anonymous requests never ask IAMPASS, so no emulator is needed here.
    let iampass = Iampass::builder(APP, SECRET)
        .server("http://127.0.0.1:9")
        .cookie_key(&KEY)
        .routes_prefix("/account/")
        .build()
        .unwrap();
    assert_eq!(iampass.login_path(), "/account/login");
    let app = actix_web::test::init_service(in_memory(iampass.clone())).await;
    let page = call_service(&app, TestRequest::get().uri("/account/login").to_request()).await;
    assert_eq!(page.status(), 200);
    let page = String::from_utf8(read_body(page).await.to_vec()).unwrap();
    assert!(page.contains(r#"action="/account/login""#), "{page}");
    let moved = call_service(&app, TestRequest::get().uri("/auth/login").to_request()).await;
    assert_eq!(moved.status(), 404);
    let poll = call_service(&app, TestRequest::get().uri("/account/poll").to_request()).await;
    assert_eq!(poll.status(), 401);
    let guarded = call_service(
        &app,
        TestRequest::get()
            .uri("/dashboard")
            .insert_header(("Accept", "text/html"))
            .to_request(),
    )
    .await;
    assert_eq!(guarded.status(), 303);
    assert_eq!(
        guarded.headers().get("location").unwrap(),
        "/account/login?next=%2Fdashboard"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn result_extractor_and_extension_trait_see_identity_and_denial() {
    use actix_web::test::{TestRequest, call_and_read_body, call_service};
    let emulator = emulator().await;
    let iampass = builder(&emulator).build().unwrap();
    let server = start_app(iampass.clone());
    let mut client = Client::new(&server);
    sign_in(&emulator, &mut client, "yara").await;
    let cookie = format!(
        "{}={}",
        iampass.cookie_name(),
        client.cookie.clone().unwrap()
    );

    // actix's test service runs on this task: a LocalSet gives it its `spawn_local`.
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let app = actix_web::test::init_service(in_memory(iampass.clone())).await;
            let get = |path: &str, cookie: Option<&str>| {
                let mut req = TestRequest::get().uri(path);
                if let Some(cookie) = cookie {
                    req = req.insert_header(("Cookie", cookie.to_owned()));
                }
                req.to_request()
            };
            let signed_in = call_and_read_body(&app, get("/decided", Some(&cookie))).await;
            assert_eq!(signed_in, "ok yara");
            let by_trait = call_and_read_body(&app, get("/trait", Some(&cookie))).await;
            assert_eq!(by_trait, "trait yara");
            let anonymous = call_and_read_body(&app, get("/decided?x=1", None)).await;
            assert_eq!(anonymous, "anonymous /auth/login?next=%2Fdecided%3Fx%3D1");
            // `?` on a Denial answers as to an API client, even to a browser.
            let refused = call_service(&app, get("/trait", None)).await;
            assert_eq!(refused.status(), 401);
            let refused = call_and_read_body(&app, get("/trait", None)).await;
            assert_eq!(
                serde_json::from_slice::<serde_json::Value>(&refused).unwrap(),
                json!({"error": "unauthenticated", "status": null})
            );
        })
        .await;
}

//! The login handlers' defences: safe `next`, cross-site refusal, rate limits, bad input
//! answered clearly, escaped pages.

use iampass::actix::Iampass;
use iampass::actix::defaults::MAX_USER_LEN;
use iampass::core::store::Rate;
use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_is_sanitised() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let long = format!("/{}", "a".repeat(2000));
    let table: &[(&str, &str)] = &[
        ("/dashboard", "/dashboard"),
        ("/a?b=c#d", "/a?b=c#d"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/\t/evil.example", "/"),
        ("/x\r\nLocation: //evil", "/"),
        ("relative", "/"),
        ("", "/"),
        (&long, "/"),
    ];
    // The login page's hidden field.
    let mut client = Client::new(&app);
    for (next, expected) in table {
        let q: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let page = client.get_html(&format!("/auth/login?next={q}")).await;
        let field = format!(r#"name="next" value="{}""#, expected.replace('&', "&#38;"));
        assert!(
            page.body.contains(&field),
            "{next:?} -> expected {expected:?}"
        );
    }
    // Through the whole flow: the redirect after login.
    phone_approving_at_once(&emulator, "oscar").await;
    for (next, expected) in &table[..6] {
        let mut client = Client::new(&app);
        client.start_login("oscar", Some(next)).await;
        assert_eq!(
            client.poll_until_done().await.json()["redirect"],
            *expected,
            "{next:?}"
        );
    }
    // RequireIampass's redirect carries the original path and query.
    let mut anon = Client::new(&app);
    let redirect = anon.get_html("/dashboard?x=1&y=%2F").await;
    assert_eq!(redirect.status, 303);
    assert_eq!(
        redirect.header("location").unwrap(),
        "/auth/login?next=%2Fdashboard%3Fx%3D1%26y%3D%252F"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "paul").await;
    let app = start_app(builder(&emulator).build().unwrap());
    let host = app.url.trim_start_matches("http://").to_owned();
    let cases: &[(&str, &str, u16)] = &[
        ("origin", "http://evil.example", 403),
        ("origin", "null", 403),
        ("sec-fetch-site", "cross-site", 403),
        ("sec-fetch-site", "same-site", 403),
        ("sec-fetch-site", "same-origin", 202),
        ("sec-fetch-site", "none", 202),
    ];
    for (header, value, expected) in cases {
        let mut client = Client::new(&app);
        client.extra = vec![(header.to_string(), value.to_string())];
        let login = client.post_login("paul").await;
        assert_eq!(login.status, *expected, "{header}: {value}: {}", login.body);
    }
    let mut same = Client::new(&app);
    same.extra = vec![("origin".into(), format!("http://{host}"))];
    assert_eq!(same.post_login("paul").await.status, 202);

    // Logout too: a cross-site POST does not end the session.
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "paul").await;
    let mut attacker = client.clone();
    attacker.extra = vec![("origin".into(), "http://evil.example".into())];
    let refused = attacker.post_json("/auth/logout", json!({})).await;
    assert_eq!(refused.status, 403);
    assert!(refused.set_cookies("iampass").is_empty());
    assert_eq!(client.get("/dashboard").await.status, 200);
    // A cross-site form POST gets an HTML 403.
    attacker.extra = vec![("sec-fetch-site".into(), "cross-site".into())];
    let form = attacker.post_form("/auth/login", &[("user", "paul")]).await;
    assert_eq!(form.status, 403);
    assert!(
        form.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_starts_are_rate_limited_per_user_and_per_address() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "quinn").await;
    let defaults = Iampass::builder(APP, SECRET)
        .server(emulator.base_url())
        .cookie_key(&KEY)
        .cookie_secure(false)
        .build()
        .unwrap();
    let app = start_app(defaults);
    let mut client = Client::new(&app);
    for _ in 0..5 {
        client.start_login("quinn", None).await;
    }
    let limited = client.post_login("quinn").await;
    assert_eq!(limited.status, 429);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(limited.json()["error"], "rate_limited");
    // Only 5 reached IAMPASS.
    assert_eq!(
        emulator
            .sessions(Some(APP), Some("quinn"))
            .await
            .unwrap()
            .len(),
        5
    );

    let per_address = start_app(
        builder(&emulator)
            .rate_limit_per_address(Rate::per_minute(3))
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&per_address);
    for user in ["r1", "r2", "r3"] {
        user_with_phone(&emulator, user).await;
        client.start_login(user, None).await;
    }
    let limited = client.post_login("r4").await;
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_login_requests_are_refused() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "tom").await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    for (body, what) in [
        (b"{not json".to_vec(), "malformed"),
        (b"[]".to_vec(), "not an object"),
        (b"{}".to_vec(), "no user"),
        (br#"{"user": 5}"#.to_vec(), "user not a string"),
        (br#"{"user": ""}"#.to_vec(), "empty user"),
        (br#"{"user": "   "}"#.to_vec(), "blank user"),
        (br#"{"user": "a\u0000b"}"#.to_vec(), "control character"),
        (
            br#"{"user": "tom", "methods": ["telepathy"]}"#.to_vec(),
            "bad method",
        ),
        (
            br#"{"user": "tom", "methods": "acceptance"}"#.to_vec(),
            "methods not a list",
        ),
    ] {
        let answer = client
            .post_raw("/auth/login", "application/json", body)
            .await;
        assert_eq!(answer.status, 400, "{what}: {}", answer.body);
        assert!(client.cookie.is_none(), "{what}");
    }
    let huge = format!(r#"{{"user": "{}"}}"#, "x".repeat(64 * 1024));
    let answer = client
        .post_raw("/auth/login", "application/json", huge.into_bytes())
        .await;
    assert_eq!(answer.status, 413);

    // Not started: unknown user / no phone → the public mode's decoy, the same 202 as a real
    // login (issue 9.3; tests/actix/public_login.rs has the rest).
    let unknown = client.clone().post_login("nobody").await;
    assert_eq!(unknown.status, 202);
    assert_eq!(unknown.json()["status"], "pending");
    user_without_phone(&emulator, "phoneless").await;
    let phoneless = client.clone().post_login("phoneless").await;
    assert_eq!(
        (phoneless.status, phoneless.json()["status"].clone()),
        (202, json!("pending"))
    );

    // Methods chosen by the browser are ignored: the application decides (issue 10.4).
    let with_methods = client
        .post_json(
            "/auth/login",
            json!({"user": "tom", "methods": ["acceptance", "facial"]}),
        )
        .await;
    assert_eq!(with_methods.status, 202);
    let session = emulator
        .sessions(Some(APP), Some("tom"))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        session.methods,
        vec![iampass::AuthenticationMethod::Acceptance],
        "the service's default, not the browser's choice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_page_prefills_the_user_escaped_and_bounded() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let page = client.get_html("/auth/login?user=new+user+1").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"value="new user 1""#), "{}", page.body);
    let page = client
        .get_html("/auth/login?user=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("<script>alert(1)"),
        "the user is escaped"
    );
    let long = "x".repeat(MAX_USER_LEN + 1);
    let page = client.get_html(&format!("/auth/login?user={long}")).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains(&long),
        "an over-long user is not echoed"
    );
}

//! HTTP-level checks of the example: no browser needed.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};

use crate::harness::{ExampleApp, TestResult};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// POSTs the sign-up form as a browser on `origin` would.
async fn post_register(
    app: &ExampleApp,
    body: &str,
    origin: Option<&str>,
    fetch_site: Option<&str>,
) -> TestResult<(StatusCode, String)> {
    let mut request = client()
        .post(format!("{}/register", app.url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    if let Some(site) = fetch_site {
        request = request.header("sec-fetch-site", site);
    }
    let response = request.send().await?;
    Ok((response.status(), response.text().await?))
}

each_example! {
#[tokio::test]
async fn anonymous_pages_and_the_protected_dashboard(example) -> TestResult {
    let app = example.start()?;
    let http = client();

    let home = http.get(format!("{}/", app.url)).send().await?;
    assert_eq!(home.status(), StatusCode::OK);
    assert!(
        home.headers()[CONTENT_TYPE]
            .to_str()?
            .starts_with("text/html")
    );
    let body = home.text().await?;
    assert!(body.contains("name=\"viewport\""), "{body}");
    assert!(body.contains("/register"), "{body}");
    assert!(
        !body.contains("id=\"home-user\""),
        "anonymous home shows a user: {body}"
    );

    for asset in [
        "/static/app.css",
        "/favicon.svg",
        "/favicon.ico",
        "/register",
    ] {
        let response = http.get(format!("{}{asset}", app.url)).send().await?;
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
    }

    let dashboard = http
        .get(format!("{}/dashboard", app.url))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await?;
    assert_eq!(dashboard.status(), StatusCode::SEE_OTHER);
    let location = dashboard.headers()[LOCATION].to_str()?;
    assert!(
        location.starts_with("/auth/login") || location.contains("/auth/login?"),
        "{location}"
    );
    assert!(location.contains("next="), "{location}");

    // The login page it points at exists.
    let login = http.get(format!("{}/auth/login", app.url)).send().await?;
    assert_eq!(login.status(), StatusCode::OK);
    assert!(login.text().await?.contains("iampass-user"));
    Ok(())
}
}

each_example! {
#[tokio::test]
async fn register_rejects_bad_input_with_400(example) -> TestResult {
    let app = example.start()?;
    let origin = app.url.clone();
    let cases: Vec<(String, &str)> = vec![
        ("user=".into(), "empty"),
        ("user=++%20".into(), "blank"),
        (String::new(), "missing field"),
        (format!("user={}", "x".repeat(65)), "too long"),
        (
            format!("user=bob&display_name={}", "y".repeat(65)),
            "long display name",
        ),
        ("user=a%00b".into(), "control character"),
        ("user=%FF%FE".into(), "not UTF-8"),
    ];
    for (body, why) in cases {
        let (status, page) = post_register(&app, &body, Some(&origin), Some("same-origin")).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {page}");
        assert!(page.contains("id=\"register-error\""), "{why}: {page}");
        assert!(page.contains("<form"), "{why}: the form is shown again");
    }
    // 64 characters (not bytes) are fine.
    let (status, page) = post_register(
        &app,
        &format!("user={}", "é".repeat(64)),
        Some(&origin),
        Some("same-origin"),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{page}");
    Ok(())
}
}

each_example! {
#[tokio::test]
async fn register_refuses_cross_site_posts_with_403(example) -> TestResult {
    let app = example.start()?;
    let body = "user=mallory";
    for (origin, site, why) in [
        (
            Some("https://evil.example"),
            Some("cross-site"),
            "cross-site",
        ),
        (Some("https://evil.example"), None, "foreign origin"),
        (None, Some("cross-site"), "cross-site without origin"),
        (None, Some("same-site"), "sibling site"),
        (Some("null"), None, "opaque origin"),
    ] {
        let (status, page) = post_register(&app, body, origin, site).await?;
        assert_eq!(status, StatusCode::FORBIDDEN, "{why}: {page}");
    }
    // Nothing was created: the same user can still sign up from the app itself.
    let (status, page) = post_register(&app, body, Some(&app.url), Some("same-origin")).await?;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"registration-link\""), "{page}");
    assert!(page.contains("<svg"), "QR code: {page}");
    Ok(())
}
}

each_example! {
#[tokio::test]
async fn register_refuses_an_existing_user(example) -> TestResult {
    let app = example.start()?;
    // `demo` is seeded by the example.
    let (status, page) =
        post_register(&app, "user=demo", Some(&app.url), Some("same-origin")).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(!page.contains("id=\"registration-link\""), "{page}");
    Ok(())
}
}

each_example! {
#[tokio::test]
async fn register_refuses_look_alikes_of_existing_users(example) -> TestResult {
    let app = example.start()?;
    // Each was accepted as a new user before (issue 10.7): `demo` is seeded by the example.
    for (body, why) in [
        ("user=demo%E2%80%8B", "zero-width space"),
        ("user=de%E2%80%AEmo", "right-to-left override"),
        ("user=de%C2%ADmo", "soft hyphen"),
        ("user=d%D0%B5mo", "Cyrillic e"),
        ("user=DEMO", "upper case"),
        ("user=%EF%BD%84%EF%BD%85%EF%BD%8D%EF%BD%8F", "full width"),
    ] {
        let (status, page) = post_register(&app, body, Some(&app.url), Some("same-origin")).await?;
        assert!(
            status == StatusCode::CONFLICT || status == StatusCode::BAD_REQUEST,
            "{why}: {status}"
        );
        assert!(!page.contains("id=\"registration-link\""), "{why}: {page}");
        assert!(page.contains("id=\"register-error\""), "{why}: {page}");
    }
    // A new honest name still works, and then its own look-alike is refused.
    let (status, page) =
        post_register(&app, "user=Zo%C3%AB", Some(&app.url), Some("same-origin")).await?;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, _) =
        post_register(&app, "user=ZO%C3%8B", Some(&app.url), Some("same-origin")).await?;
    assert_eq!(status, StatusCode::CONFLICT);
    Ok(())
}
}

/// The session cookie the app set, as `name=value` (reqwest here keeps no cookie jar).
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| {
            pair.split_once('=')
                .is_some_and(|(_, value)| !value.is_empty())
        })
        .map(str::to_owned)
}

/// Drives a session through the emulator's control API: `approve`, `walkaway`, `return`.
async fn session_action(app: &ExampleApp, token: &str, action: &str) -> TestResult {
    let response = client()
        .post(format!(
            "{}/_emulator/sessions/{token}/{action}",
            app.emulator_url
        ))
        .send()
        .await?;
    assert!(
        response.status().is_success(),
        "{action}: {}",
        response.status()
    );
    Ok(())
}

async fn dashboard(app: &ExampleApp, cookie: &str, accept: &str) -> TestResult<reqwest::Response> {
    Ok(client()
        .get(format!("{}/dashboard", app.url))
        .header("accept", accept)
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await?)
}

each_example! {
#[tokio::test]
async fn walking_away_locks_the_dashboard_and_coming_back_opens_it(example) -> TestResult {
    let app = example.start()?;
    let http = client();

    // `demo` (seeded with a phone) starts a login, as the login page's script would.
    let start = http
        .post(format!("{}/auth/login", app.url))
        .json(&serde_json::json!({ "user": "demo", "next": "/dashboard" }))
        .send()
        .await?;
    assert_eq!(start.status(), StatusCode::ACCEPTED);
    let mut cookie = session_cookie(&start).expect("pending-login cookie");

    let sessions: Vec<serde_json::Value> = http
        .get(format!("{}/_emulator/sessions?user=demo", app.emulator_url))
        .send()
        .await?
        .json()
        .await?;
    let token = sessions
        .last()
        .and_then(|s| s["session_token"].as_str())
        .expect("a session for demo")
        .to_owned();
    session_action(&app, &token, "approve").await?;

    let poll = http
        .get(format!("{}/auth/poll", app.url))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await?;
    assert_eq!(poll.status(), StatusCode::OK);
    cookie = session_cookie(&poll).expect("signed-in cookie");
    let body: serde_json::Value = poll.json().await?;
    assert_eq!(body["status"], "active", "{body}");

    let open = dashboard(&app, &cookie, "text/html").await?;
    assert_eq!(open.status(), StatusCode::OK);
    assert!(open.text().await?.contains("id=\"signed-in-user\">demo<"));

    // Walk away: browsers are sent to the locked page, API clients get 401.
    session_action(&app, &token, "walkaway").await?;
    let locked = dashboard(&app, &cookie, "text/html").await?;
    assert_eq!(locked.status(), StatusCode::SEE_OTHER);
    assert_eq!(locked.headers()[LOCATION], "/locked?next=%2Fdashboard");
    let api = dashboard(&app, &cookie, "application/json").await?;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let page = http
        .get(format!("{}/locked?next=%2Fdashboard", app.url))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await?;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await?;
    assert!(page.contains("id=\"locked\""), "{page}");
    assert!(page.contains("href=\"/dashboard\""), "{page}");

    // Come back: the same cookie opens the dashboard again, and /locked moves on.
    session_action(&app, &token, "return").await?;
    let open = dashboard(&app, &cookie, "text/html").await?;
    assert_eq!(open.status(), StatusCode::OK);
    let page = http
        .get(format!("{}/locked?next=%2Fdashboard", app.url))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await?;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[LOCATION], "/dashboard");

    // The locked page never sends anyone off-site.
    for next in ["//evil.example", "https://evil.example", "/\\evil.example"] {
        let page = http
            .get(format!("{}/locked", app.url))
            .query(&[("next", next)])
            .send()
            .await?
            .text()
            .await?;
        assert!(page.contains("href=\"/dashboard\""), "{next}: {page}");
    }
    Ok(())
}
}

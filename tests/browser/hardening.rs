//! The example under abuse and in deployment (issues 21 and 22), over plain HTTP: password
//! guessing is limited and hashing bounded, sign-ups are limited, a phone-only cookie does not
//! open a password deployment, two instances share the demo account, logs are plain text when
//! redirected, and the emulator's phone URL carries its token beyond loopback.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE};

use crate::common::emulator::{APP, SECRET, emulator, phone_approving_at_once};
use crate::common::eventually::eventually_some;
use crate::harness::{ExampleApp, Launch, TestResult};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

/// POSTs `body` (form-encoded) to the app's `path` as its own page would, with `accept`.
async fn post_form(
    http: &reqwest::Client,
    app: &ExampleApp,
    path: &str,
    body: String,
    accept: &str,
) -> TestResult<reqwest::Response> {
    Ok(http
        .post(format!("{}{path}", app.url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, accept)
        .header("origin", &app.url)
        .header("sec-fetch-site", "same-origin")
        .body(body)
        .send()
        .await?)
}

const HTML: &str = "text/html,application/xhtml+xml";

async fn sign_in(
    http: &reqwest::Client,
    app: &ExampleApp,
    user: &str,
    password: &str,
) -> TestResult<reqwest::Response> {
    let body = format!("user={user}&password={password}&next=%2Fdashboard");
    post_form(http, app, "/signin", body, HTML).await
}

/// `Retry-After` as whole seconds; fails the test if missing or not a number ≥ 1.
fn retry_after(response: &reqwest::Response) -> u64 {
    let value = response
        .headers()
        .get(RETRY_AFTER)
        .unwrap_or_else(|| panic!("{} without Retry-After", response.status()))
        .to_str()
        .expect("Retry-After is text");
    let secs: u64 = value.parse().expect("Retry-After in seconds");
    assert!(secs >= 1, "Retry-After: {secs}");
    secs
}

/// How many events a limit of `burst` per `period` may grant within `elapsed` (GCRA: the
/// burst at once, then one every `period / burst`).
fn allowance(burst: u32, period: Duration, elapsed: Duration) -> u32 {
    let interval = period.as_secs_f64() / f64::from(burst);
    burst + (elapsed.as_secs_f64() / interval).floor() as u32
}

each_example! {
#[tokio::test]
async fn password_guessing_is_limited_per_user_and_per_address(example) -> TestResult {
    let app = example.start_password()?;
    let password = app
        .demo_password
        .clone()
        .ok_or("no demo password printed")?;
    let http = client();
    let started = Instant::now();

    // Per user: 10 a minute by default, right or wrong, then 429 with Retry-After.
    let mut wrong = 0u32;
    let limited = loop {
        let response = sign_in(&http, &app, "demo", "not-the-password").await?;
        match response.status() {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => break response,
            other => panic!("wrong password #{}: {other}", wrong + 1),
        }
        assert!(wrong <= 40, "40 wrong passwords for one user and no 429");
    };
    let allowed = allowance(10, Duration::from_secs(60), started.elapsed());
    assert!(
        wrong <= allowed,
        "{wrong} guesses for demo (at most {allowed})"
    );
    assert!(wrong >= 1, "the first attempt was refused");
    retry_after(&limited);
    let page = limited.text().await?;
    assert!(page.contains("id=\"signin-error\""), "{page}");
    assert!(page.contains("Too many sign-in attempts"), "{page}");

    // The right password does not get through the limit either (and rings no phone).
    let right = sign_in(&http, &app, "demo", &password).await?;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    retry_after(&right);
    let sessions: Vec<serde_json::Value> = http
        .get(format!("{}/_emulator/sessions?user=demo", app.emulator_url))
        .send()
        .await?
        .json()
        .await?;
    assert!(sessions.is_empty(), "a limited sign-in rang: {sessions:?}");

    // A script asking for JSON gets JSON.
    let json = http
        .post(format!("{}/signin", app.url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .header("origin", &app.url)
        .body("user=DEMO&password=x")
        .send()
        .await?;
    assert_eq!(json.status(), StatusCode::TOO_MANY_REQUESTS);
    retry_after(&json);
    let body: serde_json::Value = json.json().await?;
    assert_eq!(body["reason"], "rate_limited", "{body}");

    // Per address: 30 a minute by default, whatever the user name (new names each time).
    // Every attempt above took one of the address's too.
    let mut attempts = wrong + 3;
    let mut guesses = 0u32;
    let limited = loop {
        let response = sign_in(&http, &app, &format!("guess{guesses}"), "password1").await?;
        attempts += 1;
        match response.status() {
            StatusCode::UNAUTHORIZED => guesses += 1,
            StatusCode::TOO_MANY_REQUESTS => break response,
            other => panic!("guess #{guesses}: {other}"),
        }
        assert!(
            guesses <= 80,
            "80 wrong passwords from one address and no 429"
        );
    };
    let allowed = allowance(30, Duration::from_secs(60), started.elapsed());
    assert!(
        attempts - 1 <= allowed,
        "{} attempts from one address before the first 429 (at most {allowed})",
        attempts - 1
    );
    retry_after(&limited);
    Ok(())
}
}

each_example! {
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_ins_beyond_the_hashing_slots_are_refused_at_once(example) -> TestResult {
    let app = example.start_password()?;
    let http = client();
    // The per-address allowance (30 a minute), each with its own user name (the burst must
    // be larger than the machine's CPUs).
    const BURST: usize = 30;
    // Open the connections first, so the posts arrive together.
    let warm = (0..BURST).map(|_| http.get(format!("{}/favicon.svg", app.url)).send());
    for response in futures_util::future::join_all(warm).await {
        assert_eq!(response?.status(), StatusCode::OK);
    }
    let posts = (0..BURST).map(|i| {
        let http = http.clone();
        let app = &app;
        async move { sign_in(&http, app, &format!("burst{i}"), "wrong-password").await }
    });
    let mut checked = 0;
    let mut busy = 0;
    for response in futures_util::future::join_all(posts).await {
        let response = response?;
        match response.status() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert_eq!(retry_after(&response), 1);
                let page = response.text().await?;
                assert!(page.contains("id=\"signin-error\""), "{page}");
            }
            other => panic!("a concurrent sign-in got {other}"),
        }
    }
    // Some were checked, and the rest refused rather than queued behind them: about one
    // check per hashing slot (one per CPU; the app runs on this machine), at most two while
    // the burst arrives.
    let slots = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    assert!(checked >= 1, "no password was checked");
    assert!(
        checked <= 2 * slots && busy >= 1,
        "{checked} of {BURST} concurrent password checks ran ({slots} slots), {busy} refused"
    );
    // The app is still responsive.
    let home = http.get(format!("{}/", app.url)).send().await?;
    assert_eq!(home.status(), StatusCode::OK);
    Ok(())
}
}

each_example! {
#[tokio::test]
async fn sign_ups_are_limited_per_address(example) -> TestResult {
    let app = example.start()?;
    let http = client();
    let started = Instant::now();
    let mut created = 0u32;
    let limited = loop {
        let body = format!("user=newcomer{created}");
        let response = post_form(&http, &app, "/register", body, HTML).await?;
        match response.status() {
            StatusCode::OK => created += 1,
            StatusCode::TOO_MANY_REQUESTS => break response,
            other => panic!("sign-up #{}: {other}", created + 1),
        }
        assert!(created <= 30, "30 sign-ups from one address and no 429");
    };
    let allowed = allowance(5, Duration::from_secs(60), started.elapsed());
    assert!(created <= allowed, "{created} sign-ups (at most {allowed})");
    assert!(created >= 1, "the first sign-up was refused");
    retry_after(&limited);
    let page = limited.text().await?;
    assert!(page.contains("id=\"register-error\""), "{page}");
    assert!(!page.contains("id=\"registration-link\""), "{page}");
    Ok(())
}
}

/// The session cookie the app set, as `name=value`.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| {
            pair.split_once('=')
                .is_some_and(|(_, value)| !value.is_empty())
        })
        .map(str::to_owned)
}

/// Polls `/auth/poll` with a pending cookie until the (self-approving) phone approved; the
/// signed-in cookie.
async fn signed_in_cookie(app: &ExampleApp, pending: &str) -> String {
    let http = client();
    eventually_some(Duration::from_secs(20), "the login is approved", || {
        let http = http.clone();
        async move {
            let poll = http
                .get(format!("{}/auth/poll?wait=2", app.url))
                .header(ACCEPT, "application/json")
                .header(COOKIE, pending)
                .send()
                .await
                .ok()?;
            let cookie = session_cookie(&poll);
            let body: serde_json::Value = poll.json().await.ok()?;
            if body["status"] == "active" {
                cookie
            } else {
                assert_eq!(body["status"], "pending", "{body}");
                None
            }
        }
    })
    .await
}

async fn dashboard(app: &ExampleApp, cookie: &str, accept: &str) -> TestResult<reqwest::Response> {
    Ok(client()
        .get(format!("{}/dashboard", app.url))
        .header(ACCEPT, accept)
        .header(COOKIE, cookie)
        .send()
        .await?)
}

each_example! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_only_cookie_does_not_open_a_password_deployment(example) -> TestResult {
    // One IAMPASS (an emulator), one application, one cookie key, two deployments: the phone
    // alone, and a password then the phone; the demo user shares one password.
    let emulator = emulator().await;
    phone_approving_at_once(&emulator, "demo").await;
    let key = base64_key();
    let password = "correct horse battery";
    let launch = |mode| {
        Launch::mode(mode)
            .env("IAMPASS_SERVER", emulator.base_url())
            .env("IAMPASS_APPLICATION_ID", APP)
            .env("IAMPASS_APPLICATION_SECRET", SECRET)
            .env("IAMPASS_COOKIE_KEY", key.clone())
            .env("IAMPASS_DEMO_PASSWORD", password)
    };
    let phone_only = example.launch(launch("passwordless"))?;
    let with_password = example.launch(launch("password"))?;
    let http = client();

    // Signed in with the phone alone.
    let start = http
        .post(format!("{}/auth/login", phone_only.url))
        .header(ACCEPT, "application/json")
        .json(&serde_json::json!({ "user": "demo", "next": "/dashboard" }))
        .send()
        .await?;
    assert_eq!(start.status(), StatusCode::ACCEPTED);
    let pending = session_cookie(&start).ok_or("no pending cookie")?;
    let phone_cookie = signed_in_cookie(&phone_only, &pending).await;
    let open = dashboard(&phone_only, &phone_cookie, HTML).await?;
    assert_eq!(open.status(), StatusCode::OK, "the phone-only deployment");

    // The password deployment does not take it.
    let refused = dashboard(&with_password, &phone_cookie, HTML).await?;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let location = refused.headers()[LOCATION].to_str()?;
    assert!(location.starts_with("/signin"), "{location}");
    let api = dashboard(&with_password, &phone_cookie, "application/json").await?;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);

    // Its own sign-in (the shared demo password, then the phone) opens both.
    let signin = sign_in(&http, &with_password, "demo", "correct+horse+battery").await?;
    assert_eq!(
        signin.status(),
        StatusCode::SEE_OTHER,
        "the shared password"
    );
    let pending = session_cookie(&signin).ok_or("no pending cookie")?;
    let both = signed_in_cookie(&with_password, &pending).await;
    assert_eq!(
        dashboard(&with_password, &both, HTML).await?.status(),
        StatusCode::OK
    );
    assert_eq!(
        dashboard(&phone_only, &both, HTML).await?.status(),
        StatusCode::OK
    );
    Ok(())
}
}

/// 64 random bytes, base64 (`IAMPASS_COOKIE_KEY`).
fn base64_key() -> String {
    use base64::Engine as _;
    let key: [u8; 64] = std::array::from_fn(|_| rand::random());
    base64::engine::general_purpose::STANDARD.encode(key)
}

each_example! {
#[tokio::test]
async fn redirected_logs_carry_no_colours(example) -> TestResult {
    let log = std::env::temp_dir().join(format!(
        "iampass-example-log-{}-{:08x}.txt",
        std::process::id(),
        rand::random::<u32>()
    ));
    let app = example.launch(
        Launch::mode("passwordless")
            .env("RUST_LOG", "info")
            .stderr_to(log.clone()),
    )?;
    // A request that logs (a login start, at info).
    let start = client()
        .post(format!("{}/auth/login", app.url))
        .header(ACCEPT, "application/json")
        .json(&serde_json::json!({ "user": "demo" }))
        .send()
        .await?;
    assert_eq!(start.status(), StatusCode::ACCEPTED);
    let text = eventually_some(Duration::from_secs(10), "the app logs", || {
        let log = log.clone();
        async move {
            let text = std::fs::read(&log).ok()?;
            text.windows(4).any(|w| w == b"INFO").then_some(text)
        }
    })
    .await;
    drop(app);
    let _ = std::fs::remove_file(&log);
    assert!(
        !text.contains(&0x1b),
        "ANSI escapes in a redirected log: {}",
        String::from_utf8_lossy(&text)
    );
    Ok(())
}
}

each_example! {
#[tokio::test]
async fn the_phone_url_carries_the_control_token_beyond_loopback(example) -> TestResult {
    let app =
        example.launch(Launch::mode("passwordless").env("IAMPASS_EMULATOR_BIND", "0.0.0.0:0"))?;
    let (page, token) = app
        .phone_url
        .split_once("?token=")
        .ok_or_else(|| format!("no token in the phone URL {:?}", app.phone_url))?;
    assert!(!token.is_empty());
    let http = client();
    assert_eq!(
        http.get(&app.phone_url).send().await?.status(),
        StatusCode::OK,
        "the printed phone URL"
    );
    assert_eq!(
        http.get(page).send().await?.status(),
        StatusCode::UNAUTHORIZED,
        "the phone page without the token"
    );
    Ok(())
}
}

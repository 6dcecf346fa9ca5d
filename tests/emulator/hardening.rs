//! The control API and phone page answer only to the emulator's own names, refuse cross-site
//! requests, want a token beyond loopback; the request log cannot be forged; the binary warns
//! when it listens beyond loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use reqwest::header::{AUTHORIZATION, HOST, ORIGIN};

use super::*;

/// The port of an emulator.
fn port(emulator: &RunningEmulator) -> u16 {
    emulator.local_addr().port()
}

/// A pending session of `user` (with a phone) of [`APP`], and its token.
async fn pending(emulator: &RunningEmulator, user: &str) -> String {
    user_with_phone_in(emulator, APP, user).await;
    start_session(emulator, APP, user).await.1
}

async fn status_of(emulator: &RunningEmulator, token: &str) -> Status {
    emulator
        .sessions(Some(APP), None)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.session_token == token)
        .unwrap()
        .session_status
}

#[tokio::test]
async fn foreign_hosts_and_cross_site_requests_cannot_drive_the_phone() {
    let emulator = emulator().await;
    let token = pending(&emulator, "alice").await;
    let http = reqwest::Client::new();
    let approve = format!("{}/_emulator/sessions/{token}/approve", emulator.base_url());
    let p = port(&emulator);
    let evil_host = format!("evil.example:{p}");
    // A DNS-rebound page (foreign Host), a cross-site form (text/plain, foreign Origin), a
    // fetch the browser marks cross-site, an Origin on another port of localhost.
    let attacks = [
        http.post(&approve).header(HOST, &evil_host),
        http.post(&approve)
            .header("content-type", "text/plain")
            .header(ORIGIN, "http://evil.example")
            .body("{}"),
        http.post(&approve).header("sec-fetch-site", "cross-site"),
        http.post(&approve).header(ORIGIN, "http://localhost:1"),
        http.post(&approve).header(ORIGIN, "null"),
    ];
    for attack in attacks {
        let (status, text) = status_and_text(attack).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    }
    assert_eq!(status_of(&emulator, &token).await, Status::Pending);
    // The phone page and its state too.
    for path in ["/phone", "/phone/events", "/_emulator/phone", "/"] {
        let url = format!("{}{path}", emulator.base_url());
        let (status, _) = status_and_text(http.get(&url).header(HOST, &evil_host)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }

    // Its own names and same-origin requests work: `localhost`, `127.0.0.1`, the page's origin.
    let (status, text) = status_and_text(
        http.get(format!("http://localhost:{p}/_emulator/applications"))
            .header(ORIGIN, format!("http://localhost:{p}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, text) = status_and_text(
        http.post(&approve)
            .header(ORIGIN, emulator.base_url())
            .header("sec-fetch-site", "same-origin"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(status_of(&emulator, &token).await, Status::Active);
}

#[tokio::test]
async fn the_wire_api_answers_any_host() {
    let emulator = emulator().await;
    let url = format!(
        "{}/management/has_registered_mobile_device/{APP}/alice",
        emulator.base_url()
    );
    let request = signed(&reqwest::Client::new(), Method::GET, &url, APP, SECRET)
        .header(HOST, "iam-api.com")
        .header(ORIGIN, "http://evil.example");
    // Signed for another host, so refused as a bad signature (401), not by the guard (403).
    let (status, text) = status_and_text(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
}

#[tokio::test]
async fn a_named_host_is_accepted() {
    let emulator = Emulator::builder()
        .application(APP, SECRET)
        .allow_host("iampass-emulator")
        .start()
        .await
        .unwrap();
    let url = format!("{}/_emulator/applications", emulator.base_url());
    let http = reqwest::Client::new();
    let host = format!("iampass-emulator:{}", port(&emulator));
    let (status, _) = status_and_text(http.get(&url).header(HOST, host)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = status_and_text(http.get(&url).header(HOST, "other:1")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn beyond_loopback_the_control_api_wants_a_token() {
    let emulator = Emulator::builder()
        .application(APP, SECRET)
        .bind("0.0.0.0:0")
        .start()
        .await
        .unwrap();
    let token = emulator
        .control_token()
        .expect("a token is made beyond loopback")
        .expose()
        .to_owned();
    assert!(token.len() >= 32, "{token}");
    let http = reqwest::Client::new();
    let url = format!("{}/_emulator/applications", emulator.base_url());
    let (status, _) = status_and_text(http.get(&url)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = status_and_text(http.get(&url).header(AUTHORIZATION, "Bearer wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = status_and_text(
        http.get(&url)
            .header(AUTHORIZATION, format!("Bearer {token}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The phone page's state too; opened with `?token=` it keeps the token in a cookie.
    let phone = format!("{}/phone", emulator.base_url());
    let (status, _) = status_and_text(http.get(&phone)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = http
        .get(format!("{phone}?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let (status, _) = status_and_text(http.get(&url).header("cookie", pair)).await;
    assert_eq!(status, StatusCode::OK);

    // The handle sends it; the wire API needs none.
    assert_eq!(emulator.applications().await.unwrap().len(), 1);
    emulator.register_device(APP, "alice").await.unwrap();
    let management = emulator.management_api(APP).unwrap();
    assert_eq!(
        registration_of(&management, "alice").await,
        DeviceRegistration::HasMobileDevice
    );
    assert!(!format!("{emulator:?}").contains(&token));
}

#[tokio::test]
async fn on_loopback_a_given_token_is_wanted_and_none_by_default() {
    let plain = emulator().await;
    assert!(plain.control_token().is_none());
    let guarded = Emulator::builder()
        .application(APP, SECRET)
        .control_token("t0ken")
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/_emulator/stats", guarded.base_url());
    let (status, _) = status_and_text(http.get(&url)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = status_and_text(http.get(&url).header(AUTHORIZATION, "Bearer t0ken")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(guarded.stats().await.unwrap().total(), 0);
}

/// A started `iampass-emulator`, killed on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `args`; answers it, the URL of its first line, and its standard
/// error lines as they come.
fn start_binary(args: &[&str]) -> (Process, String, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(cargo_bin("iampass-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("iampass-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let (lines, receiver) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (Process(child), url, receiver)
}

/// Standard error lines until one satisfies `done` (the test fails after [`DEADLINE`]).
async fn stderr_until(
    receiver: &std::sync::mpsc::Receiver<String>,
    done: impl Fn(&str) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = tokio::task::block_in_place(|| receiver.recv_timeout(left))
            .unwrap_or_else(|_| panic!("not found in standard error:\n{}", seen.join("\n")));
        let hit = done(&line);
        seen.push(line);
        if hit {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_escapes_what_clients_send() {
    let (_process, url, stderr) = start_binary(&["--listen", "127.0.0.1:0", "--app", "a:b"]);
    let http = reqwest::Client::new();
    let forged = "evil\u{1b}[31m\nGET /management/add_users/x status=200 app=a";
    let (status, text) = status_and_text(
        http.post(format!("{url}/_emulator/applications"))
            .json(&json!({"app_id": forged, "secret": "s"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    // The application is known, so the log names it even though the call is not signed (a
    // header could not carry the id anyway).
    let (status, _) =
        status_and_text(http.post(format!("{url}/management/add_users/{}", quote_plus(forged))))
            .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let lines = stderr_until(&stderr, |l| l.contains("/management/add_users/")).await;
    let line = lines.last().unwrap();
    assert!(!lines.iter().any(|l| l.contains('\u{1b}')), "{lines:#?}");
    // The line parses: `app=` is the last field, its value one quoted, escaped string.
    let app = line
        .split_once(" app=")
        .map(|(_, app)| app)
        .unwrap_or_else(|| panic!("no app field: {line:?}"));
    let expected = format!("{forged:?}");
    assert_eq!(app, expected, "{line:?}");
    assert!(line.contains(" status=401 "), "{line:?}");
    // No line of its own was forged.
    assert!(
        !lines.iter().any(|l| l.starts_with("GET /management")),
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_warns_beyond_loopback_and_prints_a_token() {
    let (_process, url, stderr) = start_binary(&["--listen", "0.0.0.0:0", "--app", "a:b"]);
    let lines = stderr_until(&stderr, |l| l.starts_with("control API: ")).await;
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("WARNING: ") && l.contains("0.0.0.0")),
        "{lines:#?}"
    );
    let token = lines
        .iter()
        .find_map(|l| l.strip_prefix("control token: "))
        .unwrap_or_else(|| panic!("no token in {lines:#?}"))
        .to_owned();
    // Reached through loopback.
    let port = url.rsplit(':').next().unwrap();
    let control = format!("http://127.0.0.1:{port}/_emulator/applications");
    let http = reqwest::Client::new();
    let (status, _) = status_and_text(http.get(&control)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, text) = status_and_text(
        http.get(&control)
            .header(AUTHORIZATION, format!("Bearer {token}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_takes_its_token_from_the_environment() {
    let mut child = Command::new(cargo_bin("iampass-emulator"));
    child
        .args(["--listen", "127.0.0.1:0", "--app", "a:b"])
        .env("IAMPASS_EMULATOR_CONTROL_TOKEN", "from-env");
    let (process, url, stderr) = {
        // Same as start_binary, with the variable set.
        let mut spawned = child
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(spawned.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("iampass-emulator listening on ")
            .unwrap()
            .to_owned();
        let (lines, receiver) = std::sync::mpsc::channel();
        let err = spawned.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        (Process(spawned), url, receiver)
    };
    let lines = stderr_until(&stderr, |l| l.starts_with("control API: ")).await;
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("from-env") || l.starts_with("WARNING")),
        "{lines:#?}"
    );
    let http = reqwest::Client::new();
    let control = format!("{url}/_emulator/stats");
    let (status, _) = status_and_text(http.get(&control)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) =
        status_and_text(http.get(&control).header(AUTHORIZATION, "Bearer from-env")).await;
    assert_eq!(status, StatusCode::OK);
    drop(process);
}

/// A registration link names the `Host` the wire API was called with, which may be any: it
/// opens under that name (its token is the capability), unlike the rest of the phone page.
#[tokio::test]
async fn registration_links_open_under_any_host() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();
    management.add_user("alice").await.unwrap();
    let link = management
        .get_registration_link("alice", None)
        .await
        .unwrap();
    let path = link.split_once("/phone/").map(|(_, p)| p).unwrap();
    let http = reqwest::Client::new();
    let (status, text) = status_and_text(
        http.get(format!("{}/phone/{path}", emulator.base_url()))
            .header(HOST, "iampass.internal:8765"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

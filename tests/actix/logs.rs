//! What the middleware and the login routes write into an application's log, read back the way
//! an operator's tools read it: a hostile user name (or an error quoting it) stays one quoted
//! value and forges no field or line; an outage of IAMPASS is one warning, not one per request,
//! and its end is logged.
//!
//! How the log is captured: a `tracing_subscriber::fmt` subscriber (its default format, as
//! applications use it; colours off, as when writing to a file) made the default of this test's
//! thread only (`set_default`), so the other tests of this binary, running meanwhile on other
//! threads, neither see it nor write into it. The application therefore runs in-process on the
//! test's own current-thread runtime (`actix_web::test::init_service`, the real `App` with the
//! middleware and the login routes, without a socket): every request, and every task it
//! spawns, runs on this thread. Only the emulator, the IAMPASS of these tests, runs on threads
//! of its own, over real HTTP, and its log lines are not captured (nor wanted).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, test, web};
use iampass::Error;
use iampass::actix::RequireIampass;
use iampass::core::store::Rate;
use iampass::emulator::Faults;
use serde_json::{Value, json};
use tracing::subscriber::DefaultGuard;

use crate::emulator_control::*;
use crate::harness::*;

/// A hostile user name: fields of its own, an ISO timestamp and a level after a LINE
/// SEPARATOR (U+2028, a line break to many viewers), and a RIGHT-TO-LEFT OVERRIDE (U+202E).
/// (Control characters, newlines and ESC, are refused in user names before anything logs.)
const MALLORY: &str = "mallory address=Some(6.6.6.6) retry_after=0\u{2028}2026-01-01T00:00:00.000000Z \
                       ERROR iampass: forged=1 \u{202E}txt.exe";

/// What the subscriber wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The default `fmt` format at DEBUG for the crate's own events (not the emulator's),
    /// the default of this thread until the guard drops.
    fn install() -> (Captured, DefaultGuard) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_env_filter("iampass=debug,iampass::emulator=off")
            .with_writer(move || writer.clone())
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("the log is UTF-8")
    }

    /// The lines whose message is `message`.
    fn lines_with(&self, message: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(message))
            .map(str::to_owned)
            .collect()
    }

    /// The warnings, but the client's circuit breaker's (see the outage test).
    fn outage_warnings(&self) -> Vec<String> {
        self.lines_at("WARN")
            .into_iter()
            .filter(|l| !l.contains(" iampass::client::breaker: "))
            .collect()
    }

    fn lines_at(&self, level: &str) -> Vec<String> {
        let level = format!(" {level} ");
        self.text()
            .lines()
            .filter(|l| l.contains(&level))
            .map(str::to_owned)
            .collect()
    }
}

/// The `key=value` fields after `message` in a line of the default format, as a log parser
/// reads them: a value is either quoted (`"…"`, with backslash escapes) or runs to the next
/// space.
fn fields_after(line: &str, message: &str) -> Vec<(String, String)> {
    let start = line.find(message).expect("the message") + message.len();
    let mut rest = line[start..].chars().peekable();
    let mut fields = Vec::new();
    loop {
        while rest.peek() == Some(&' ') {
            rest.next();
        }
        if rest.peek().is_none() {
            return fields;
        }
        let key: String = rest.by_ref().take_while(|&c| c != '=').collect();
        assert!(
            !key.is_empty() && !key.contains(' '),
            "not a field: {key:?} in {line:?}"
        );
        let mut value = String::new();
        if rest.peek() == Some(&'"') {
            value.push(rest.next().unwrap());
            let mut escaped = false;
            for c in rest.by_ref() {
                value.push(c);
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => break,
                    _ => {}
                }
            }
        } else {
            while let Some(&c) = rest.peek()
                && c != ' '
            {
                value.push(c);
                rest.next();
            }
        }
        fields.push((key, value));
    }
}

/// A quoted value as written (Rust's `Debug` escapes), back to the text it stands for.
fn unquote(value: &str) -> String {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not quoted: {value}"));
    let mut text = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.next().expect("an escape") {
            'n' => text.push('\n'),
            'r' => text.push('\r'),
            't' => text.push('\t'),
            '0' => text.push('\0'),
            'u' => {
                assert_eq!(chars.next(), Some('{'));
                let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                text.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            other => text.push(other), // \\ \" \'
        }
    }
    text
}

fn keys(fields: &[(String, String)]) -> Vec<&str> {
    fields.iter().map(|(k, _)| k.as_str()).collect()
}

/// Nothing in the log that a terminal or a viewer would take for a line break, a direction
/// change or an escape sequence.
fn assert_no_raw_controls(log: &str) {
    for bad in ['\u{2028}', '\u{2029}', '\u{202E}', '\u{1b}', '\r', '\u{85}'] {
        assert!(!log.contains(bad), "raw {bad:?} in the log:\n{log}");
    }
    for line in log.lines() {
        assert!(
            line.get(..4)
                .is_some_and(|y| y.bytes().all(|b| b.is_ascii_digit())),
            "a line that is not an event (forged?): {line:?}\n{log}"
        );
    }
}

async fn dashboard(who: RequireIampass) -> String {
    format!("hi {}", who.user())
}

/// The application, in-process: the middleware, the login routes, a protected page.
macro_rules! app {
    ($iampass:expr) => {
        test::init_service(
            App::new()
                .wrap($iampass.middleware())
                .configure($iampass.routes())
                .route("/dashboard", web::get().to(dashboard)),
        )
        .await
    };
}

fn peer() -> std::net::SocketAddr {
    "192.0.2.7:40000".parse().unwrap()
}

/// Sends `request` (a `TestRequest`) to `app`: the status, the value of our cookie when one
/// was set, and the JSON body. (A macro: the in-process request type is not exported.)
macro_rules! call {
    ($app:expr, $iampass:expr, $request:expr) => {{
        let answer = test::call_service($app, $request.peer_addr(peer()).to_request()).await;
        let status = answer.status().as_u16();
        let cookie = answer
            .response()
            .cookies()
            .find(|c| c.name() == $iampass.cookie_name())
            .map(|c| c.value().to_owned());
        let body = test::read_body(answer).await;
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, cookie, body)
    }};
}

fn login(user: &str) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/auth/login")
        .set_json(json!({"user": user}))
}

#[actix_web::test]
async fn a_hostile_user_name_is_one_quoted_value_in_the_log() {
    let emulator = emulator().await;
    let (log, _guard) = Captured::install();
    // The application's resolver knows no such user, and says so quoting the name (and, as
    // application errors may, a line break and an escape sequence of its own).
    let iampass = builder(&emulator)
        .rate_limit_per_user(Rate::new(1, Duration::from_secs(600)))
        .user_resolver(|name: String| async move {
            Err::<String, _>(Error::InvalidArgument(format!(
                "no user named {name}\n\u{1b}[2Jlevel=ERROR forged=2"
            )))
        })
        .build()
        .unwrap();
    let app = app!(iampass);

    // A decoy login (202) or 422, as configured: not yet limited.
    let (first, _, body) = call!(&app, &iampass, login(MALLORY));
    assert_ne!(first, 429, "{body}");
    let (second, _, body) = call!(&app, &iampass, login(MALLORY));
    assert_eq!(second, 429, "{body}");

    let text = log.text();
    assert_no_raw_controls(&text);

    let message = "login start rate-limited";
    let lines = log.lines_with(message);
    assert_eq!(lines.len(), 1, "{text}");
    let fields = fields_after(&lines[0], message);
    assert_eq!(
        keys(&fields),
        ["user", "address", "retry_after"],
        "{}",
        lines[0]
    );
    assert_eq!(unquote(&fields[0].1), MALLORY, "{}", lines[0]);
    assert_eq!(fields[1].1, "Some(192.0.2.7)");
    assert!(fields[2].1.parse::<u64>().is_ok(), "{}", lines[0]);

    let message = "user resolver refused a login";
    let lines = log.lines_with(message);
    assert_eq!(lines.len(), 2, "{text}");
    for line in &lines {
        let fields = fields_after(line, message);
        assert_eq!(keys(&fields), ["error"], "{line}");
        assert_eq!(
            unquote(&fields[0].1),
            format!("invalid argument: no user named {MALLORY}\n\u{1b}[2Jlevel=ERROR forged=2"),
            "{line}"
        );
    }
}

#[actix_web::test]
async fn an_outage_is_one_warning_and_its_end_is_logged() {
    let emulator = emulator().await;
    let (log, _guard) = Captured::install();
    let iampass = builder(&emulator).build().unwrap();
    let app = app!(iampass);

    // Signed in through the login routes (a phone that approves at once).
    phone_approving_at_once(&emulator, "hank").await;
    let (status, cookie, body) = call!(&app, &iampass, login("hank"));
    assert_eq!(status, 202, "{body}");
    let mut cookie = cookie.expect("a pending cookie");
    cookie = eventually_some(DEADLINE, "the login approved", || {
        let request = test::TestRequest::get().uri("/auth/poll?wait=1").cookie(
            actix_web::cookie::Cookie::new(iampass.cookie_name().to_owned(), cookie.clone()),
        );
        let (app, iampass) = (&app, &iampass);
        async move {
            let (_, set, body) = call!(app, iampass, request);
            (body["status"] == "active").then(|| set.expect("the signed-in cookie"))
        }
    })
    .await;
    let dashboard = || {
        test::TestRequest::get()
            .uri("/dashboard")
            .cookie(actix_web::cookie::Cookie::new(
                iampass.cookie_name().to_owned(),
                cookie.clone(),
            ))
            .insert_header(("accept", "application/json"))
    };
    assert_eq!(call!(&app, &iampass, dashboard()).0, 200);
    assert!(log.lines_at("WARN").is_empty(), "{}", log.text());

    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    for _ in 0..500 {
        assert_eq!(call!(&app, &iampass, dashboard()).0, 503);
    }
    for _ in 0..20 {
        assert_eq!(call!(&app, &iampass, login("hank")).0, 503);
    }
    let warnings = log.outage_warnings();
    assert!(
        !warnings.is_empty() && warnings.len() <= 2,
        "{} warnings for 520 refusals:\n{}",
        warnings.len(),
        log.text()
    );
    assert!(
        warnings[0].contains("IAMPASS unavailable"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains(" error=\""), "{}", warnings[0]);
    // Each refusal is still there for whoever wants it, at DEBUG.
    let refusals = log.lines_with("IAMPASS unavailable: refusing (fail mode closed)");
    assert_eq!(refusals.len(), 500, "{}", log.text());
    assert!(refusals.iter().all(|l| l.contains(" DEBUG ")));

    emulator.set_faults(Faults::default()).await.unwrap();
    // The client's circuit breaker lets a probe through within a second or so.
    eventually("the dashboard after IAMPASS recovers", || async {
        call!(&app, &iampass, dashboard()).0 == 200
    })
    .await;
    let recovered = log.lines_with("IAMPASS answers again after");
    assert_eq!(recovered.len(), 1, "{}", log.text());
    assert!(recovered[0].contains(" INFO "), "{}", recovered[0]);
    // The 520 above, and those of the dashboard while the breaker still held calls back.
    let fields = fields_after(&recovered[0], "accepted on the last good status");
    assert_eq!(keys(&fields), ["refused", "stale"], "{}", recovered[0]);
    let refused: u64 = fields[0].1.parse().unwrap();
    assert!(refused >= 520, "{}", recovered[0]);
    assert!(log.outage_warnings().len() <= 2, "{}", log.text());
    // The client's circuit breaker logs each time it opens: at most once per cool-down
    // (750 ms, then longer), not per request.
    let breaker = log.lines_with("IAMPASS circuit open");
    assert!(breaker.len() <= 5, "{}", log.text());
    assert_no_raw_controls(&log.text());
}

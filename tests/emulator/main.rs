//! The emulator over real HTTP on loopback, one file per topic: the crate's own client through
//! every call (`client`), the session machine (`sessions`), the wire API's edges (`wire`), the
//! control API, faults and counters (`control`), the phone page (`phone`, `browser`), starting
//! and stopping (`server`), the binary (`binary`) and the reference Python client (`interop`).
//! The helpers only these topics share are here; the emulator, its users and the polling are
//! the fixtures of `tests/common/`.

use std::time::{Duration, Instant};

use iampass::emulator::{
    Behaviour, Emulator, Faults, RunningEmulator, SessionAction, UnknownUserAnswer,
};
use iampass::signing::{
    self, AUTHENTICATION_HEADER, TIMESTAMP_HEADER, VERSION_HEADER, VERSION_HEADER_ALT,
};
use iampass::{
    AddUserResult, AddedUsers, AuthenticationMethod, DeviceRegistration, Error, ManagementApi,
    Secret, Session, Status, quote_plus,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[path = "../common/mod.rs"]
mod common;

mod binary;
mod browser;
mod client;
mod connections;
mod control;
mod hardening;
mod interop;
mod phone;
mod server;
mod sessions;
mod wire;

use common::chromium;
use common::emulator::{
    APP, SECRET, emulator_timing_out_after, emulator_with, phone_answers, user_with_phone_in,
};
use common::emulator_control::*;
use common::eventually::{DEADLINE, eventually};

const APP2: &str = "app-2";
const SECRET2: &str = "secret-2";

/// An emulator of [`APP`] and [`APP2`].
async fn emulator() -> RunningEmulator {
    emulator_with(|b| b.application(APP2, SECRET2)).await
}

/// Polls the session's status through the wire API until it is `expected`.
async fn await_status(session: &mut Session, expected: Status) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let status = session.get_status().await.expect("status call works");
        if status == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "session stayed {status}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn start_session(emulator: &RunningEmulator, app: &str, user: &str) -> (Session, String) {
    let session = emulator
        .authentication_api(app)
        .unwrap()
        .authenticate_user(user)
        .await
        .unwrap();
    assert_eq!(session.session_status(), Status::Pending, "{session:?}");
    let token = session.session_token().unwrap().to_owned();
    (session, token)
}

/// A request signed like the reference client signs, with a chosen nonce and timestamp.
fn signed_at(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    client_id: &str,
    secret: &str,
    nonce: u64,
    timestamp: u64,
) -> reqwest::RequestBuilder {
    let url = reqwest::Url::parse(url).unwrap();
    let h = signing::sign(
        client_id,
        &Secret::new(secret),
        url.as_str(),
        nonce,
        timestamp,
    );
    http.request(method, url)
        .header(AUTHENTICATION_HEADER, h.authentication)
        .header(TIMESTAMP_HEADER, h.timestamp)
        .header(VERSION_HEADER, h.version)
        .header("Content-Type", "application/json")
}

fn signed(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    client_id: &str,
    secret: &str,
) -> reqwest::RequestBuilder {
    signed_at(
        http,
        method,
        url,
        client_id,
        secret,
        rand::random(),
        signing::unix_now(),
    )
}

/// The body of the page at `url`.
async fn get_text(http: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

/// Whether `user` has a phone, as the management API says.
async fn registration_of(management: &ManagementApi, user: &str) -> DeviceRegistration {
    management.has_registered_mobile_device(user).await.unwrap()
}

/// The response's `Content-Type`.
fn content_type(response: &reqwest::Response) -> &str {
    response.headers()["content-type"].to_str().unwrap()
}

async fn status_and_text(request: reqwest::RequestBuilder) -> (StatusCode, String) {
    let response = request.send().await.expect("request reaches the emulator");
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn control(
    http: &reqwest::Client,
    method: Method,
    url: String,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

fn http_status(result: Result<impl std::fmt::Debug, Error>) -> u16 {
    match result {
        Err(Error::Http { status, .. }) => status,
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

//! The wire API's edges: signature checks, replays, unknown things and bad input (always a
//! 4xx, never a 5xx).

use super::*;

#[tokio::test]
async fn signatures_are_verified() {
    let emulator = emulator().await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let http = reqwest::Client::new();
    let base = emulator.base_url();
    let url = format!("{base}/management/has_registered_mobile_device/{APP}/alice");
    let now = signing::unix_now();
    let ok = |request: reqwest::RequestBuilder| async move {
        let (status, text) = status_and_text(request).await;
        assert_eq!(status, StatusCode::OK, "{text}");
    };
    let unauthorized = |request: reqwest::RequestBuilder, why: &'static str| async move {
        let (status, text) = status_and_text(request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {text}");
        assert!(!text.is_empty());
    };

    // A request to `url` with these signature headers.
    let with_headers = |authentication: &str, timestamp: &str, version: &str| {
        http.get(&url)
            .header(AUTHENTICATION_HEADER, authentication)
            .header(TIMESTAMP_HEADER, timestamp)
            .header(VERSION_HEADER, version)
    };

    ok(signed(&http, Method::GET, &url, APP, SECRET)).await;
    unauthorized(
        signed(&http, Method::GET, &url, APP, "wrong"),
        "wrong secret",
    )
    .await;
    // Tampered signature.
    let u = reqwest::Url::parse(&url).unwrap();
    let h = signing::sign(APP, &Secret::new(SECRET), u.as_str(), 7, now);
    let tampered = h.authentication.replace(":7:", ":8:");
    unauthorized(with_headers(&tampered, &h.timestamp, "1"), "bad signature").await;
    // Signed for another path.
    let other = format!("{base}/management/has_registered_mobile_device/{APP}/bob");
    let h = signing::sign(
        APP,
        &Secret::new(SECRET),
        &other,
        rand::random(),
        signing::unix_now(),
    );
    unauthorized(
        with_headers(&h.authentication, &h.timestamp, "1"),
        "signed for another URL",
    )
    .await;
    // Timestamps: inside the window fine, outside refused either way.
    let signed_at_time = |timestamp| {
        signed_at(
            &http,
            Method::GET,
            &url,
            APP,
            SECRET,
            rand::random(),
            timestamp,
        )
    };
    ok(signed_at_time(now - 200)).await;
    ok(signed_at_time(now + 200)).await;
    unauthorized(signed_at_time(now - 400), "stale").await;
    unauthorized(signed_at_time(now + 400), "future").await;
    // Replay: the very same signed request twice.
    let nonce = rand::random();
    ok(signed_at(&http, Method::GET, &url, APP, SECRET, nonce, now)).await;
    unauthorized(
        signed_at(&http, Method::GET, &url, APP, SECRET, nonce, now),
        "replayed nonce",
    )
    .await;
    // Missing headers, one at a time and all (the version header may be left out: see
    // `documented_header_spellings_and_no_version_header`).
    let u = reqwest::Url::parse(&url).unwrap();
    for missing in [AUTHENTICATION_HEADER, TIMESTAMP_HEADER, "all"] {
        let h = signing::sign_now(APP, &Secret::new(SECRET), u.as_str());
        let mut request = http.get(&url);
        if missing != AUTHENTICATION_HEADER && missing != "all" {
            request = request.header(AUTHENTICATION_HEADER, h.authentication);
        }
        if missing != TIMESTAMP_HEADER && missing != "all" {
            request = request.header(TIMESTAMP_HEADER, h.timestamp);
        }
        if missing != VERSION_HEADER && missing != "all" {
            request = request.header(VERSION_HEADER, "1");
        }
        unauthorized(request, missing).await;
    }
    // Malformed header values.
    for (auth, ts, version) in [
        ("Basic abc", "0", "1"),
        ("hmac app-1:notanumber:abc", "0", "1"),
        ("hmac app-1:1:abc", "yesterday", "1"),
        ("hmac app-1:1:abc", "0", "2"),
    ] {
        unauthorized(with_headers(auth, ts, version), "malformed").await;
    }
    // The correctly spelled version header is accepted too.
    let h = signing::sign_now(APP, &Secret::new(SECRET), u.as_str());
    ok(http
        .get(&url)
        .header(AUTHENTICATION_HEADER, h.authentication)
        .header(TIMESTAMP_HEADER, h.timestamp)
        .header(VERSION_HEADER_ALT, "1"))
    .await;

    // Status and logout are signed with the session's credentials, not the application's.
    let (session, token) = start_session(&emulator, APP, "alice").await;
    let status_url = session.status_url().unwrap().to_owned();
    let secret = session.session_secret().unwrap().expose().to_owned();
    ok(signed(&http, Method::GET, &status_url, &token, &secret)).await;
    unauthorized(
        signed(&http, Method::GET, &status_url, APP, SECRET),
        "status with app credentials",
    )
    .await;
    unauthorized(
        signed(&http, Method::GET, &status_url, &token, "wrong"),
        "status with a wrong secret",
    )
    .await;
    let nonce = rand::random();
    ok(signed_at(
        &http,
        Method::GET,
        &status_url,
        &token,
        &secret,
        nonce,
        now,
    ))
    .await;
    unauthorized(
        signed_at(&http, Method::GET, &status_url, &token, &secret, nonce, now),
        "replayed status",
    )
    .await;
    let logout_url = session.logout_url().unwrap().to_owned();
    unauthorized(
        signed(&http, Method::POST, &logout_url, &token, "wrong"),
        "logout with a wrong secret",
    )
    .await;
    let (status, text) =
        status_and_text(signed(&http, Method::POST, &logout_url, &token, &secret)).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, r#"{"status":true}"#)
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn unknown_things_and_bad_input_are_4xx_never_5xx() {
    let emulator = emulator().await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let http = reqwest::Client::new();
    let base = emulator.base_url().to_owned();
    let expect = |request: reqwest::RequestBuilder, expected: u16, why: &'static str| async move {
        let (status, text) = status_and_text(request).await;
        assert_eq!(status.as_u16(), expected, "{why}: {text}");
    };
    // A request signed with the application's own credentials.
    let as_app = |method: Method, url: &str| signed(&http, method, url, APP, SECRET);

    // Unknown application and user: 404 in plain text.
    let url = format!("{base}/management/has_registered_mobile_device/nope/alice");
    expect(
        signed(&http, Method::GET, &url, "nope", "x"),
        404,
        "unknown app",
    )
    .await;
    let url = format!("{base}/management/has_registered_mobile_device/{APP}/zed");
    let response = as_app(Method::GET, &url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&response).starts_with("text/plain"));
    let url = format!("{base}/authentication/status/no-such-token");
    expect(
        signed(&http, Method::GET, &url, "no-such-token", "x"),
        404,
        "unknown session",
    )
    .await;
    expect(
        http.get(format!("{base}/management/nothing")),
        404,
        "no route",
    )
    .await;
    expect(
        as_app(Method::GET, &format!("{base}/management/add_users/{APP}")),
        405,
        "wrong method",
    )
    .await;

    // Malformed bodies: 400.
    let add = format!("{base}/management/add_users/{APP}");
    for body in [
        "",
        "{",
        "[]",
        r#"{"users": "alice"}"#,
        r#"{"users": [1, 2]}"#,
        r#"{"nobody": []}"#,
    ] {
        expect(
            as_app(Method::POST, &add).body(body),
            400,
            "malformed add_users body",
        )
        .await;
    }
    let sms = format!("{base}/management/send_registration_sms/{APP}/alice");
    for body in ["{}", r#"{"phone_number": 5}"#, "nonsense"] {
        expect(
            as_app(Method::POST, &sms).body(body),
            400,
            "malformed sms body",
        )
        .await;
    }
    let authenticate = format!("{base}/authentication/authenticate_user/{APP}/alice");
    expect(
        as_app(Method::POST, &authenticate).body("{not json"),
        400,
        "malformed authenticate body",
    )
    .await;
    // An empty body is as good as `{}`.
    expect(
        as_app(Method::POST, &authenticate),
        202,
        "authenticate without body",
    )
    .await;
    // Bad queries: 400.
    for query in [
        "methods=fingerprint",
        "methods=acceptance,retina",
        "duration_seconds=abc",
        "duration_seconds=-5",
        "duration_seconds=0",
        "duration_seconds=1.5",
        "duration_seconds=%FF",
    ] {
        expect(
            as_app(Method::POST, &format!("{authenticate}?{query}")).body("{}"),
            400,
            "bad query",
        )
        .await;
    }
    // Good queries.
    let query = "methods=acceptance,device,facial&duration_seconds=18446744073709551615";
    expect(
        as_app(Method::POST, &format!("{authenticate}?{query}")).body("{}"),
        202,
        "good query",
    )
    .await;
    // Too large a body: 413.
    let huge = format!(r#"{{"users": ["{}"]}}"#, "x".repeat(100 * 1024));
    expect(as_app(Method::POST, &add).body(huge), 413, "body too large").await;
    // A path segment that is not UTF-8.
    let url = format!("{base}/management/has_registered_mobile_device/{APP}/%FF");
    expect(as_app(Method::GET, &url), 400, "not UTF-8").await;
    // An empty user id in add_users is refused, not an error.
    let (status, text) =
        status_and_text(as_app(Method::POST, &add).body(r#"{"users": [""]}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"status": false, "reason": "INVALID_USER_ID"})
    );
    emulator.shutdown().await;
}

/// The timestamp header as IAMPASS's public documentation spells it (`hmac.rst`).
const DOCUMENTED_TIMESTAMP_HEADER: &str = "X-IAMPASS-Authentiaction-Timestamp";
/// The version header as IAMPASS's public documentation spells it (`hmac.rst`).
const DOCUMENTED_VERSION_HEADER: &str = "X-IAMPASS-Authentiaction-Version";

/// A GET of `url` signed by the application with `nonce` written as given (any decimal
/// string), carrying only the `Authentication` header: the caller adds the others.
fn signed_with_nonce(
    http: &reqwest::Client,
    url: &str,
    nonce: &str,
) -> (reqwest::RequestBuilder, String) {
    let timestamp = signing::unix_now().to_string();
    let parsed = reqwest::Url::parse(url).unwrap();
    let signature = signing::signature(
        &Secret::new(SECRET),
        nonce,
        signing::signed_part(parsed.as_str()),
        &timestamp,
    );
    let request = http.get(url).header(
        AUTHENTICATION_HEADER,
        format!("hmac {APP}:{nonce}:{signature}"),
    );
    (request, timestamp)
}

#[tokio::test]
async fn nonces_must_be_unsigned_64_bit_integers() {
    let emulator = emulator().await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/management/has_registered_mobile_device/{APP}/alice",
        emulator.base_url()
    );
    let send = |nonce: &'static str| {
        let (request, timestamp) = signed_with_nonce(&http, &url, nonce);
        status_and_text(request.header(TIMESTAMP_HEADER, timestamp))
    };
    // Correctly signed, but not a 64-bit nonce: refused.
    for too_large in ["18446744073709551616", "99999999999999999999"] {
        let (status, text) = send(too_large).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{too_large}: {text}");
        assert!(text.contains("Authentication"), "{text}");
    }
    // The largest 64-bit nonce, and one written with leading zeros, are fine.
    for fine in ["18446744073709551615", "00000000000000000042"] {
        let (status, text) = send(fine).await;
        assert_eq!(status, StatusCode::OK, "{fine}: {text}");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn documented_header_spellings_and_no_version_header() {
    let emulator = emulator().await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/management/has_registered_mobile_device/{APP}/alice",
        emulator.base_url()
    );
    let nonce = || rand::random::<u64>().to_string();
    // No version header at all.
    let (request, timestamp) = signed_with_nonce(&http, &url, &nonce());
    let (status, text) = status_and_text(request.header(TIMESTAMP_HEADER, timestamp)).await;
    assert_eq!(status, StatusCode::OK, "without a version header: {text}");
    // The documented timestamp spelling alone.
    let (request, timestamp) = signed_with_nonce(&http, &url, &nonce());
    let (status, text) =
        status_and_text(request.header(DOCUMENTED_TIMESTAMP_HEADER, timestamp)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "documented timestamp header: {text}"
    );
    // The documented version spelling is read: version 1 passes, another is refused.
    for (version, expected) in [("1", StatusCode::OK), ("2", StatusCode::UNAUTHORIZED)] {
        let (request, timestamp) = signed_with_nonce(&http, &url, &nonce());
        let request = request
            .header(DOCUMENTED_TIMESTAMP_HEADER, timestamp)
            .header(DOCUMENTED_VERSION_HEADER, version);
        let (status, text) = status_and_text(request).await;
        assert_eq!(status, expected, "documented version {version}: {text}");
    }
    // A documented timestamp that was not the one signed is still refused.
    let (request, timestamp) = signed_with_nonce(&http, &url, &nonce());
    let other = (timestamp.parse::<u64>().unwrap() - 1).to_string();
    let (status, _) = status_and_text(request.header(DOCUMENTED_TIMESTAMP_HEADER, other)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    emulator.shutdown().await;
}

#[tokio::test]
async fn unknown_users_are_answered_as_configured() {
    let default = emulator().await;
    let not_found = emulator_with(|b| b.unknown_user_answer(UnknownUserAnswer::NotFound)).await;
    let http = reqwest::Client::new();
    let authenticate = |emulator: &RunningEmulator, user: &str| {
        let url = format!(
            "{}/authentication/authenticate_user/{APP}/{}",
            emulator.base_url(),
            quote_plus(user)
        );
        status_and_text(signed(&http, Method::POST, &url, APP, SECRET).body("{}"))
    };

    // The default: 200, not started, UNKNOWN_USER.
    let (status, text) = authenticate(&default, "ghost").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["authentication_status"]["reason"], "UNKNOWN_USER");
    assert_eq!(body["authentication_status"]["authenticated"], false);

    // The documented style: 404 in plain text naming the user.
    let response = signed(
        &http,
        Method::POST,
        &format!(
            "{}/authentication/authenticate_user/{APP}/ghost+user",
            not_found.base_url()
        ),
        APP,
        SECRET,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&response).starts_with("text/plain"));
    assert_eq!(response.text().await.unwrap(), "User ghost user not found");
    // A known user without a phone is not "unknown": still 200 NO_MOBILE_DEVICE.
    not_found
        .management_api(APP)
        .unwrap()
        .add_user("carol")
        .await
        .unwrap();
    let (status, text) = authenticate(&not_found, "carol").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("NO_MOBILE_DEVICE"), "{text}");
    // And a user with a phone starts as usual.
    user_with_phone_in(&not_found, APP, "alice").await;
    let (status, text) = authenticate(&not_found, "alice").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    default.shutdown().await;
    not_found.shutdown().await;
}

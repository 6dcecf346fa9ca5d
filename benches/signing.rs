//! Signing and verifying one request, and a call refused by an open circuit breaker
//! (`cargo bench --bench signing`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use iampass::signing::{Authentication, DEFAULT_WINDOW, SignedRequest, sign, signed_part, verify};
use iampass::{AuthenticationApi, Error, Secret, Session, Status};

const URL: &str = "http://127.0.0.1:8765/authentication/status/0123456789abcdef0123456789abcdef";
const NOW: u64 = 1_700_000_000;

fn signing(c: &mut Criterion) {
    let secret = Secret::new("PAB6viBWhIh3YcwBw0gP_mgtZSrdEeks13u2Uw5sVos");
    c.bench_function("sign", |b| {
        b.iter(|| {
            sign(
                black_box("0123456789abcdef0123456789abcdef"),
                &secret,
                black_box(URL),
                black_box(18_446_744_073_709_551_615),
                black_box(NOW),
            )
        })
    });

    let headers = sign(
        "0123456789abcdef0123456789abcdef",
        &secret,
        URL,
        18_446_744_073_709_551_615,
        NOW,
    );
    let signed_url = signed_part(URL);
    c.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            let request = SignedRequest {
                authentication: Authentication::parse(black_box(&headers.authentication))
                    .expect("header parses"),
                timestamp: black_box(&headers.timestamp),
                version: Some("1"),
                signed_url: black_box(signed_url),
            };
            verify(&request, &secret, NOW, DEFAULT_WINDOW, |_, _| true)
        })
    });

    let bad = headers
        .authentication
        .replace(":18446744073709551615:", ":1:");
    c.bench_function("verify_refused", |b| {
        b.iter(|| {
            let request = SignedRequest {
                authentication: Authentication::parse(black_box(&bad)).expect("header parses"),
                timestamp: &headers.timestamp,
                version: Some("1"),
                signed_url,
            };
            verify(&request, &secret, NOW, DEFAULT_WINDOW, |_, _| true)
        })
    });
}

/// What a status call costs while IAMPASS is down and the breaker is open: no network, so the
/// middleware can answer 503 at once instead of waiting for a timeout.
fn circuit_open(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Bind then drop: nothing listens, so the first call is refused and opens the breaker.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let server = format!("http://127.0.0.1:{port}");
    let api = AuthenticationApi::builder("app", "secret")
        .server(&server)
        .circuit_breaker(1, std::time::Duration::from_secs(3600))
        .build()
        .expect("client");
    let session = api.attach(Session::new(
        "tok",
        "sec",
        format!("{server}/authentication/status/tok"),
        format!("{server}/authentication/logout/tok"),
        Status::Active,
    ));
    runtime.block_on(async {
        assert!(matches!(
            session.fetch_status().await,
            Err(Error::Connect(_))
        ));
    });
    c.bench_function("status_call_circuit_open", |b| {
        b.to_async(&runtime).iter(|| async {
            let refused = session.fetch_status().await;
            assert!(matches!(refused, Err(Error::CircuitOpen { .. })));
        })
    });
}

criterion_group!(benches, signing, circuit_open);
criterion_main!(benches);

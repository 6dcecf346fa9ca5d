//! Signing and verifying one request (`cargo bench --bench signing`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use iampass::Secret;
use iampass::signing::{Authentication, DEFAULT_WINDOW, SignedRequest, sign, signed_part, verify};

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

criterion_group!(benches, signing);
criterion_main!(benches);

//! The session cookie's cost (`cargo bench --bench cookie`): opening (base64url, AES-256-GCM
//! decrypt, postcard, checks) as the middleware does the first time it sees a cookie value,
//! sealing as a login or re-issue does, the two together, and refusing a tampered cookie.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use iampass::actix::{CookieState, Iampass, SessionCookie};
use iampass::{Session, Status};

fn payload() -> SessionCookie {
    let token = "0123456789abcdef0123456789abcdef";
    let session = Session::new(
        token,
        "PAB6viBWhIh3YcwBw0gP_mgtZSrdEeks13u2Uw5sVos",
        format!("https://iam-api.com/authentication/status/{token}"),
        format!("https://iam-api.com/authentication/logout/{token}"),
        Status::Active,
    );
    SessionCookie::new(
        session,
        "alice@example.com",
        "alice@example.com",
        CookieState::Authenticated,
        Duration::from_secs(3600),
        Some("/dashboard?tab=settings".into()),
    )
}

fn cookie(c: &mut Criterion) {
    let iampass = Iampass::builder("app-id", "app-secret")
        .server("https://iam-api.com")
        .cookie_key(&[7u8; 64])
        .cookie_old_keys(vec![vec![8u8; 64]])
        .build()
        .expect("configuration");
    // The same cookie, sealed by the old key of a two-key ring (the slower open path).
    let old_ring = Iampass::builder("app-id", "app-secret")
        .server("https://iam-api.com")
        .cookie_key(&[8u8; 64])
        .build()
        .expect("configuration");
    let payload = payload();
    let sealed = iampass.seal_cookie(&payload).expect("seals");
    let value = sealed.value().to_owned();
    let by_old_key = old_ring
        .seal_cookie(&payload)
        .expect("seals")
        .value()
        .to_owned();
    let mut tampered = value.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    println!(
        "cookie value {} bytes, Set-Cookie {} bytes",
        value.len(),
        sealed.to_string().len()
    );

    c.bench_function("cookie_open", |b| {
        b.iter(|| iampass.open_cookie(black_box(&value)).expect("opens"))
    });
    c.bench_function("cookie_seal", |b| {
        b.iter(|| iampass.seal_cookie(black_box(&payload)).expect("seals"))
    });
    c.bench_function("cookie_open_and_seal", |b| {
        b.iter(|| {
            let opened = iampass.open_cookie(black_box(&value)).expect("opens");
            iampass.seal_cookie(&opened).expect("seals")
        })
    });
    c.bench_function("cookie_open_old_key", |b| {
        b.iter(|| iampass.open_cookie(black_box(&by_old_key)).expect("opens"))
    });
    c.bench_function("cookie_refuse_tampered", |b| {
        b.iter(|| {
            iampass
                .open_cookie(black_box(&tampered))
                .expect_err("refused")
        })
    });
}

criterion_group!(benches, cookie);
criterion_main!(benches);

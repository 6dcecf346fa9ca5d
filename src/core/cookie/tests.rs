//! The cookie's tests: round trips, the deployment binding, expiry, rotation, size and a
//! mutation property (`IAMPASS_FUZZ_CASES` sets its case count).

use std::time::Duration;

use cookie::Key;
use proptest::prelude::*;

use super::*;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::signing::unix_now;
use crate::{AuthenticationMethod, Session, Status};

const SERVER: &str = "http://127.0.0.1:1";

fn key(b: u8) -> Key {
    Key::from(&[b; 64])
}

fn codec(keys: Vec<Key>) -> CookieCodec {
    CookieCodec::new("iampass".into(), true, &keys, "app", SERVER)
}

fn session(server: &str, token: &str) -> Session {
    Session::new(
        token,
        "PAB6viBWhIh3YcwBw0gP_mgtZSrdEeks13u2Uw5sVos",
        format!("{server}/authentication/status/{token}"),
        format!("{server}/authentication/logout/{token}"),
        Status::Active,
    )
}

fn payload() -> SessionCookie {
    SessionCookie::new(
        session(SERVER, "tok-123"),
        "alice",
        "alice@example",
        CookieState::Authenticated,
        Duration::from_secs(3600),
        Some("/dashboard?tab=1".into()),
    )
}

#[test]
fn round_trip_and_attributes() {
    let c = codec(vec![key(1)]);
    let sealed = c.seal(&payload()).unwrap();
    assert!(!sealed.value().contains("alice"));
    let header = sealed.to_string();
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(header.contains(attr), "{header}");
    }
    let (opened, index) = c.open(sealed.value()).unwrap();
    assert_eq!(index, 0);
    assert_eq!(opened, payload_at(&opened));
    assert_eq!(opened.user(), "alice");
    assert_eq!(opened.iampass_user_id(), "alice@example");
    assert_eq!(opened.session().session_token(), Some("tok-123"));
    assert_eq!(
        opened.session().status_url(),
        Some("http://127.0.0.1:1/authentication/status/tok-123")
    );
    assert_eq!(opened.next(), Some("/dashboard?tab=1"));
    let removal = c.removal().to_string();
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=0"] {
        assert!(removal.contains(attr), "{removal}");
    }
}

/// `payload()` with the times of `opened` (both were made within the same second or two).
fn payload_at(opened: &SessionCookie) -> SessionCookie {
    let mut p = payload();
    p.iat = opened.iat;
    p.exp = opened.exp;
    p
}

#[test]
fn other_urls_on_the_same_origin_and_failed_sessions_round_trip() {
    let c = codec(vec![key(1)]);
    let s = Session::new(
        "t",
        "s",
        "http://127.0.0.1:1/elsewhere/status?x=1",
        "http://127.0.0.1:1/elsewhere/logout",
        Status::Pending,
    );
    let p = SessionCookie::new(
        s,
        "u",
        "u",
        CookieState::Pending,
        Duration::from_secs(60),
        None,
    );
    let (opened, _) = c.open(c.seal(&p).unwrap().value()).unwrap();
    assert_eq!(opened.session(), p.session());
    assert_eq!(opened.iampass_user_id(), "u");
    let failed = SessionCookie::new(
        Session::failed_to_start(Some("NO_MOBILE_DEVICE".into())),
        "u",
        "id-of-u",
        CookieState::Pending,
        Duration::from_secs(60),
        None,
    );
    let (opened, _) = c.open(c.seal(&failed).unwrap().value()).unwrap();
    assert_eq!(opened.session(), failed.session());
    assert_eq!(opened.iampass_user_id(), "id-of-u");
}

#[test]
fn signed_in_cookie_is_compact() {
    let c = CookieCodec::new(
        "__Host-iampass".into(),
        true,
        &[key(1)],
        "app",
        "https://iam-api.com",
    );
    let p = SessionCookie::new(
        session("https://iam-api.com", "0123456789abcdef0123456789abcdef"),
        "alice@example.com",
        "alice@example.com",
        CookieState::Authenticated,
        Duration::from_secs(3600),
        Some("/dashboard?tab=settings".into()),
    );
    let sealed = c.seal(&p).unwrap();
    assert!(sealed.value().len() <= 300, "{}", sealed.value().len());
    assert!(c.open(sealed.value()).is_ok());
}

#[test]
fn opened_values_are_remembered_but_expiry_and_tampering_still_count() {
    let c = codec(vec![key(1)]);
    let sealed = c.seal(&payload()).unwrap().value().to_owned();
    let (first, _) = c.open_shared(&sealed).unwrap();
    let (again, _) = c.open_shared(&sealed).unwrap();
    assert!(Arc::ptr_eq(&first, &again), "the second open is a hit");
    let mut other = sealed.clone().into_bytes();
    other[20] = if other[20] == b'A' { b'B' } else { b'A' };
    let other = String::from_utf8(other).unwrap();
    assert_eq!(c.open_shared(&other).unwrap_err(), Rejected::Undecryptable);
    // An entry whose cookie has expired since it was opened is refused.
    let mut p = payload();
    p.exp = unix_now() + 1;
    let short = c.seal(&p).unwrap().value().to_owned();
    let digest: [u8; 32] = Sha256::digest(short.as_bytes()).into();
    p.exp = unix_now() - 1;
    c.opened.insert(digest, (Arc::new(p), 0));
    assert_eq!(c.open_shared(&short).unwrap_err(), Rejected::Expired);
    assert!(c.opened.get(&digest).is_none());
}

#[test]
fn key_ring_first_seals_all_open() {
    let old = codec(vec![key(1)]);
    let rotated = codec(vec![key(2), key(1)]);
    let new_only = codec(vec![key(2)]);
    let by_old = old.seal(&payload()).unwrap();
    assert_eq!(rotated.open(by_old.value()).unwrap().1, 1);
    assert_eq!(
        new_only.open(by_old.value()).unwrap_err(),
        Rejected::Undecryptable
    );
    let by_rotated = rotated.seal(&payload()).unwrap();
    assert!(new_only.open(by_rotated.value()).is_ok());
    assert!(old.open(by_rotated.value()).is_err());
}

#[test]
fn name_application_and_server_are_bound() {
    let a = codec(vec![key(1)]);
    let sealed = a.seal(&payload()).unwrap();
    let others = [
        CookieCodec::new("other".into(), true, &[key(1)], "app", SERVER),
        CookieCodec::new("iampass".into(), true, &[key(1)], "app-2", SERVER),
        CookieCodec::new(
            "iampass".into(),
            true,
            &[key(1)],
            "app",
            "http://127.0.0.1:2",
        ),
        CookieCodec::new(
            "iampass".into(),
            true,
            &[key(1)],
            "app",
            "https://127.0.0.1:1",
        ),
    ];
    for other in others {
        assert_eq!(
            other.open(sealed.value()).unwrap_err(),
            Rejected::Undecryptable,
            "{other:?}"
        );
    }
    // The same origin spelled differently is the same deployment.
    let same = CookieCodec::new(
        "iampass".into(),
        true,
        &[key(1)],
        "app",
        "HTTP://127.0.0.1:1/",
    );
    assert!(same.open(sealed.value()).is_ok());
}

#[test]
fn urls_on_another_origin_are_refused() {
    let c = codec(vec![key(1)]);
    for (status, logout) in [
        (
            "http://127.0.0.1:2/authentication/status/t",
            "http://127.0.0.1:1/l",
        ),
        ("http://127.0.0.1:1/s", "https://127.0.0.1:1/l"),
        ("not a url", "http://127.0.0.1:1/l"),
        ("http://127.0.0.1:1@evil.example/s", "http://127.0.0.1:1/l"),
    ] {
        let s = Session::new("t", "s", status, logout, Status::Active);
        let p = SessionCookie::new(
            s,
            "u",
            "u",
            CookieState::Authenticated,
            Duration::from_secs(60),
            None,
        );
        let sealed = c.seal(&p).unwrap();
        assert_eq!(
            c.open(sealed.value()).unwrap_err(),
            Rejected::ForeignServer,
            "{status} {logout}"
        );
    }
}

#[test]
fn expired_and_versions_refused() {
    let c = codec(vec![key(1)]);
    let mut p = payload();
    p.exp = unix_now() - 1;
    let sealed = c.seal(&p).unwrap();
    assert_eq!(c.open(sealed.value()).unwrap_err(), Rejected::Expired);
    let mut v2 = c.encode(&payload()).unwrap();
    v2[0] = 1;
    let sealed = c.encrypt(&v2).unwrap();
    assert_eq!(c.open(&sealed).unwrap_err(), Rejected::WrongVersion);
    let mut longer = c.encode(&payload()).unwrap();
    longer.push(0);
    assert_eq!(
        c.open(&c.encrypt(&longer).unwrap()).unwrap_err(),
        Rejected::Malformed
    );
    let short = c.encode(&payload()).unwrap();
    assert_eq!(
        c.open(&c.encrypt(&short[..short.len() - 3]).unwrap())
            .unwrap_err(),
        Rejected::Malformed
    );
    for raw in [&b""[..], &[FORMAT_VERSION], b"not postcard"] {
        assert!(c.open(&c.encrypt(raw).unwrap()).is_err());
    }
    assert_eq!(c.open(&"A".repeat(5000)).unwrap_err(), Rejected::Oversized);
    for garbage in ["", "x", "%%%", "AAAA", "\u{e9}\u{e9}", &"A".repeat(40)] {
        assert!(c.open(garbage).is_err(), "{garbage}");
    }
}

#[test]
fn worst_case_payload_fits() {
    let c = CookieCodec::new(
        "__Host-iampass".into(),
        true,
        &[key(1)],
        "app",
        "https://iam-api.com",
    );
    let user = "\"".repeat(256);
    let next = format!("/{}", "\"".repeat(1023));
    let session = Session::new(
        "t".repeat(64),
        "s".repeat(64),
        format!("https://iam-api.com/other/status/{}", "t".repeat(64)),
        format!("https://iam-api.com/other/logout/{}", "t".repeat(64)),
        Status::Pending,
    );
    let p = SessionCookie::new(
        session,
        user.clone(),
        user,
        CookieState::Pending,
        Duration::from_secs(3600),
        Some(next),
    );
    let cookie = c.seal(&p).unwrap();
    assert!(cookie.to_string().len() < MAX_SET_COOKIE_LEN);
}

/// Cases of the mutation property: 2 000 in the suite; a long fuzzing run sets
/// `IAMPASS_FUZZ_CASES` (e.g. 1 000 000, in release mode).
fn fuzz_cases() -> u32 {
    std::env::var("IAMPASS_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]
    #[test]
    fn mutated_cookies_are_never_accepted(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 1..6)
    ) {
        let c = codec(vec![key(7)]);
        let sealed = c.seal(&payload()).unwrap().value().to_owned();
        let mut bytes = sealed.clone().into_bytes();
        for (pos, byte, kind) in edits {
            let len = bytes.len();
            match kind {
                0 if len > 0 => { bytes[pos % len] ^= byte | 1; }
                1 if len > 0 => { bytes.remove(pos % len); }
                2 => { bytes.insert(pos % (len + 1), byte); }
                _ => { bytes.truncate(pos % (len + 1)); }
            }
        }
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        prop_assume!(mutated != sealed);
        prop_assert!(c.open(&mutated).is_err(), "accepted {mutated:?}");
    }
}

#[test]
fn factors_and_the_phone_approval_survive_the_round_trip() {
    let c = codec(vec![key(1)]);
    let phone_only = payload().with_methods(vec![AuthenticationMethod::Facial]);
    let (opened, _) = c.open(c.seal(&phone_only).unwrap().value()).unwrap();
    assert_eq!(opened.factors(), Factors::Iampass);
    assert_eq!(opened.methods(), [AuthenticationMethod::Facial]);
    assert_eq!(opened.approved_at(), Some(opened.issued_at()));
    let both = payload().with_factors(Factors::FirstFactorThenIampass);
    let (opened, _) = c.open(c.seal(&both).unwrap().value()).unwrap();
    assert!(opened.factors().has_first_factor());
    assert!(opened.methods().is_empty());
}

#[test]
fn a_deployment_that_requires_a_first_factor_refuses_a_phone_only_login() {
    let lenient = codec(vec![key(1)]);
    let mut strict = codec(vec![key(1)]);
    strict.require_first_factor = true;
    let phone_only = lenient.seal(&payload()).unwrap();
    assert_eq!(
        strict.open(phone_only.value()).unwrap_err(),
        Rejected::MissingFactor
    );
    assert!(strict.open_shared(phone_only.value()).is_err());
    let both = lenient
        .seal(&payload().with_factors(Factors::FirstFactorThenIampass))
        .unwrap();
    assert!(strict.open(both.value()).is_ok());
    // A login in progress is not an identity: its factor is checked once it is signed in.
    let pending = SessionCookie::new(
        session(SERVER, "tok-9"),
        "alice",
        "alice",
        CookieState::Pending,
        Duration::from_secs(60),
        None,
    );
    let (opened, _) = strict
        .open(lenient.seal(&pending).unwrap().value())
        .unwrap();
    assert_eq!(opened.approved_at(), None);
}

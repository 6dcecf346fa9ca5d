//! The session cookie over HTTP: key rotation, attributes and `__Host-`, the 4 KiB bound,
//! and bad or mutated cookies (anonymous, removed, never a 5xx).

use iampass::emulator::{Behaviour, SessionAction};
use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_old_keys_open_new_key_seals() {
    let emulator = emulator().await;
    let old = start_app(builder(&emulator).build().unwrap());
    let rotated = start_app(
        builder(&emulator)
            .cookie_key(&KEY2)
            .cookie_old_keys(vec![KEY.to_vec()])
            .build()
            .unwrap(),
    );
    let new_only = start_app(builder(&emulator).cookie_key(&KEY2).build().unwrap());

    // Signed in under the old key.
    let mut client = Client::new(&old);
    sign_in(&emulator, &mut client, "mia").await;
    let old_cookie = client.cookie.clone().unwrap();
    assert!(old.iampass.open_cookie(&old_cookie).is_ok());

    // Not opened where the old key was dropped: anonymous, removed.
    let mut dropped = client.to(&new_only);
    let refused = dropped.get("/dashboard").await;
    assert_eq!(refused.status, 401);
    assert!(dropped.cookie.is_none());

    // Opened by the rotated ring, and re-issued under the new key.
    let mut moved = client.to(&rotated);
    let ok = moved.get("/dashboard").await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "hi mia"));
    let reissued = moved.cookie.clone().unwrap();
    assert_ne!(reissued, old_cookie);
    assert!(new_only.iampass.open_cookie(&reissued).is_ok());
    assert!(old.iampass.open_cookie(&reissued).is_err());
    assert_eq!(moved.to(&new_only).get("/dashboard").await.body, "hi mia");

    // A pending cookie from the old key, completed on the rotated server: sealed with the new key.
    let mut pending = Client::new(&old);
    phone_answers(&emulator, "mia", Behaviour::Ignore).await;
    pending.start_login("mia", None).await;
    act_on_pending(&emulator, "mia", SessionAction::Approve).await;
    let mut finishing = pending.to(&rotated);
    assert_eq!(finishing.poll_until_done().await.json()["status"], "active");
    let fresh = finishing.cookie.clone().unwrap();
    assert!(new_only.iampass.open_cookie(&fresh).is_ok());
    assert!(old.iampass.open_cookie(&fresh).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_attributes_and_host_prefix() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "nina").await;
    let secure = start_app(builder(&emulator).cookie_secure(true).build().unwrap());
    let mut client = Client::new(&secure);
    let started = client.start_login("nina", None).await;
    let set = &started.set_cookies("iampass")[0];
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(!set.contains("Domain"), "{set}");

    let prefixed = start_app(
        builder(&emulator)
            .cookie_secure(true)
            .cookie_host_prefix(true)
            .build()
            .unwrap(),
    );
    assert_eq!(prefixed.iampass.cookie_name(), "__Host-iampass");
    let mut client = Client::new(&prefixed);
    let started = client.start_login("nina", None).await;
    let set = &started.set_cookies("__Host-iampass")[0];
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    let out = client.post_json("/auth/logout", json!({})).await;
    let removal = &out.set_cookies("__Host-iampass")[0];
    for attr in ["Secure", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=0"] {
        assert!(removal.contains(attr), "{attr} in {removal}");
    }

    let insecure = start_app(builder(&emulator).cookie_name("my_app").build().unwrap());
    let mut client = Client::new(&insecure);
    let set = &client.start_login("nina", None).await.set_cookies("my_app")[0];
    assert!(!set.contains("Secure"), "{set}");

    let refused = builder(&emulator)
        .cookie_host_prefix(true)
        .cookie_secure(false)
        .build();
    assert!(matches!(refused, Err(iampass::Error::Config(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_stays_under_4_kib_with_a_long_user_and_next() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let user = "\u{e9}".repeat(128); // 256 bytes
    assert_eq!(user.len(), 256);
    user_with_phone(&emulator, &user).await;
    let next = format!("/{}", "segment/".repeat(120)); // ~960 bytes
    let started = client.start_login(&user, Some(&next)).await;
    let set = &started.set_cookies("iampass")[0];
    assert!(set.len() < 4096, "{} bytes", set.len());
    act_on_pending(&emulator, &user, SessionAction::Approve).await;
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["redirect"], next.as_str());
    let set = &done.set_cookies("iampass")[0];
    assert!(set.len() < 4096, "{} bytes", set.len());
    assert_eq!(client.get("/dashboard").await.body, format!("hi {user}"));

    // A worst case for a text encoding (every character doubles in JSON): the compact
    // binary payload keeps `next` and stays far below the bound.
    let quotes = "\"".repeat(256);
    user_with_phone(&emulator, &quotes).await;
    let mut client = Client::new(&app);
    let next = format!("/{}", "\"".repeat(1000));
    let started = client.start_login(&quotes, Some(&next)).await;
    assert!(started.set_cookies("iampass")[0].len() < 4096);
    act_on_pending(&emulator, &quotes, SessionAction::Approve).await;
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["redirect"], next.as_str());
    assert!(done.set_cookies("iampass")[0].len() < 4096);
    assert_eq!(client.get("/dashboard").await.body, format!("hi {quotes}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cookies_are_anonymous_never_5xx() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "rita").await;
    let good = client.cookie.clone().unwrap();
    let foreign = {
        let other = builder(&emulator).cookie_key(&[99; 64]).build().unwrap();
        let payload = app.iampass.open_cookie(&good).unwrap();
        other.seal_cookie(&payload).unwrap().value().to_owned()
    };
    let mut tampered = good.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let cases = vec![
        ("tampered", String::from_utf8(tampered).unwrap()),
        ("truncated", good[..good.len() - 5].to_owned()),
        ("foreign key", foreign),
        ("oversized", "A".repeat(5000)),
        ("garbage", "not-a-cookie".to_owned()),
        ("empty", String::new()),
        ("json", "%7B%22v%22%3A1%7D".to_owned()),
    ];
    for (what, value) in cases {
        let mut c = client.clone();
        c.cookie = Some(value);
        let dash = c.get("/dashboard").await;
        assert_eq!(dash.status, 401, "{what}");
        assert_eq!(c.get("/").await.status, 200, "{what}");
        assert_eq!(c.get("/admin").await.status, 401, "{what}");
        assert_eq!(c.get("/auth/poll").await.status, 401, "{what}");
    }
    assert_eq!(client.get("/dashboard").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_cookie_mutations_over_http_are_never_accepted() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "sam").await;
    let good = client.cookie.clone().unwrap();
    let edits = proptest::collection::vec((0usize..4096, 0u8..128, 0u8..3), 1..4);
    let mut runner = TestRunner::deterministic();
    let mut tried = 0;
    while tried < 48 {
        let plan = edits.new_tree(&mut runner).unwrap().current();
        let mut bytes = good.clone().into_bytes();
        for (pos, byte, kind) in plan {
            let len = bytes.len();
            // Cookie-safe ASCII only, so the header stays valid.
            let byte = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
                [byte as usize % 65];
            match kind {
                0 => bytes[pos % len] = byte,
                1 => {
                    bytes.remove(pos % len);
                }
                _ => bytes.insert(pos % (len + 1), byte),
            }
        }
        let mutated = String::from_utf8(bytes).unwrap();
        if mutated == good {
            continue;
        }
        tried += 1;
        let mut c = client.clone();
        c.cookie = Some(mutated.clone());
        let answer = c.get("/dashboard").await;
        assert_eq!(answer.status, 401, "accepted {mutated}");
    }
}

/// An app for application `app` at `server`, with the shared test key.
fn deployment(app: &str, secret: &str, server: &str) -> iampass::actix::Iampass {
    iampass::actix::Iampass::builder(app, secret)
        .client(
            iampass::AuthenticationApi::builder(app, secret)
                .server(server)
                .build()
                .unwrap(),
        )
        .cookie_key(&KEY)
        .cookie_secure(false)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_sharing_a_key_refuse_each_others_cookies() {
    // Two applications on one IAMPASS, and the same application on a second IAMPASS; all
    // three share the cookie key and the cookie name.
    let emulator = emulator_with(|b| b.application("app-2", "secret-2")).await;
    let second = emulator_with(|b| b).await;
    let home = start_app(builder(&emulator).build().unwrap());
    let other_app = start_app(deployment("app-2", "secret-2", emulator.base_url()));
    let other_server = start_app(deployment(APP, SECRET, second.base_url()));

    let mut client = Client::new(&home);
    sign_in(&emulator, &mut client, "olga").await;
    assert_eq!(client.get("/dashboard").await.body, "hi olga");
    let cookie = client.cookie.clone().unwrap();
    assert!(other_app.iampass.open_cookie(&cookie).is_err());
    assert!(other_server.iampass.open_cookie(&cookie).is_err());

    for elsewhere in [&other_app, &other_server] {
        let mut visitor = client.to(elsewhere);
        let refused = visitor.get("/dashboard").await;
        assert_eq!(refused.status, 401, "{}", refused.body);
        assert!(visitor.cookie.is_none(), "the foreign cookie is removed");
    }
    // Still good at home.
    assert_eq!(client.get("/dashboard").await.body, "hi olga");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_naming_another_server_is_refused_without_calling_it() {
    let emulator = emulator().await;
    let elsewhere = emulator_with(|b| b).await;
    user_with_phone(&elsewhere, "pia").await;
    let session = client_for(elsewhere.base_url(), std::time::Duration::from_secs(2))
        .authenticate_user("pia")
        .await
        .unwrap();
    assert!(
        session
            .status_url()
            .unwrap()
            .starts_with(elsewhere.base_url())
    );
    let app = start_app(builder(&emulator).build().unwrap());
    // Sealed with this deployment's own key (as a login whose IAMPASS answered with URLs on
    // another server would be), so only the origin check stands in the way.
    let cookie = signed_in_cookie(&app.iampass, session, "pia");
    assert!(app.iampass.open_cookie(&cookie).is_err());
    elsewhere.reset_stats().await.unwrap();
    for path in ["/dashboard", "/admin", "/"] {
        let mut client = Client::new(&app);
        client.cookie = Some(cookie.clone());
        let answer = client.get(path).await;
        assert_ne!(answer.status, 500, "{path}");
        assert!(!answer.body.contains("pia"), "{path}: {}", answer.body);
        assert!(client.cookie.is_none(), "{path}: removed");
    }
    let mut client = Client::new(&app);
    client.cookie = Some(cookie);
    let out = client.post_json("/auth/logout", json!({})).await;
    assert!(client.cookie.is_none());
    assert_ne!(out.status, 500);
    let stats = elsewhere.stats().await.unwrap();
    assert_eq!(stats.route_count("status"), 0);
    assert_eq!(stats.route_count("logout"), 0);
}

//! Two instances of one application behind a (pretend) load balancer: two real actix
//! `HttpServer`s, each with its own `Iampass` (one cookie key) and its own `Store::redis` on
//! one real `redis-server`, against one emulator. A client moves its cookie between them.

use std::time::{Duration, Instant};

use iampass::Status;
use iampass::actix::{IampassBuilder, Revalidate};
use iampass::core::store::Rate;
use iampass::core::store::Store;
use iampass::emulator::RunningEmulator;
use serde_json::json;

use crate::common::actix_app::{Answer, Client, TestApp, builder, sign_in, start_app};
use crate::common::emulator::{APP, emulator, phone_approving_at_once, user_with_phone};
use crate::common::eventually::eventually_within;
use crate::redis_server::RedisServer;

const HOUR: Duration = Duration::from_secs(3600);
/// Each Redis call's timeout in these tests.
const STORE_TIMEOUT: Duration = Duration::from_millis(200);

/// Redis, the emulator and two instances `a` and `b` configured by `configure`.
struct Deployment {
    redis: RedisServer,
    emulator: RunningEmulator,
    a: TestApp,
    b: TestApp,
}

impl Deployment {
    /// `None` (skip) when `redis-server` is missing and not required.
    async fn start(
        test: &str,
        configure: impl Fn(IampassBuilder) -> IampassBuilder,
    ) -> Option<Deployment> {
        let redis = RedisServer::start(test)?;
        let emulator = emulator().await;
        let instance = || {
            let store = Store::redis(&redis.url())
                .unwrap()
                .timeout(STORE_TIMEOUT)
                .build();
            let iampass = configure(
                builder(&emulator)
                    .store(store)
                    .revalidate(Revalidate::After(Duration::from_secs(60))),
            )
            .build()
            .unwrap();
            start_app(iampass)
        };
        let (a, b) = (instance(), instance());
        Some(Deployment {
            redis,
            emulator,
            a,
            b,
        })
    }

    /// Polls until both instances' stores reach Redis again (they reconnect by themselves).
    async fn until_reconnected(&self) {
        crate::redis_failures::until_reconnected(&[self.a.iampass.store(), self.b.iampass.store()])
            .await;
    }
}

/// Starts a login for `user` on `app` from a fresh browser; the answer.
async fn login_start(app: &TestApp, user: &str) -> Answer {
    Client::new(app).post_login(user).await
}

/// Asserts a refused login start: `429` with a `Retry-After` of a few seconds or more.
fn assert_rate_limited(answer: &Answer) {
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert_eq!(answer.json()["error"], "rate_limited");
    let retry_after: u64 = answer.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_user_limit_holds_across_instances() {
    let Some(d) = Deployment::start("per_user_limit_across_instances", |b| {
        b.rate_limit_per_user(Rate::new(3, HOUR))
            .rate_limit_per_address(Rate::per_minute(1000))
    })
    .await
    else {
        return;
    };
    for user in ["ulla", "ute"] {
        user_with_phone(&d.emulator, user).await;
    }
    let round_trips = d.b.iampass.store().round_trips();
    for app in [&d.a, &d.b, &d.a] {
        assert_eq!(login_start(app, "ulla").await.status, 202);
    }
    // Each instance alone has room left (one or two of three); together the three are spent.
    assert_rate_limited(&login_start(&d.b, "ulla").await);
    assert_rate_limited(&login_start(&d.a, "ulla").await);
    // Another user has their own limit.
    assert_eq!(login_start(&d.b, "ute").await.status, 202);
    // A login start costs b two round trips (the address and the user limit), a refusal by
    // Redis too.
    assert_eq!(d.b.iampass.store().round_trips() - round_trips, 2 + 2 + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_cookie_is_exchanged_once_across_instances() {
    let Some(d) = Deployment::start("exchanged_once_across_instances", |b| b).await else {
        return;
    };
    phone_approving_at_once(&d.emulator, "vera").await;
    let mut browser = Client::new(&d.a);
    browser.start_login("vera", Some("/dashboard")).await;
    d.emulator
        .wait_for_session(APP, "vera", Status::Active, Duration::from_secs(10))
        .await
        .unwrap();
    // The same approved pending cookie polled on both instances at once: one exchange.
    let (mut on_a, mut on_b) = (browser.clone(), browser.to(&d.b));
    let (from_a, from_b) = tokio::join!(on_a.get("/auth/poll"), on_b.get("/auth/poll"));
    let mut answers = [(from_a, on_a), (from_b, on_b)];
    answers.sort_by_key(|(answer, _)| answer.status);
    let [(won, signed_in), (lost, _)] = answers;
    assert_eq!(
        (won.status, won.json()["status"].as_str()),
        (200, Some("active")),
        "{}",
        won.body
    );
    assert_eq!(lost.status, 409, "{}", lost.body);
    assert_eq!(lost.json()["error"], "already_exchanged");
    // Replayed later on either instance: still refused.
    for app in [&d.a, &d.b] {
        let replay = browser.to(app).get("/auth/poll").await;
        assert_eq!(replay.status, 409, "{}", replay.body);
    }
    // The signed-in cookie works on both instances.
    for app in [&d.a, &d.b] {
        assert_eq!(signed_in.to(app).get("/dashboard").await.body, "hi vera");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_refuses_the_cookie_on_the_other_within_1s() {
    let Some(d) = Deployment::start("logout_across_instances", |b| b).await else {
        return;
    };
    let mut on_a = Client::new(&d.a);
    sign_in(&d.emulator, &mut on_a, "wanda").await;
    let mut on_b = on_a.to(&d.b);
    // Both instances have seen the session active (and may cache it for 60 s).
    assert_eq!(on_a.get("/dashboard").await.body, "hi wanda");
    assert_eq!(on_b.get("/dashboard").await.body, "hi wanda");

    let out = on_a.post_json("/auth/logout", json!({})).await;
    assert_eq!((out.status, out.json()), (200, json!({"status": "closed"})));
    refused_within_1s(&on_b, Instant::now()).await;
    // And on a itself, at once.
    assert_eq!(on_b.to(&d.a).get("/dashboard").await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_login_on_one_instance_ends_the_previous_session_on_the_other_within_1s() {
    let Some(d) = Deployment::start("new_login_across_instances", |b| b).await else {
        return;
    };
    let mut browser = Client::new(&d.a);
    sign_in(&d.emulator, &mut browser, "xavier").await;
    let signed_in = browser.to(&d.b);
    assert_eq!(signed_in.clone().get("/dashboard").await.body, "hi xavier");
    // The same browser starts another login, on a: its signed-in session ends everywhere.
    browser.start_login("xavier", None).await;
    refused_within_1s(&signed_in, Instant::now()).await;
}

/// Polls `/dashboard` on `client`'s instance with its (replayed) cookie until it is refused,
/// failing if that takes longer than 1 s after `since` (plus 500 ms for a loaded machine).
async fn refused_within_1s(client: &Client, since: Instant) {
    loop {
        let replay = client.clone().get("/dashboard").await;
        if replay.status == 401 {
            return;
        }
        assert_eq!(replay.status, 200, "{}", replay.body);
        assert!(
            since.elapsed() < Duration::from_millis(1500),
            "the other instance still accepts the ended session's cookie {:?} later",
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_run_falls_back_to_local_limits_and_is_shared_again_after_restart() {
    let Some(mut d) = Deployment::start("redis_stopped_mid_run_instances", |b| {
        b.rate_limit_per_user(Rate::new(2, HOUR))
            .rate_limit_per_address(Rate::per_minute(1000))
    })
    .await
    else {
        return;
    };
    for user in ["wil", "xena"] {
        user_with_phone(&d.emulator, user).await;
    }
    let mut zoe = Client::new(&d.a);
    sign_in(&d.emulator, &mut zoe, "zoe").await;
    assert_eq!(login_start(&d.a, "wil").await.status, 202);
    phone_approving_at_once(&d.emulator, "yann").await;
    let mut yann = Client::new(&d.b);
    yann.start_login("yann", Some("/dashboard")).await;
    d.emulator
        .wait_for_session(APP, "yann", Status::Active, Duration::from_secs(10))
        .await
        .unwrap();

    d.redis.stop();
    // Limits: each instance's own limiter decides (a has one left, b two), never a 5xx.
    assert_eq!(login_start(&d.a, "wil").await.status, 202);
    assert_rate_limited(&login_start(&d.a, "wil").await);
    assert_eq!(login_start(&d.b, "wil").await.status, 202);
    assert_eq!(login_start(&d.b, "wil").await.status, 202);
    assert_rate_limited(&login_start(&d.b, "wil").await);
    // A signed-in user is still served on both instances (the shared cache is a miss).
    for app in [&d.a, &d.b] {
        let answer = zoe.to(app).get("/dashboard").await;
        assert_eq!((answer.status, answer.body.as_str()), (200, "hi zoe"));
    }
    // The exchange fails closed without a 5xx: an approved login still reads as pending
    // (Retry-After), no cookie is issued.
    let waiting = yann.to(&d.a).get("/auth/poll").await;
    assert_eq!(waiting.status, 200, "{}", waiting.body);
    assert_eq!(waiting.json()["status"], "pending");
    assert_eq!(waiting.json()["error"], "store_unavailable");
    assert_eq!(waiting.header("retry-after"), Some("2"));
    assert!(waiting.set_cookies(&yann.cookie_name).is_empty());
    // A logout still succeeds (the store's failure is only logged).
    let out = zoe.to(&d.b).post_json("/auth/logout", json!({})).await;
    assert_eq!((out.status, out.json()), (200, json!({"status": "closed"})));

    // A long poll on b keeps trying the exchange while Redis is down...
    let round_trips = d.b.iampass.store().round_trips();
    let mut poller = yann.clone();
    let long_poll = tokio::spawn(async move {
        let answer = poller.get("/auth/poll?wait=20").await;
        (answer, poller)
    });
    // (Three failed calls: at least two are exchange attempts, one every 400 ms.)
    eventually_within(Duration::from_secs(5), "b tries the exchange", || async {
        d.b.iampass.store().round_trips() >= round_trips + 3
    })
    .await;
    // ...and completes it once Redis is back.
    d.redis.restart();
    let (done, mut yann_signed_in) = long_poll.await.unwrap();
    assert_eq!(
        (done.status, done.json()["status"].as_str()),
        (200, Some("active")),
        "{}",
        done.body
    );
    assert_eq!(yann_signed_in.get("/dashboard").await.body, "hi yann");
    d.until_reconnected().await;
    assert_eq!(yann.to(&d.a).get("/auth/poll").await.status, 409);
    // The limit is shared again: b's own limiter has room, Redis refuses what a took.
    assert_eq!(login_start(&d.a, "xena").await.status, 202);
    assert_eq!(login_start(&d.a, "xena").await.status, 202);
    assert_rate_limited(&login_start(&d.b, "xena").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_up_on_one_instance_is_seen_by_the_other() {
    let Some(d) = Deployment::start("step_up_across_instances", |b| {
        b.step_up_methods([iampass::AuthenticationMethod::Facial])
    })
    .await
    else {
        return;
    };
    let mut on_a = Client::new(&d.a);
    sign_in(&d.emulator, &mut on_a, "stefan").await;
    let old = on_a.clone();
    // The login was not facial: both instances ask for a step-up.
    for app in [&d.a, &d.b] {
        let stale = on_a.to(app).get("/recent").await;
        assert_eq!(stale.status, 401, "{}", stale.body);
        assert_eq!(stale.json()["error"], "step_up_required");
    }
    // Started on a, its approval polled on b (the browser moved).
    let started = on_a.post_json("/auth/step-up", json!({})).await;
    assert_eq!(started.status, 202, "{}", started.body);
    let mut on_b = on_a.to(&d.b);
    let done = on_b.poll_until_done().await;
    assert_eq!(done.json()["status"], "active", "{}", done.body);
    // The pending step-up is exchanged once: replayed on a, refused.
    let replay = on_a.get("/auth/poll").await;
    assert_eq!(replay.status, 409, "{}", replay.body);
    // The new proof opens on both instances.
    for app in [&d.a, &d.b] {
        let recent = on_b.to(app).get("/recent").await;
        assert_eq!(recent.status, 200, "{}", recent.body);
    }
    // The old session was ended: its cookie is refused at once where the step-up completed,
    // and within a second on the other instance (revoked through Redis, although each
    // instance caches status answers for a minute).
    let since = Instant::now();
    assert_eq!(old.to(&d.b).get("/dashboard").await.status, 401);
    refused_within_1s(&old.to(&d.a), since).await;
}

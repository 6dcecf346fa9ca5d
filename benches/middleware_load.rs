//! Throughput of the actix-web integration under load, in one run
//! (`cargo bench --bench middleware_load`): the emulator as IAMPASS and a real actix server on
//! loopback with an unprotected and a protected route; a bounded in-process load generator
//! (N concurrent keep-alive clients for a fixed time per scenario, in interleaved rounds) measures requests per second of:
//!
//! 1. the unprotected route (the middleware opens the cookie, nothing is asked of IAMPASS);
//! 2. the protected route validating on every request (concurrent requests of one session
//!    share one status call);
//! 3. the protected route with `revalidate_after(5 s)`.
//!
//! Knobs (environment): `IAMPASS_BENCH_SECS` (per scenario and round, default 3),
//! `IAMPASS_BENCH_ROUNDS` (interleaved rounds, the median counts; default 3),
//! `IAMPASS_BENCH_CONCURRENCY` (default 32), `IAMPASS_BENCH_SESSIONS` (distinct signed-in
//! users the clients share, default 16), `IAMPASS_BENCH_WORKERS` (actix workers of the app
//! and of the emulator, default 1).

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use iampass::actix::{Iampass, IampassBuilder, RequireIampass, Revalidate};
use iampass::emulator::{Behaviour, Emulator, RunningEmulator};
use serde_json::json;

#[path = "common/load.rs"]
mod load;

const APP: &str = "bench-app";
const SECRET: &str = "bench-secret";

struct Server {
    url: String,
    iampass: Iampass,
    handle: actix_web::dev::ServerHandle,
}

fn start(iampass: Iampass, workers: usize) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app_iampass = iampass.clone();
    let server = HttpServer::new(move || {
        let iampass = app_iampass.clone();
        App::new()
            .wrap(iampass.middleware())
            .configure(iampass.routes())
            .route("/public", web::get().to(|| async { "public" }))
            .route(
                "/protected",
                web::get().to(|who: RequireIampass| async move { format!("hi {}", who.user()) }),
            )
    })
    .workers(workers)
    .disable_signals()
    .backlog(1024)
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Server {
        url,
        iampass,
        handle,
    }
}

fn builder(emulator: &RunningEmulator) -> IampassBuilder {
    Iampass::builder(APP, SECRET)
        .server(emulator.base_url())
        .cookie_key(&[5u8; 64])
        .cookie_secure(false)
        .rate_limit_per_user(None)
        .rate_limit_per_address(None)
}

/// Signs `user` in through the real handlers; answers the cookie header value.
async fn sign_in(http: &reqwest::Client, server: &Server, user: &str) -> String {
    let started = http
        .post(format!("{}/auth/login", server.url))
        .json(&json!({"user": user}))
        .send()
        .await
        .expect("login");
    assert_eq!(started.status(), 202);
    let name = server.iampass.cookie_name().to_owned();
    let cookie_of = |response: &reqwest::Response| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
    };
    let pending = cookie_of(&started).expect("pending cookie");
    let done = http
        .get(format!("{}/auth/poll?wait=5", server.url))
        .header("cookie", &pending)
        .send()
        .await
        .expect("poll");
    cookie_of(&done).expect("signed-in cookie")
}

/// `concurrency` clients send `GET url` with the cookies in turn for `duration`; answers
/// (requests per second, errors).
async fn load(url: &str, cookies: &[String], concurrency: usize, duration: Duration) -> (f64, u64) {
    let (url, cookies) = (url.to_owned(), cookies.to_vec());
    let run = load::drive(concurrency, duration, move |task, http| {
        http.get(&url)
            .header("cookie", &cookies[task % cookies.len()])
    })
    .await;
    (run.rate(), run.errors)
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; this harness has no options of its own.
    let secs = load::knob("IAMPASS_BENCH_SECS", 3);
    let rounds = load::knob("IAMPASS_BENCH_ROUNDS", 3).max(1);
    let concurrency = load::knob("IAMPASS_BENCH_CONCURRENCY", 32) as usize;
    let sessions = load::knob("IAMPASS_BENCH_SESSIONS", 16).max(1) as usize;
    let workers = load::knob("IAMPASS_BENCH_WORKERS", 1) as usize;
    let duration = Duration::from_secs(secs);

    let emulator = Emulator::builder()
        .application(APP, SECRET)
        .bind("127.0.0.1:0")
        .workers(workers)
        .start()
        .await
        .expect("emulator");
    let every = start(builder(&emulator).build().expect("config"), workers);
    let cached = start(
        builder(&emulator)
            .revalidate(Revalidate::After(Duration::from_secs(5)))
            .build()
            .expect("config"),
        workers,
    );
    let http = reqwest::Client::new();
    let mut every_cookies = Vec::new();
    let mut cached_cookies = Vec::new();
    for i in 0..sessions {
        let user = format!("user-{i}");
        emulator.register_device(APP, &user).await.expect("device");
        emulator
            .set_behaviour(
                APP,
                &user,
                Behaviour::Approve {
                    after: Duration::ZERO,
                },
            )
            .await
            .expect("behaviour");
        every_cookies.push(sign_in(&http, &every, &user).await);
        cached_cookies.push(sign_in(&http, &cached, &user).await);
    }

    println!(
        "middleware_load: {concurrency} concurrent clients, {sessions} sessions, {secs} s per \
         scenario and round, {rounds} rounds, {workers} actix worker(s) for the app and for \
         the emulator"
    );
    // Warm-up of connections and caches.
    load(
        &format!("{}/public", every.url),
        &every_cookies,
        concurrency,
        Duration::from_millis(500),
    )
    .await;

    let scenarios = [
        (
            "unprotected (cookie opened, no IAMPASS call)",
            format!("{}/public", every.url),
            &every_cookies,
        ),
        (
            "protected, validate every request",
            format!("{}/protected", every.url),
            &every_cookies,
        ),
        (
            "protected, revalidate_after(5 s)",
            format!("{}/protected", cached.url),
            &cached_cookies,
        ),
    ];
    // Rounds interleave the scenarios so that noise from a shared machine hits them alike;
    // the median round counts.
    let mut rates = vec![Vec::new(); scenarios.len()];
    let mut calls = vec![0u64; scenarios.len()];
    let mut errors = vec![0u64; scenarios.len()];
    for _ in 0..rounds {
        for (i, (_, url, cookies)) in scenarios.iter().enumerate() {
            emulator.reset_stats().await.expect("stats");
            let (rps, failed) = load(url, cookies, concurrency, duration).await;
            calls[i] += emulator.stats().await.expect("stats").route_count("status");
            errors[i] += failed;
            rates[i].push(rps);
        }
    }
    let mut results = Vec::new();
    for (i, (name, _, _)) in scenarios.iter().enumerate() {
        let median = load::median(&rates[i]);
        let total_secs = (secs * rounds) as f64;
        println!(
            "{name:<46} {median:>9.0} req/s (rounds: {})   errors {:>4}   IAMPASS status calls {:>8.1}/s",
            rates[i]
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            errors[i],
            calls[i] as f64 / total_secs
        );
        results.push(median);
    }
    println!(
        "ratios (medians): protected/unprotected every-request {:.3}, revalidate_after(5 s) {:.3}; \
         revalidate_after/every-request {:.2}x",
        results[1] / results[0],
        results[2] / results[0],
        results[2] / results[1]
    );
    every.handle.stop(false).await;
    cached.handle.stop(false).await;
    emulator.shutdown().await;
}

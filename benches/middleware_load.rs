//! Throughput of the actix-web and axum integrations under load, in one run
//! (`cargo bench --bench middleware_load`): the emulator as IAMPASS, and real actix and axum
//! servers on loopback (one worker each) answering the same handler body, measured side by
//! side by a
//! bounded in-process load generator (N concurrent keep-alive clients for a fixed time per
//! scenario, in interleaved rounds; the median round counts):
//!
//! 1. a bare route, no middleware at all (the baseline);
//! 2. actix-session (`CookieSessionStore`, private cookie) + actix-identity, `Identity`
//!    extractor (the usual actix session stack);
//! 3. ours, middleware present, identity not asked (a public page);
//! 4. ours, `RequireIampass`, `Revalidate::After(5 s)`;
//! 5. ours, `RequireIampass`, validating every request (concurrent requests of one session
//!    share one status call);
//! 6. with `--features redis` and `redis-server` installed: ours, `Revalidate::After(5 s)`
//!    with the status cache in a real Redis (started on a free port), and its Redis round
//!    trips per request;
//! 7. axum (`middleware_load/axum.rs`): a bare axum route; `tower-sessions` (in-memory store)
//!    and `axum-login`, `AuthSession` extractor (the usual axum session stack); ours,
//!    `IampassLayer` with `RequireIampass`, `Revalidate::After(5 s)` and every request. Its
//!    "x bare" and "x stack" columns are against the axum bare route and the axum stack.
//!
//! Besides req/s it prints p50/p99 latency and the CPU time the app's own worker thread spent
//! per request (the emulator and the load generator run on other threads), and its user-space
//! part (the rest is the kernel's: sockets and wake-ups), so the extra CPU of a validation is
//! "every request" minus "bare": taken per round (each pair ran on the same machine moments
//! apart), the median of the rounds counts.
//!
//! Knobs (environment): `IAMPASS_BENCH_SECS` (per scenario and round, default 3),
//! `IAMPASS_BENCH_ROUNDS` (interleaved rounds, default 3), `IAMPASS_BENCH_CONCURRENCY`
//! (default 32), `IAMPASS_BENCH_SESSIONS` (distinct signed-in users the clients share,
//! default 16), `IAMPASS_BENCH_WORKERS` (actix workers of each app and of the emulator,
//! default 1), `IAMPASS_BENCH_MEMORY_SESSIONS` (default 0: off; e.g. 100000 measures the
//! resident memory of that many cached sessions, with the emulator in a child process),
//! `IAMPASS_BENCH_ONLY` (default: all; e.g. `every` runs the bare routes and the scenarios
//! whose name contains it, for a profiler; `axum` the axum section), `IAMPASS_BENCH_METRICS`
//! (`1`, with `--features metrics`: a Prometheus recorder records what the crate counts, for
//! the cost of feature `metrics`; compare with the same run without the feature).

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::time::Duration;

use actix_identity::{Identity, IdentityMiddleware};
use actix_session::SessionMiddleware;
use actix_session::config::CookieContentSecurity;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use iampass::actix::{Iampass, IampassBuilder, RequireIampass, Revalidate};

#[path = "common/load.rs"]
mod load;

#[path = "middleware_load/axum.rs"]
mod axum_section;
#[path = "middleware_load/memory.rs"]
mod memory;

#[cfg(feature = "redis")]
#[allow(dead_code)] // the bench uses only start and url
#[path = "../tests/store/redis_server.rs"]
mod redis_server;

const APP: &str = "bench-app";
const SECRET: &str = "bench-secret";
/// The one handler body every route answers (the user's name, or a fixed one).
fn body(user: &str) -> String {
    format!("hi {user}")
}

struct Server {
    url: String,
    stop: Stop,
    /// The ids of the server's worker threads.
    threads: HashSet<u32>,
}

/// How a server is stopped.
enum Stop {
    Actix(actix_web::dev::ServerHandle),
    /// Ends the axum server's graceful shutdown (and its runtime's thread).
    Axum(tokio::sync::oneshot::Sender<()>),
}

impl Server {
    async fn stop(self) {
        match self.stop {
            Stop::Actix(handle) => handle.stop(false).await,
            Stop::Axum(stop) => {
                let _ = stop.send(());
            }
        }
    }
}

/// One row: its name, the URL loaded, the cookies sent in turn, and the server (whose
/// threads' CPU time is counted).
type Scenario<'a> = (&'a str, String, &'a [String], &'a Server);

/// The scenarios' own stacks, for the "x stack" column.
const STACKS: [&str; 2] = ["actix-session", "axum-login"];

/// Starts an app (`HttpServer::new`'s factory) on a loopback port with `workers` worker
/// threads, noting which threads are its own. A macro: `App`'s type is unnameable.
macro_rules! serve {
    ($workers:expr, $factory:expr) => {{
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let before = load::thread_ids();
        let server = HttpServer::new($factory)
            .workers($workers)
            .disable_signals()
            .backlog(1024)
            .listen(listener)
            .expect("listen")
            .run();
        let handle = server.handle();
        tokio::spawn(server);
        let threads = load::new_threads(&before, load::ACTIX_WORKER, $workers).await;
        Server {
            url,
            stop: Stop::Actix(handle),
            threads,
        }
    }};
}

async fn bare(workers: usize) -> Server {
    serve!(workers, || {
        App::new().route("/hello", web::get().to(|| async { body("user") }))
    })
}

/// actix-session (private cookie, in the cookie itself) + actix-identity.
async fn session_stack(workers: usize) -> Server {
    let key = Key::from(&[6u8; 64]);
    serve!(workers, move || {
        App::new()
            .wrap(IdentityMiddleware::default())
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                    .cookie_content_security(CookieContentSecurity::Private)
                    .cookie_secure(false)
                    .build(),
            )
            .route(
                "/login/{user}",
                web::post().to(|req: HttpRequest, user: web::Path<String>| async move {
                    Identity::login(&req.extensions(), user.into_inner()).expect("login");
                    HttpResponse::Ok().finish()
                }),
            )
            .route(
                "/protected",
                web::get().to(|who: Identity| async move { body(&who.id().unwrap_or_default()) }),
            )
    })
}

async fn ours(iampass: Iampass, workers: usize) -> Server {
    serve!(workers, move || {
        let iampass = iampass.clone();
        App::new()
            .wrap(iampass.middleware())
            .configure(iampass.routes())
            .route("/public", web::get().to(|| async { body("user") }))
            .route(
                "/protected",
                web::get().to(|who: RequireIampass| async move { body(who.user()) }),
            )
    })
}

fn builder(server: &str) -> IampassBuilder {
    Iampass::builder(APP, SECRET)
        .server(server)
        .cookie_key(&[5u8; 64])
        .cookie_secure(false)
        .rate_limit_per_user(None)
        .rate_limit_per_address(None)
}

/// Signs `user` in with actix-identity; answers the cookie header value.
async fn sign_in_session_stack(http: &reqwest::Client, server: &Server, user: &str) -> String {
    let done = http
        .post(format!("{}/login/{user}", server.url))
        .send()
        .await
        .expect("login");
    load::cookie_of(&done, "id").expect("actix-session cookie")
}

#[derive(Clone, Copy)]
struct Measured {
    rate: f64,
    errors: u64,
    p50: Duration,
    p99: Duration,
    /// CPU time of the app's worker thread(s) per successful request.
    cpu_per_request: Duration,
    /// The part of it spent in user space (the rest is the kernel's: sockets, wake-ups).
    user_per_request: Duration,
    /// Successful requests.
    requests: u64,
}

/// `concurrency` clients send `GET url` with the cookies in turn for `duration`.
async fn load(
    url: &str,
    cookies: &[String],
    threads: &HashSet<u32>,
    concurrency: usize,
    duration: Duration,
) -> Measured {
    let (url, cookies) = (url.to_owned(), cookies.to_vec());
    let cpu = |snapshot: &HashMap<u32, u64>| -> u64 {
        threads.iter().filter_map(|t| snapshot.get(t)).sum()
    };
    let ticks = |snapshot: &HashMap<u32, (u64, u64)>| -> (u64, u64) {
        threads
            .iter()
            .filter_map(|t| snapshot.get(t))
            .fold((0, 0), |(u, s), (user, system)| (u + user, s + system))
    };
    let cpu_before = cpu(&load::thread_cpu());
    let ticks_before = ticks(&load::thread_ticks());
    let run = load::drive(concurrency, duration, move |task, http| {
        let request = http.get(&url);
        if cookies.is_empty() {
            request
        } else {
            request.header("cookie", &cookies[task % cookies.len()])
        }
    })
    .await;
    let cpu_used = cpu(&load::thread_cpu()).saturating_sub(cpu_before);
    let ticks_after = ticks(&load::thread_ticks());
    let (user, system) = (
        ticks_after.0.saturating_sub(ticks_before.0),
        ticks_after.1.saturating_sub(ticks_before.1),
    );
    let user_share = user as f64 / (user + system).max(1) as f64;
    let cpu_per_request = Duration::from_nanos(cpu_used / run.ok.max(1));
    Measured {
        rate: run.rate(),
        errors: run.errors,
        p50: run.p50,
        p99: run.p99,
        cpu_per_request,
        user_per_request: cpu_per_request.mul_f64(user_share),
        requests: run.ok,
    }
}

/// The middle one of some values (after sorting by `key`).
fn median_by<T: Clone>(values: &[T], key: impl Fn(&T) -> f64) -> T {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| key(a).total_cmp(&key(b)));
    sorted[sorted.len() / 2].clone()
}

/// `IAMPASS_BENCH_METRICS=1`: installs a Prometheus recorder (feature `metrics`).
fn metrics_recorder() {
    if std::env::var("IAMPASS_BENCH_METRICS").as_deref() != Ok("1") {
        return;
    }
    #[cfg(feature = "metrics")]
    {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("a Prometheus recorder");
        println!("metrics: recorded by a Prometheus recorder (IAMPASS_BENCH_METRICS=1)");
    }
    #[cfg(not(feature = "metrics"))]
    panic!("IAMPASS_BENCH_METRICS=1 needs `--features metrics`");
}

#[tokio::main]
async fn main() {
    if std::env::var("IAMPASS_BENCH_ROLE").as_deref() == Ok("emulator") {
        return memory::emulator_child().await;
    }
    // `cargo bench` passes `--bench`; this harness has no options of its own.
    metrics_recorder();
    let secs = load::knob("IAMPASS_BENCH_SECS", 3);
    let rounds = load::knob("IAMPASS_BENCH_ROUNDS", 3).max(1);
    let concurrency = load::knob("IAMPASS_BENCH_CONCURRENCY", 32) as usize;
    let sessions = load::knob("IAMPASS_BENCH_SESSIONS", 16).max(1) as usize;
    let workers = load::knob("IAMPASS_BENCH_WORKERS", 1) as usize;
    let memory_sessions = load::knob("IAMPASS_BENCH_MEMORY_SESSIONS", 0) as usize;
    if memory_sessions > 0 {
        return memory::memory(memory_sessions, concurrency).await;
    }
    let duration = Duration::from_secs(secs);

    let emulator = load::emulator(APP, SECRET, workers).await;
    let bare = bare(workers).await;
    let stack = session_stack(workers).await;
    let every = ours(
        builder(emulator.base_url()).build().expect("config"),
        workers,
    )
    .await;
    let cached = ours(
        builder(emulator.base_url())
            .revalidate(Revalidate::After(Duration::from_secs(5)))
            .build()
            .expect("config"),
        workers,
    )
    .await;
    // `revalidate_after` with the status cache shared in a real Redis (feature `redis` and
    // `redis-server` installed; otherwise the row is left out).
    #[cfg(feature = "redis")]
    let redis = redis_server::RedisServer::start("middleware_load");
    #[cfg(feature = "redis")]
    let shared = match &redis {
        Some(redis) => {
            let store = iampass::core::store::Store::redis(&redis.url())
                .expect("redis URL")
                .build();
            let server = ours(
                builder(emulator.base_url())
                    .revalidate(Revalidate::After(Duration::from_secs(5)))
                    .store(store.clone())
                    .build()
                    .expect("config"),
                workers,
            )
            .await;
            Some((server, store))
        }
        None => None,
    };
    #[cfg(not(feature = "redis"))]
    let shared: Option<(Server, iampass::core::store::Store)> = None;
    let http = reqwest::Client::new();
    let (mut every_cookies, mut cached_cookies, mut stack_cookies, mut shared_cookies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let users: Vec<String> = (0..sessions).map(|i| format!("user-{i}")).collect();
    for user in &users {
        load::approving_phone(&emulator, APP, user).await;
    }
    for user in &users {
        every_cookies.push(load::sign_in(&http, &every.url, "iampass", user).await);
        cached_cookies.push(load::sign_in(&http, &cached.url, "iampass", user).await);
        stack_cookies.push(sign_in_session_stack(&http, &stack, user).await);
        if let Some((server, _)) = &shared {
            shared_cookies.push(load::sign_in(&http, &server.url, "iampass", user).await);
        }
    }
    let axum =
        axum_section::AxumSection::start(|| builder(emulator.base_url()), &users, workers).await;
    let value_len = |c: &String| c.split_once('=').map_or(0, |(_, v)| v.len());
    println!(
        "middleware_load: {concurrency} concurrent clients, {sessions} sessions, {secs} s per \
         scenario and round, {rounds} rounds, {workers} worker(s) per app (actix workers, or \
         axum runtime threads) and actix worker(s) for the emulator; cookie values: ours {} bytes, actix-session {} bytes",
        value_len(&every_cookies[0]),
        value_len(&stack_cookies[0]),
    );

    let none: Vec<String> = Vec::new();
    let mut scenarios: Vec<Scenario> = vec![
        (
            "bare route, no middleware",
            format!("{}/hello", bare.url),
            &none,
            &bare,
        ),
        (
            "actix-session (private) + actix-identity",
            format!("{}/protected", stack.url),
            &stack_cookies,
            &stack,
        ),
        (
            "ours, middleware present, identity not asked",
            format!("{}/public", cached.url),
            &cached_cookies,
            &cached,
        ),
        (
            "ours, RequireIampass, revalidate_after(5 s)",
            format!("{}/protected", cached.url),
            &cached_cookies,
            &cached,
        ),
        (
            "ours, RequireIampass, every request",
            format!("{}/protected", every.url),
            &every_cookies,
            &every,
        ),
    ];
    if let Some((server, _)) = &shared {
        scenarios.push((
            "ours, RequireIampass, revalidate_after(5 s), Redis",
            format!("{}/protected", server.url),
            &shared_cookies,
            server,
        ));
    }
    scenarios.extend(axum.scenarios());
    // `IAMPASS_BENCH_ONLY=every` keeps the bare routes and the scenarios whose name contains
    // it (for profiling one of them); `axum` the axum section.
    if let Ok(only) = std::env::var("IAMPASS_BENCH_ONLY") {
        scenarios.retain(|(name, ..)| name.contains("bare route") || name.contains(only.as_str()));
    }
    let round_trips = || shared.as_ref().map_or(0, |(_, store)| store.round_trips());
    let mut trips = vec![0u64; scenarios.len()];
    let mut requests = vec![0u64; scenarios.len()];
    // Warm-up of connections and caches.
    for (_, url, cookies, server) in &scenarios {
        load(
            url,
            cookies,
            &server.threads,
            concurrency,
            Duration::from_millis(300),
        )
        .await;
    }
    // Rounds interleave the scenarios so that noise from a shared machine hits them alike.
    let mut runs: Vec<Vec<Measured>> = (0..scenarios.len()).map(|_| Vec::new()).collect();
    let mut calls = vec![0u64; scenarios.len()];
    for _ in 0..rounds {
        for (i, (_, url, cookies, server)) in scenarios.iter().enumerate() {
            emulator.reset_stats().await.expect("stats");
            let trips_before = round_trips();
            let run = load(url, cookies, &server.threads, concurrency, duration).await;
            trips[i] += round_trips() - trips_before;
            requests[i] += run.requests;
            runs[i].push(run);
            calls[i] += emulator.stats().await.expect("stats").route_count("status");
        }
    }
    let total_secs = (secs * rounds) as f64;
    let medians: Vec<Measured> = runs.iter().map(|r| median_by(r, |m| m.rate)).collect();
    // Each section's rows against its own bare route and its own session stack.
    let section_of = |name: &str| {
        if name.starts_with("axum: ") {
            "axum: "
        } else {
            ""
        }
    };
    let row_in = |section: &str, part: &str| {
        scenarios
            .iter()
            .position(|(name, ..)| section_of(name) == section && name.contains(part))
    };
    let rate_in =
        |section: &str, part: &str| row_in(section, part).map_or(f64::NAN, |i| medians[i].rate);
    println!(
        "{:<52} {:>9} {:>7} {:>7} {:>8} {:>8} {:>10} {:>11} {:>9} {:>10}  rounds (req/s)",
        "scenario",
        "req/s",
        "x bare",
        "x stack",
        "p50 us",
        "p99 us",
        "CPU us/req",
        "user us/req",
        "IAMPASS/s",
        "Redis/req"
    );
    for (i, (name, _, _, _)) in scenarios.iter().enumerate() {
        let m = &medians[i];
        let section = section_of(name);
        let bare_rate = rate_in(section, "bare route");
        let stack_rate = STACKS
            .iter()
            .map(|stack| rate_in(section, stack))
            .find(|rate| !rate.is_nan())
            .unwrap_or(f64::NAN);
        let errors: u64 = runs[i].iter().map(|r| r.errors).sum();
        println!(
            "{name:<52} {:>9.0} {:>7.3} {:>7.3} {:>8} {:>8} {:>10.2} {:>11.2} {:>9.1} {:>10.4}  {} errors {errors}",
            m.rate,
            m.rate / bare_rate,
            m.rate / stack_rate,
            m.p50.as_micros(),
            m.p99.as_micros(),
            m.cpu_per_request.as_nanos() as f64 / 1000.0,
            m.user_per_request.as_nanos() as f64 / 1000.0,
            calls[i] as f64 / total_secs,
            trips[i] as f64 / requests[i].max(1) as f64,
            runs[i]
                .iter()
                .map(|r| format!("{:.0}", r.rate))
                .collect::<Vec<_>>()
                .join(" / "),
        );
    }
    // Per round, every request minus bare (the rounds interleave, so each pair saw the same
    // machine); the median of the rounds counts. The user-space part is what the code costs;
    // the rest is the kernel's loopback TCP and wake-ups.
    let micros = |d: Duration| d.as_nanos() as f64 / 1000.0;
    for section in ["", "axum: "] {
        if let (Some(every), Some(bare)) = (
            row_in(section, "every request"),
            row_in(section, "bare route"),
        ) {
            let pairs = runs[every].iter().zip(&runs[bare]);
            let total: Vec<f64> = pairs
                .clone()
                .map(|(e, b)| micros(e.cpu_per_request) - micros(b.cpu_per_request))
                .collect();
            let user: Vec<f64> = pairs
                .map(|(e, b)| micros(e.user_per_request) - micros(b.user_per_request))
                .collect();
            let show = |values: &[f64]| {
                values
                    .iter()
                    .map(|v| format!("{v:.1}"))
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            println!(
                "{section}own CPU per validation (every request minus bare, app worker thread, \
                 median of rounds): {:.2} us, of which user space {:.2} us (rounds: {}; user {})",
                median_by(&total, |v| *v),
                median_by(&user, |v| *v),
                show(&total),
                show(&user),
            );
        }
    }
    drop(scenarios);
    for server in [bare, stack, every, cached] {
        server.stop().await;
    }
    if let Some((server, _)) = shared {
        server.stop().await;
    }
    axum.stop().await;
    emulator.shutdown().await;
}

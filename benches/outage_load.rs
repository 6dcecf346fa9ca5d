//! What an IAMPASS outage does to an app (`cargo bench --features actix,emulator --bench
//! outage_load`). The bench process runs the emulator as IAMPASS and the load generator; the
//! app under test runs alone in a child process (this binary again, `IAMPASS_BENCH_ROLE=app`),
//! so that its memory and its connections to IAMPASS are measured apart from the other two.
//! The app is a real actix server (one worker) whose `/dashboard` is protected by
//! `RequireIampass` with the default configuration (every request validated, fail closed; only
//! the cookie key and `cookie_secure(false)` for plain HTTP are set), with the crate's login
//! handlers and two bench-only routes: `GET /_bench/rss` (its resident memory once freed heap
//! went back to the OS) and `GET /_bench/circuit` (its client's circuit breaker: `closed`,
//! `open` or `half-open`). `IAMPASS_BENCH_SESSIONS` users sign in through the real handlers,
//! then `IAMPASS_BENCH_CONCURRENCY` keep-alive clients load `/dashboard` (client `i` carries
//! the cookie of user `i mod sessions`) while the emulator's faults (`PUT /_emulator/faults`)
//! play the phases of an outage:
//!
//! 1. normal;
//! 2. IAMPASS answers 503;
//! 3. IAMPASS black-holed (`latency_ms` 600 000): the first seconds, until the app's circuit
//!    breaker has opened, and then a steady phase with the breaker open;
//! 4. IAMPASS back: time to the first 200 and until ≥ 99 % of the answers are 200s;
//! 5. IAMPASS answers 408 for `IAMPASS_BENCH_STORM_SECS`, then 429 as long: the users signed
//!    out (a cookie deleted during the storm, or a 401 once IAMPASS is healthy again);
//! 6. a burst of `IAMPASS_BENCH_BURST` new client connections at once, each with a session of
//!    its own (started by the bench, cookies sealed with the app's key): how many connections
//!    to IAMPASS the app had open at once.
//!
//! Each phase prints one Markdown table row: answers by status (`0`: no answer), the 503
//! share, p50/p99/max latency of all answers, the app's resident memory (`VmRSS`: at the end
//! of the phase after `malloc_trim`, from `/_bench/rss` / highest sample, from
//! `/proc/<pid>/status`) and the app's established connections to the emulator's port
//! (highest sample / end of phase; told apart from the bench's own by the socket inodes the
//! app process holds), sampled every 10 ms by a thread of the bench.
//!
//! Knobs (environment, inherited by the app): `IAMPASS_BENCH_SECS` (steady phases, default
//! 4), `IAMPASS_BENCH_STORM_SECS` (default 3), `IAMPASS_BENCH_CONCURRENCY` (default 32),
//! `IAMPASS_BENCH_SESSIONS` (default 16), `IAMPASS_BENCH_BURST` (default 1000),
//! `IAMPASS_BENCH_WORKERS` (actix workers of the app and of the emulator, default 1).
//! The default run takes about a minute.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use iampass::actix::{Iampass, RequireIampass};
use iampass::emulator::Faults;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "common/load.rs"]
#[allow(dead_code)] // `drive` and the CPU helpers are for the other benches
mod load;

use load::Recorded;

const APP: &str = "bench-app";
const SECRET: &str = "bench-secret";
const COOKIE: &str = "iampass";
/// The app's cookie key: the bench seals the burst's cookies with it too.
const COOKIE_KEY: [u8; 64] = [5; 64];
/// The app's role and where it finds IAMPASS (the emulator in the bench process).
const ROLE_APP: &str = "app";
const EMULATOR_URL_VAR: &str = "IAMPASS_BENCH_EMULATOR";
/// The black hole: the longest latency the emulator accepts.
const BLACK_HOLE: Duration = Duration::from_secs(600);
const MIB: f64 = 1024.0 * 1024.0;

/// The app's configuration: the default one, with only the cookie key and plain-HTTP cookies
/// set. The app serves with it; the bench builds it too, only to seal cookies the app opens.
fn config(server: &str) -> Iampass {
    Iampass::builder(APP, SECRET)
        .server(server)
        .cookie_key(&COOKIE_KEY)
        .cookie_secure(false)
        .build()
        .expect("config")
}

/// The highest connection count and resident memory of the app process seen since the last
/// [`Sampler::take`].
struct Sampler {
    /// The app's process.
    pid: u32,
    /// The emulator's port.
    port: u16,
    conns: AtomicU64,
    rss: AtomicU64,
    stop: AtomicBool,
}

impl Sampler {
    fn start(pid: u32, port: u16) -> Arc<Sampler> {
        let sampler = Arc::new(Sampler {
            pid,
            port,
            conns: AtomicU64::new(0),
            rss: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let s = sampler.clone();
        std::thread::spawn(move || {
            while !s.stop.load(Ordering::Relaxed) {
                s.conns.fetch_max(s.conns_now(), Ordering::Relaxed);
                s.rss
                    .fetch_max(load::resident_bytes_of(s.pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        sampler
    }

    /// The app's established connections to IAMPASS now.
    fn conns_now(&self) -> u64 {
        load::established_from_to(self.pid, self.port)
    }

    /// `(highest connections, highest resident bytes)` since the last call; starts afresh.
    fn take(&self) -> (u64, u64) {
        (
            self.conns.swap(self.conns_now(), Ordering::Relaxed),
            self.rss
                .swap(load::resident_bytes_of(self.pid), Ordering::Relaxed),
        )
    }
}

/// The bench-only routes of the app in its child process.
#[derive(Clone)]
struct BenchRoutes {
    http: reqwest::Client,
    app: String,
}

impl BenchRoutes {
    /// The app's resident memory after `malloc_trim`.
    async fn rss(&self) -> u64 {
        self.get("/_bench/rss").await.parse().expect("RSS in bytes")
    }

    /// The app's circuit breaker: `closed`, `open` or `half-open`.
    async fn circuit(&self) -> String {
        self.get("/_bench/circuit").await
    }

    async fn get(&self, path: &str) -> String {
        let answer = self
            .http
            .get(format!("{}{path}", self.app))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.text().await.expect(path)
    }
}

/// One phase's figures.
struct Row {
    statuses: BTreeMap<u16, u64>,
    total: u64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    rss_end: u64,
    rss_max: u64,
    conns_max: u64,
    conns_end: u64,
}

impl Row {
    async fn of(
        latencies_and_statuses: impl Iterator<Item = (Duration, u16)>,
        sampler: &Sampler,
        bench: &BenchRoutes,
    ) -> Row {
        let mut statuses = BTreeMap::new();
        let mut latencies = Vec::new();
        for (latency, status) in latencies_and_statuses {
            *statuses.entry(status).or_insert(0) += 1;
            latencies.push(latency);
        }
        latencies.sort_unstable();
        let at = |q: f64| {
            let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
            latencies.get(i).copied().unwrap_or_default()
        };
        let (conns_max, rss_max) = sampler.take();
        Row {
            total: latencies.len() as u64,
            statuses,
            p50: at(0.50),
            p99: at(0.99),
            max: latencies.last().copied().unwrap_or_default(),
            rss_end: bench.rss().await,
            rss_max,
            conns_max,
            conns_end: sampler.conns_now(),
        }
    }

    fn share(&self, status: u16) -> f64 {
        self.statuses.get(&status).copied().unwrap_or(0) as f64 / self.total.max(1) as f64
    }

    fn print(&self, phase: &str) {
        let answers = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "| {phase} | {answers} | {:.3} | {} / {} / {} | {:.1} / {:.1} | {} / {} |",
            self.share(503),
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.rss_end as f64 / MIB,
            self.rss_max as f64 / MIB,
            self.conns_max,
            self.conns_end,
        );
    }
}

/// A duration in milliseconds for the table (one decimal below 10 ms).
fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// The app's resident memory once freed heap pages went back to the OS (glibc keeps them
/// otherwise, and the freed buffers of past answers would read as growth).
fn live_rss() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's arenas.
    unsafe {
        libc::malloc_trim(0);
    }
    load::resident_bytes()
}

async fn row(answers: &[Recorded], sampler: &Sampler, bench: &BenchRoutes) -> Row {
    Row::of(
        answers.iter().map(|a| (a.latency, a.status)),
        sampler,
        bench,
    )
    .await
}

/// `true` if `response` deletes the session cookie.
fn deletes_cookie(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with(&format!("{COOKIE}=")))
        .any(|v| v.starts_with(&format!("{COOKIE}=;")) || v.contains("Max-Age=0"))
}

fn faults(status: u16) -> Faults {
    Faults {
        error_rate: 1.0,
        error_status: status,
        ..Faults::default()
    }
}

/// Loads `url` with the cookies (client `i` carries cookie `i mod n`) until `stop(elapsed)`.
async fn load_until(
    url: &str,
    cookies: &[String],
    concurrency: usize,
    stop: impl Fn(Duration) -> bool + Send + Sync + 'static,
) -> Vec<Recorded> {
    let (url, cookies) = (url.to_owned(), cookies.to_vec());
    load::drive_recorded(
        concurrency,
        stop,
        move |task, http| {
            http.get(&url)
                .header("accept", "application/json")
                .header("cookie", &cookies[task % cookies.len()])
        },
        deletes_cookie,
    )
    .await
    .0
}

/// Waits (bounded) until `url` answers something other than 503 for every cookie; answers
/// the indexes of the cookies then refused (a 401: signed out).
async fn refused_once_healthy(http: &reqwest::Client, url: &str, cookies: &[String]) -> Vec<usize> {
    let mut refused = Vec::new();
    for (i, cookie) in cookies.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let status = http
                .get(url)
                .header("accept", "application/json")
                .header("cookie", cookie)
                .send()
                .await
                .map_or(0, |r| r.status().as_u16());
            if status == 200 {
                break;
            }
            if status != 503 || Instant::now() > deadline {
                refused.push(i);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    refused
}

/// Time from the start of `answers`' run to the first 200, and to the point after which at
/// least 99 % of the answers completed are 200s.
fn recovery(answers: &[Recorded]) -> (Option<Duration>, Option<Duration>) {
    let mut by_done: Vec<(Duration, bool)> = answers
        .iter()
        .map(|a| (a.done(), a.status == 200))
        .collect();
    by_done.sort_unstable_by_key(|(done, _)| *done);
    let first = by_done.iter().find(|(_, ok)| *ok).map(|(done, _)| *done);
    // Scan from the end: the earliest completion from which on the share of 200s holds.
    let (mut ok, mut all) = (0u64, 0u64);
    let mut steady = None;
    for (done, good) in by_done.iter().rev() {
        all += 1;
        ok += u64::from(*good);
        if ok as f64 >= 0.99 * all as f64 && *good {
            steady = Some(*done);
        }
    }
    (first, steady)
}

/// One request per new connection (`Connection: close`), all at once; answers
/// `(latency, status)` of each (status 0: no answer).
async fn burst(addr: SocketAddr, cookies: &[String]) -> Vec<(Duration, u16)> {
    let start = Arc::new(tokio::sync::Barrier::new(cookies.len()));
    let mut tasks = tokio::task::JoinSet::new();
    for cookie in cookies {
        let request = format!(
            "GET /dashboard HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n\
             Cookie: {cookie}\r\nConnection: close\r\n\r\n"
        );
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            let sent = Instant::now();
            let status = async {
                let mut stream = TcpStream::connect(addr).await.ok()?;
                stream.write_all(request.as_bytes()).await.ok()?;
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer).await.ok()?;
                let head = std::str::from_utf8(answer.get(..12)?).ok()?;
                head.strip_prefix("HTTP/1.1 ")?.parse::<u16>().ok()
            }
            .await
            .unwrap_or(0);
            (sent.elapsed(), status)
        });
    }
    tasks.join_all().await
}

/// The app under test: `/dashboard` behind `RequireIampass`, the crate's handlers and the
/// bench-only routes, on a free loopback port. Answers its URL.
fn serve(iampass: Iampass, workers: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = HttpServer::new(move || {
        let api = iampass.authentication_api().clone();
        App::new()
            .wrap(iampass.middleware())
            .configure(iampass.routes())
            .route(
                "/dashboard",
                web::get().to(|who: RequireIampass| async move { format!("hi {}", who.user()) }),
            )
            .route(
                "/_bench/rss",
                web::get().to(|| async { live_rss().to_string() }),
            )
            .route(
                "/_bench/circuit",
                web::get().to(move || {
                    let state = api.circuit_state();
                    async move { state.as_str() }
                }),
            )
    })
    .workers(workers)
    .disable_signals()
    .backlog(4096)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    format!("http://{addr}")
}

/// The child process: serves the app against the emulator named in the environment, prints
/// its URL, and runs until the bench kills it or closes its standard input.
async fn app_child() {
    let emulator = std::env::var(EMULATOR_URL_VAR).expect("the emulator's URL");
    let workers = load::knob("IAMPASS_BENCH_WORKERS", 1).max(1) as usize;
    let url = serve(config(&emulator), workers);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{url}").expect("stdout");
    out.flush().expect("stdout");
    drop(out);
    load::parent_gone().await;
    // Calls into a black-holed IAMPASS may still be out: do not wait for them.
    std::process::exit(0);
}

#[tokio::main]
async fn main() {
    if std::env::var("IAMPASS_BENCH_ROLE").as_deref() == Ok(ROLE_APP) {
        return app_child().await;
    }
    // `cargo bench` passes `--bench`; this harness has no options of its own.
    let secs = Duration::from_secs(load::knob("IAMPASS_BENCH_SECS", 4).max(1));
    let storm = Duration::from_secs(load::knob("IAMPASS_BENCH_STORM_SECS", 3).max(1));
    let concurrency = load::knob("IAMPASS_BENCH_CONCURRENCY", 32).max(1) as usize;
    let sessions = load::knob("IAMPASS_BENCH_SESSIONS", 16).max(1) as usize;
    let burst_size = load::knob("IAMPASS_BENCH_BURST", 1000) as usize;
    let workers = load::knob("IAMPASS_BENCH_WORKERS", 1).max(1) as usize;

    let emulator = load::emulator(APP, SECRET, workers).await;
    // The app in a process of its own; killed when `child` is dropped, a panic included.
    let child = load::ChildRole::spawn(ROLE_APP, &[(EMULATOR_URL_VAR, emulator.base_url())]);
    let app = child.url.clone();
    let app_addr: SocketAddr = app
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .expect("the app's URL");
    let url = format!("{app}/dashboard");
    let http = reqwest::Client::new();
    let bench = BenchRoutes {
        http: http.clone(),
        app: app.clone(),
    };

    let mut cookies = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let user = format!("user-{i}");
        load::approving_phone(&emulator, APP, &user).await;
        cookies.push(load::sign_in(&http, &app, COOKIE, &user).await);
    }
    // The burst's sessions: one each, started here and sealed with the app's key (signing in
    // 1 000 users through the handlers would only measure the login rate limits). This
    // configuration never serves.
    let sealer = config(emulator.base_url());
    let api = sealer.authentication_api().clone();
    load::approving_phone(&emulator, APP, "burst").await;
    let mut burst_cookies = Vec::with_capacity(burst_size);
    for _ in 0..burst_size {
        let session = api.authenticate_user("burst").await.expect("session");
        burst_cookies.push(load::sealed_cookie(&sealer, session, "burst"));
    }
    let sampler = Sampler::start(child.pid(), emulator.local_addr().port());
    // Warm-up of connections, caches and the allocator.
    load_until(&url, &cookies, concurrency, |t| {
        t > Duration::from_millis(500)
    })
    .await;
    sampler.take();

    println!(
        "outage_load: {concurrency} concurrent clients on /dashboard, {sessions} signed-in \
         users, default configuration (every request validated, fail closed; request timeout \
         {:?}), {} s steady phases, {} s storms, {workers} actix worker(s) for the app and for \
         the emulator; the app alone in a child process (pid {}): memory and connections are \
         its own",
        iampass::actix::defaults::DEFAULT_REQUEST_TIMEOUT,
        secs.as_secs(),
        storm.as_secs(),
        child.pid(),
    );
    println!();
    println!(
        "| IAMPASS | answers | 503 share | latency p50 / p99 / max | app RSS MiB end / max | \
         app's IAMPASS conns max / end |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");

    // 1. Normal.
    let normal = row(
        &load_until(&url, &cookies, concurrency, move |t| t > secs).await,
        &sampler,
        &bench,
    )
    .await;
    normal.print("normal");

    // 2. IAMPASS answers 503.
    emulator.set_faults(faults(503)).await.expect("faults");
    row(
        &load_until(&url, &cookies, concurrency, move |t| t > secs).await,
        &sampler,
        &bench,
    )
    .await
    .print("answers 503");
    // Let the breaker close again before the next phase.
    emulator
        .set_faults(Faults::default())
        .await
        .expect("faults");
    load_until(&url, &cookies, concurrency, |t| t > Duration::from_secs(2)).await;

    // 3. Black-holed: until the app's breaker opens (bounded), then steady with it open.
    emulator
        .set_faults(Faults {
            latency: BLACK_HOLE,
            ..Faults::default()
        })
        .await
        .expect("faults");
    let opened = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn({
        let (bench, opened) = (bench.clone(), opened.clone());
        async move {
            while bench.circuit().await == "closed" {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            opened.store(true, Ordering::Relaxed);
        }
    });
    let first = load_until(&url, &cookies, concurrency, {
        let opened = opened.clone();
        move |t| t > Duration::from_secs(60) || opened.load(Ordering::Relaxed)
    })
    .await;
    watcher.abort();
    let opened_after = first.iter().map(Recorded::done).max().unwrap_or_default();
    row(&first, &sampler, &bench).await.print(&format!(
        "black-holed, first {:.1} s (until the breaker opened)",
        opened_after.as_secs_f64()
    ));
    let holed = row(
        &load_until(&url, &cookies, concurrency, move |t| t > secs).await,
        &sampler,
        &bench,
    )
    .await;
    holed.print("black-holed, breaker open");

    // 4. IAMPASS back.
    emulator
        .set_faults(Faults::default())
        .await
        .expect("faults");
    let back = load_until(&url, &cookies, concurrency, move |t| t > secs).await;
    let (first_200, steady_200) = recovery(&back);
    row(&back, &sampler, &bench).await.print("back (recovery)");

    // 5. 408 and 429 storms.
    let mut signed_out = Vec::new();
    for status in [408, 429] {
        emulator.set_faults(faults(status)).await.expect("faults");
        let answers = load_until(&url, &cookies, concurrency, move |t| t > storm).await;
        emulator
            .set_faults(Faults::default())
            .await
            .expect("faults");
        let mut out: BTreeSet<usize> = answers
            .iter()
            .filter(|a| a.flagged)
            .map(|a| a.task % sessions)
            .collect();
        out.extend(refused_once_healthy(&http, &url, &cookies).await);
        row(&answers, &sampler, &bench).await.print(&format!(
            "answers {status} for {} s ({} of {sessions} users signed out)",
            storm.as_secs(),
            out.len()
        ));
        signed_out.push((status, out.len()));
    }

    // 6. A burst of new connections, each with a session of its own.
    sampler.take();
    let rss_before_burst = bench.rss().await;
    let burst_row = Row::of(
        burst(app_addr, &burst_cookies).await.into_iter(),
        &sampler,
        &bench,
    )
    .await;
    burst_row.print(&format!("healthy, burst of {burst_size} new connections"));

    let cap = iampass::client::DEFAULT_MAX_CONCURRENT_REQUESTS;
    println!();
    println!("Targets (issue 15):");
    println!(
        "- black-holed, breaker open: p99 {} (target <= 50 ms); app RSS {:.1} MiB vs {:.1} MiB \
         normal ({:+.1} %, target within 10 %)",
        ms(holed.p99),
        holed.rss_end as f64 / MIB,
        normal.rss_end as f64 / MIB,
        (holed.rss_end as f64 / normal.rss_end.max(1) as f64 - 1.0) * 100.0,
    );
    let show = |d: Option<Duration>| d.map_or("never".to_owned(), ms);
    println!(
        "- recovery: first 200 after {}, >= 99 % 200s from {} after IAMPASS answered again \
         (target <= 1 s)",
        show(first_200),
        show(steady_200),
    );
    for (status, out) in signed_out {
        println!("- {status} storm: {out} users signed out (target 0)");
    }
    println!(
        "- burst: at most {} of the app's connections to IAMPASS open at once, {} after (cap \
         {cap}); app RSS {:.1} MiB before, {:.1} MiB after",
        burst_row.conns_max,
        burst_row.conns_end,
        rss_before_burst as f64 / MIB,
        burst_row.rss_end as f64 / MIB,
    );
    sampler.stop.store(true, Ordering::Relaxed);
    drop(child);
    // The black-holed calls still sleep in the emulator: do not wait for them.
    std::process::exit(0);
}

//! Throughput of the emulator's signed status route beside a bare actix-web "hello" route,
//! both over loopback in the same process (`cargo bench --bench emulator_load`).
//!
//! A bounded in-process load generator (`LOAD_CONCURRENCY` tasks sharing one HTTP client)
//! drives each server for `LOAD_SECONDS` per round, the two routes interleaved over
//! `LOAD_ROUNDS` rounds after a short warm-up, then prints the median requests per second and
//! the ratio. Every status request is freshly signed (new nonce), as a real client's would be.
//! Defaults: `LOAD_SECONDS=3`, `LOAD_ROUNDS=3`, `LOAD_CONCURRENCY=32`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use iampass::emulator::{Emulator, SessionAction};
use iampass::signing::{AUTHENTICATION_HEADER, TIMESTAMP_HEADER, VERSION_HEADER, sign_now};
use iampass::{Secret, Status};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one request needs: a URL, and optionally credentials to sign it with.
#[derive(Clone)]
struct Target {
    url: reqwest::Url,
    signer: Option<(String, Secret)>,
}

/// Runs `concurrency` request loops against `target` for `duration`; answers (ok, errors).
async fn drive(target: Target, concurrency: usize, duration: Duration) -> (u64, u64) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client builds");
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, target, ok, errors, stop) = (
            http.clone(),
            target.clone(),
            ok.clone(),
            errors.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let mut request = http.get(target.url.clone());
                if let Some((id, secret)) = &target.signer {
                    let h = sign_now(id, secret, target.url.as_str());
                    request = request
                        .header(AUTHENTICATION_HEADER, h.authentication)
                        .header(TIMESTAMP_HEADER, h.timestamp)
                        .header(VERSION_HEADER, h.version);
                }
                let good = match request.send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let counter = if good { &ok } else { &errors };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    (ok.load(Ordering::Relaxed), errors.load(Ordering::Relaxed))
}

/// One measured run; answers requests per second.
async fn measure(name: &str, target: Target, concurrency: usize, seconds: u64) -> f64 {
    let started = Instant::now();
    let (ok, errors) = drive(target, concurrency, Duration::from_secs(seconds)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let rate = ok as f64 / elapsed;
    println!("  {name:<30} {ok:>9} ok {errors:>5} errors in {elapsed:>5.2} s = {rate:>9.0} req/s");
    assert_eq!(errors, 0, "{name}: requests failed");
    rate
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let seconds = env_or("LOAD_SECONDS", 3);
    let rounds = env_or("LOAD_ROUNDS", 3).max(1);
    let concurrency = env_or("LOAD_CONCURRENCY", 32) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let emulator = Emulator::builder()
            .application("bench", "bench-secret")
            .workers(2)
            .start()
            .await
            .expect("emulator starts");
        emulator
            .management_api("bench")
            .unwrap()
            .add_user("alice")
            .await
            .unwrap();
        emulator.register_device("bench", "alice").await.unwrap();
        let session = emulator
            .authentication_api("bench")
            .unwrap()
            .authenticate_user("alice")
            .await
            .unwrap();
        let token = session.session_token().unwrap().to_owned();
        let status = emulator
            .session_action(&token, SessionAction::Approve)
            .await
            .unwrap();
        assert_eq!(status, Status::Active);
        let status_target = Target {
            url: reqwest::Url::parse(session.status_url().unwrap()).unwrap(),
            signer: Some((token, session.session_secret().unwrap().clone())),
        };

        let hello =
            HttpServer::new(|| App::new().route("/hello", web::get().to(|| async { "hello" })))
                .workers(2)
                .disable_signals()
                .bind("127.0.0.1:0")
                .expect("hello server binds");
        let hello_addr = hello.addrs()[0];
        let hello = hello.run();
        let hello_handle = hello.handle();
        tokio::spawn(hello);
        let hello_target = Target {
            url: reqwest::Url::parse(&format!("http://{hello_addr}/hello")).unwrap(),
            signer: None,
        };

        println!(
            "emulator_load: {concurrency} concurrent clients, {seconds} s per route and round, \
             {rounds} rounds, servers with 2 workers each, {} CPUs",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        // Warm both up, then interleave the routes over the rounds; the median round counts.
        drive(
            status_target.clone(),
            concurrency,
            Duration::from_millis(500),
        )
        .await;
        drive(
            hello_target.clone(),
            concurrency,
            Duration::from_millis(500),
        )
        .await;
        emulator.reset_stats().await.unwrap();
        let (mut status_rates, mut hello_rates) = (Vec::new(), Vec::new());
        for round in 1..=rounds {
            println!("round {round}/{rounds}");
            status_rates.push(
                measure(
                    "emulator GET status (signed)",
                    status_target.clone(),
                    concurrency,
                    seconds,
                )
                .await,
            );
            hello_rates.push(
                measure(
                    "actix GET /hello (bare)",
                    hello_target.clone(),
                    concurrency,
                    seconds,
                )
                .await,
            );
        }
        let counted = emulator.stats().await.unwrap().route_count("status");
        let (status_rate, hello_rate) = (median(status_rates), median(hello_rates));
        println!("median emulator GET status (signed): {status_rate:>9.0} req/s");
        println!("median actix GET /hello (bare):      {hello_rate:>9.0} req/s");
        println!(
            "ratio status/hello: {:.2}  (the emulator counted {counted} status requests)",
            status_rate / hello_rate
        );
        hello_handle.stop(false).await;
        emulator.shutdown().await;
    });
}

//! Throughput of the emulator's signed status route beside a bare actix-web "hello" route,
//! both over loopback in the same process (`cargo bench --bench emulator_load`).
//!
//! The bounded in-process load generator of `benches/common/load.rs`
//! (`IAMPASS_BENCH_CONCURRENCY` tasks, each with its own keep-alive client) drives each server
//! for `IAMPASS_BENCH_SECS` per round, the two routes interleaved over `IAMPASS_BENCH_ROUNDS`
//! rounds after a short warm-up, then prints the median requests per second and the ratio.
//! Every status request is freshly signed (new nonce), as a real client's would be.
//! Defaults: 3 s, 3 rounds, 32 tasks.

use std::time::Duration;

use actix_web::{App, HttpServer, web};
use iampass::emulator::{Emulator, SessionAction};
use iampass::signing::{AUTHENTICATION_HEADER, TIMESTAMP_HEADER, VERSION_HEADER, sign_now};
use iampass::{Secret, Status};

#[path = "common/load.rs"]
mod load;

/// What one request needs: a URL, and optionally credentials to sign it with.
#[derive(Clone)]
struct Target {
    url: reqwest::Url,
    signer: Option<(String, Secret)>,
}

impl Target {
    /// A `GET`, freshly signed (new nonce) when the target has credentials.
    fn request(&self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        let request = http.get(self.url.clone());
        match &self.signer {
            Some((id, secret)) => {
                let h = sign_now(id, secret, self.url.as_str());
                request
                    .header(AUTHENTICATION_HEADER, h.authentication)
                    .header(TIMESTAMP_HEADER, h.timestamp)
                    .header(VERSION_HEADER, h.version)
            }
            None => request,
        }
    }
}

/// Drives `target` for `duration` with `concurrency` clients.
async fn drive(target: &Target, concurrency: usize, duration: Duration) -> load::Run {
    let target = target.clone();
    load::drive(concurrency, duration, move |_, http| target.request(http)).await
}

/// One measured run; answers requests per second.
async fn measure(name: &str, target: &Target, concurrency: usize, seconds: u64) -> f64 {
    let run = drive(target, concurrency, Duration::from_secs(seconds)).await;
    let (ok, errors, elapsed, rate) = (run.ok, run.errors, run.elapsed.as_secs_f64(), run.rate());
    println!("  {name:<30} {ok:>9} ok {errors:>5} errors in {elapsed:>5.2} s = {rate:>9.0} req/s");
    assert_eq!(errors, 0, "{name}: requests failed");
    rate
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let seconds = load::knob("IAMPASS_BENCH_SECS", 3);
    let rounds = load::knob("IAMPASS_BENCH_ROUNDS", 3).max(1);
    let concurrency = load::knob("IAMPASS_BENCH_CONCURRENCY", 32) as usize;
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
        drive(&status_target, concurrency, Duration::from_millis(500)).await;
        drive(&hello_target, concurrency, Duration::from_millis(500)).await;
        emulator.reset_stats().await.unwrap();
        let (mut status_rates, mut hello_rates) = (Vec::new(), Vec::new());
        for round in 1..=rounds {
            println!("round {round}/{rounds}");
            status_rates.push(
                measure(
                    "emulator GET status (signed)",
                    &status_target,
                    concurrency,
                    seconds,
                )
                .await,
            );
            hello_rates.push(
                measure(
                    "actix GET /hello (bare)",
                    &hello_target,
                    concurrency,
                    seconds,
                )
                .await,
            );
        }
        let counted = emulator.stats().await.unwrap().route_count("status");
        let (status_rate, hello_rate) = (load::median(&status_rates), load::median(&hello_rates));
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

//! The cost of open live-lock streams (`GET /auth/events`) on one instance
//! (`cargo bench --bench events_load`): the emulator as IAMPASS and a real actix server (one
//! worker) on loopback, `IAMPASS_BENCH_SESSIONS` users signed in through the real handlers,
//! and `IAMPASS_BENCH_STREAMS` streams spread evenly over them, each a raw keep-alive TCP
//! connection that reads and discards its events. With every stream open it measures, over
//! `IAMPASS_BENCH_SECS`:
//!
//! - resident memory (`VmRSS` of `/proc/self/status`) before and after opening the streams;
//! - IAMPASS status calls per second (the emulator's counters);
//! - CPU time of the whole process (`utime + stime` of `/proc/self/stat`) per second of wall
//!   time: the app, the emulator answering the status calls, and the stream readers.
//!
//! Knobs (environment): `IAMPASS_BENCH_STREAMS` (default 1000), `IAMPASS_BENCH_SESSIONS`
//! (default 125, i.e. 8 streams per session, the default cap), `IAMPASS_BENCH_SECS` (default
//! 10), `IAMPASS_BENCH_INTERVAL_MS` (the status-check interval, default 2000).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer};
use iampass::actix::Iampass;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "common/load.rs"]
#[allow(dead_code)] // only the knobs are used here
mod load;

const APP: &str = "bench-app";
const SECRET: &str = "bench-secret";

/// `VmRSS` in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) of the process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the file: 12 and 13 after the name.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // /proc reports clock ticks of USER_HZ, 100 per second on Linux.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Opens one stream and waits for its first event (`active`); then reads it in the
/// background until it ends.
async fn open_stream(addr: std::net::SocketAddr, cookie: &str) -> tokio::task::JoinHandle<()> {
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /auth/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\
         Cookie: {cookie}\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.expect("request");
    let mut seen = Vec::new();
    let mut buffer = [0u8; 1024];
    while !seen.windows(13).any(|w| w == b"event: active") {
        let n = socket.read(&mut buffer).await.expect("read");
        assert!(
            n > 0,
            "stream closed early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buffer[..n]);
    }
    tokio::spawn(async move {
        let mut buffer = [0u8; 256];
        while matches!(socket.read(&mut buffer).await, Ok(n) if n > 0) {}
    })
}

#[tokio::main]
async fn main() {
    let streams = load::knob("IAMPASS_BENCH_STREAMS", 1000) as usize;
    let sessions = (load::knob("IAMPASS_BENCH_SESSIONS", 125) as usize).clamp(1, streams);
    let secs = load::knob("IAMPASS_BENCH_SECS", 10).max(1);
    let interval = Duration::from_millis(load::knob("IAMPASS_BENCH_INTERVAL_MS", 2000).max(1));
    let per_session = streams.div_ceil(sessions);

    let emulator = load::emulator(APP, SECRET, 1).await;
    let iampass = Iampass::builder(APP, SECRET)
        .server(emulator.base_url())
        .cookie_key(&[5u8; 64])
        .cookie_secure(false)
        .rate_limit_per_user(None)
        .rate_limit_per_address(None)
        .events_interval(interval)
        .events_caps(per_session, streams)
        .build()
        .expect("config");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let url = format!("http://{addr}");
    let app_iampass = iampass.clone();
    let server = HttpServer::new(move || {
        let iampass = app_iampass.clone();
        App::new()
            .wrap(iampass.middleware())
            .configure(iampass.routes())
    })
    .workers(1)
    .disable_signals()
    .backlog(2048)
    .max_connections(streams + 256)
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    tokio::spawn(server);

    let http = reqwest::Client::new();
    let mut cookies = Vec::new();
    for i in 0..sessions {
        let user = format!("user-{i}");
        load::approving_phone(&emulator, APP, &user).await;
        cookies.push(load::sign_in(&http, &url, iampass.cookie_name(), &user).await);
    }
    drop(http);

    println!(
        "events_load: {streams} streams over {sessions} sessions ({per_session} per session), \
         status interval {interval:?}, {secs} s measured, 1 actix worker for the app and for \
         the emulator"
    );
    let rss_before = rss_kib();
    let opening = Instant::now();
    let mut readers = Vec::with_capacity(streams);
    for i in 0..streams {
        readers.push(open_stream(addr, &cookies[i % sessions]).await);
    }
    println!("opened {streams} streams in {:?}", opening.elapsed());
    // Let the first round of checks pass, then measure.
    tokio::time::sleep(interval * 2).await;
    emulator.reset_stats().await.expect("stats");
    let (cpu_start, wall_start) = (cpu_time(), Instant::now());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (cpu, wall) = (cpu_time() - cpu_start, wall_start.elapsed());
    let calls = emulator.stats().await.expect("stats").route_count("status");
    let rss_after = rss_kib();
    let alive = readers.iter().filter(|r| !r.is_finished()).count();

    println!("| figure | value |");
    println!("| --- | --- |");
    println!("| open streams (still open at the end) | {alive} |");
    println!(
        "| resident memory before / after opening | {:.1} MiB / {:.1} MiB |",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    println!(
        "| resident memory per stream | {:.1} KiB |",
        rss_after.saturating_sub(rss_before) as f64 / streams as f64
    );
    println!(
        "| IAMPASS status calls per second | {:.1} (sessions / interval = {:.1}) |",
        calls as f64 / wall.as_secs_f64(),
        sessions as f64 / interval.as_secs_f64()
    );
    println!(
        "| CPU of the whole process | {:.1} % of one core ({cpu:?} in {wall:.1?}) |",
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
    for reader in readers {
        reader.abort();
    }
    handle.stop(false).await;
}

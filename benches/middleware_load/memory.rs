//! The memory measurement of the middleware benchmark (`IAMPASS_BENCH_MEMORY_SESSIONS`): the
//! resident memory of many cached sessions, with the emulator in a child process.

use std::io::Write;
use std::time::Duration;

use iampass::actix::Revalidate;

use super::{APP, SECRET, builder, load, ours};

/// The emulator in a child process (for the memory measurement): prints its URL and then
/// `count` started sessions of an approving user as JSON lines, and runs until its standard
/// input closes.
pub async fn emulator_child() {
    let count = load::knob("IAMPASS_BENCH_MEMORY_SESSIONS", 0) as usize;
    let emulator = load::emulator(APP, SECRET, 1).await;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "{}", emulator.base_url()).expect("stdout");
    load::approving_phone(&emulator, APP, "mem").await;
    let api = emulator.authentication_api(APP).expect("client");
    let mut started = start_sessions(&api, count).await;
    for session in started.drain(..) {
        writeln!(out, "{}", session.to_json()).expect("stdout");
    }
    writeln!(out, "ready").expect("stdout");
    out.flush().expect("stdout");
    drop(out);
    load::parent_gone().await;
    emulator.shutdown().await;
}

/// Starts `count` sessions, 32 at a time.
async fn start_sessions(api: &iampass::AuthenticationApi, count: usize) -> Vec<iampass::Session> {
    let mut sessions = Vec::with_capacity(count);
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 0;
    while sessions.len() < count {
        while tasks.len() < 32 && next < count {
            let api = api.clone();
            tasks.spawn(async move { api.authenticate_user("mem").await.expect("session") });
            next += 1;
        }
        if let Some(done) = tasks.join_next().await {
            sessions.push(done.expect("task"));
        }
    }
    sessions
}

/// Resident memory of `count` cached sessions: the app (revalidate after 1 h) in this
/// process, the emulator in a child, one protected request per session.
pub async fn memory(count: usize, concurrency: usize) {
    let mut child = load::ChildRole::spawn("emulator", &[]);
    let iampass = builder(&child.url)
        .revalidate(Revalidate::After(Duration::from_secs(3600)))
        .build()
        .expect("config");
    let mut cookies = Vec::with_capacity(count);
    for line in child.lines.by_ref() {
        let line = line.expect("line");
        if line == "ready" {
            break;
        }
        let session = iampass::Session::from_json(&line).expect("session");
        cookies.push(load::sealed_cookie(&iampass, session, "mem"));
    }
    let app = ours(iampass, 1).await;
    let url = format!("{}/protected", app.url);
    // Warm the server, the clients and the allocator on a few sessions first.
    let warm = cookies[..cookies.len().min(64)].to_vec();
    load(
        &url,
        &warm,
        &app.threads,
        concurrency,
        Duration::from_millis(500),
    )
    .await;
    let before = load::resident_bytes();
    let total = cookies.len();
    let cookies = std::sync::Arc::new(cookies);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ok = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (cookies, next, ok, url) = (cookies.clone(), next.clone(), ok.clone(), url.clone());
        tasks.spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(cookie) = cookies.get(i) else { break };
                let answer = http.get(&url).header("cookie", cookie).send().await;
                if answer.is_ok_and(|a| a.status().is_success()) {
                    ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let after = load::resident_bytes();
    let ok = ok.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "memory: {total} sessions, {ok} answered 200 and cached; resident before {:.1} MiB, \
         after {:.1} MiB: {:.1} MiB for the cached sessions ({:.0} bytes each)",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / ok.max(1) as f64,
    );
    app.stop().await;
    child.finish();
}

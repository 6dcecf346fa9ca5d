//! The bounded in-process load generator of the load benchmarks, and their knobs.
//!
//! Each of `concurrency` tasks has its own keep-alive HTTP client and sends requests in a loop
//! over loopback until the time is up, so a run always stops by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A knob from the environment (`IAMPASS_BENCH_*`), or its default.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How one timed run went.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Requests answered with a 2xx (body read).
    pub ok: u64,
    /// Requests that failed or answered anything else.
    pub errors: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Median latency of the successful requests (send to body read).
    #[allow(dead_code)] // not every load bench reports latency
    pub p50: Duration,
    /// 99th percentile latency of the successful requests.
    #[allow(dead_code)]
    pub p99: Duration,
}

impl Run {
    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// Sends `request(task, client)` from `concurrency` tasks until `duration` has passed.
pub async fn drive<F>(concurrency: usize, duration: Duration, request: F) -> Run
where
    F: Fn(usize, &reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let http = task_client();
        let (request, ok, errors) = (request.clone(), ok.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            // Microseconds per successful request.
            let mut latencies = Vec::with_capacity(4096);
            loop {
                let sent = Instant::now();
                if sent >= deadline {
                    break;
                }
                let good = match request(task, &http).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if good {
                    latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
                let counter = if good { &ok } else { &errors };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("load task"));
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        Duration::from_micros(latencies.get(i).copied().unwrap_or(0) as u64)
    };
    Run {
        ok: ok.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// CPU time (ns) used so far by each thread of this process, by thread id (Linux
/// `/proc/self/task/*/schedstat`; empty elsewhere).
#[allow(dead_code)]
pub fn thread_cpu() -> std::collections::HashMap<u32, u64> {
    tasks()
        .filter_map(|(tid, path)| {
            let schedstat = std::fs::read_to_string(path.join("schedstat")).ok()?;
            Some((tid, schedstat.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// This process's threads: their ids and `/proc/self/task/<id>` (none off Linux).
#[allow(dead_code)]
fn tasks() -> impl Iterator<Item = (u32, std::path::PathBuf)> {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| {
            let tid = task.file_name().to_str()?.parse().ok()?;
            Some((tid, task.path()))
        })
}

/// The clock ticks each thread of this process spent so far in user space and in the kernel
/// (`utime`, `stime` of `/proc/self/task/*/stat`), by thread id: what splits a thread's CPU
/// time (counted exactly by [`thread_cpu`]) into its user and kernel shares.
#[allow(dead_code)]
pub fn thread_ticks() -> std::collections::HashMap<u32, (u64, u64)> {
    tasks()
        .filter_map(|(tid, path)| {
            let stat = std::fs::read_to_string(path.join("stat")).ok()?;
            // After the command name in parentheses: state is field 3, utime 14, stime 15.
            let (_, rest) = stat.rsplit_once(')')?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user = fields.get(11)?.parse().ok()?;
            let system = fields.get(12)?.parse().ok()?;
            Some((tid, (user, system)))
        })
        .collect()
}

/// This process's thread ids now: taken before a server starts, so that [`new_threads`] can
/// tell its threads from the others.
#[allow(dead_code)]
pub fn thread_ids() -> std::collections::HashSet<u32> {
    tasks().map(|(tid, _)| tid).collect()
}

/// The threads whose name starts with `prefix` that were not in `before`, once there are
/// `count` of them (a server's threads start a moment after it runs; waits up to 2 s).
///
/// Every server in these benches must be waited for this way before the next one starts:
/// actix names the workers of every server alike, so a server whose workers start late
/// (the emulator's, say) would be taken for the next one's.
#[allow(dead_code)]
pub async fn new_threads(
    before: &std::collections::HashSet<u32>,
    prefix: &str,
    count: usize,
) -> std::collections::HashSet<u32> {
    let mut threads = std::collections::HashSet::new();
    for _ in 0..200 {
        threads = tasks()
            .map(|(tid, _)| tid)
            .filter(|t| !before.contains(t) && thread_name(*t).starts_with(prefix))
            .collect();
        if threads.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    threads
}

/// The name of one of this process's threads (empty when unknown).
#[allow(dead_code)]
pub fn thread_name(tid: u32) -> String {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default()
}

/// This process's resident memory in bytes (Linux `/proc/self/status`; 0 elsewhere).
#[allow(dead_code)]
pub fn resident_bytes() -> u64 {
    resident_bytes_in("/proc/self/status")
}

/// The resident memory of process `pid` in bytes (Linux `/proc/<pid>/status`; 0 elsewhere or
/// once it has exited): a child measured from outside, without asking it anything.
#[allow(dead_code)]
pub fn resident_bytes_of(pid: u32) -> u64 {
    resident_bytes_in(&format!("/proc/{pid}/status"))
}

#[allow(dead_code)]
fn resident_bytes_in(status: &str) -> u64 {
    std::fs::read_to_string(status)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[allow(dead_code)]
/// The median of some rates (the middle one after sorting).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// One answer of a [`drive_recorded`] run.
#[allow(dead_code)] // only the outage bench records every answer
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    /// The task (client) that sent it.
    pub task: usize,
    /// When it was sent, from the start of the run.
    pub sent: Duration,
    /// Send to body read (or to the failure).
    pub latency: Duration,
    /// The HTTP status, or 0 when no answer came (connection refused or reset).
    pub status: u16,
    /// What the run's `flag` said about the answer's headers.
    pub flagged: bool,
}

impl Recorded {
    /// When the answer was complete, from the start of the run.
    #[allow(dead_code)]
    pub fn done(&self) -> Duration {
        self.sent + self.latency
    }
}

/// Like [`drive`], but keeps every answer (its status and latency, failures included) and
/// sends until `stop(elapsed)` says so; then waits for the requests still in flight.
/// `flag` marks answers by their headers (e.g. a cookie deletion).
#[allow(dead_code)]
pub async fn drive_recorded<F, S, G>(
    concurrency: usize,
    stop: S,
    request: F,
    flag: G,
) -> (Vec<Recorded>, Duration)
where
    F: Fn(usize, &reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
    S: Fn(Duration) -> bool + Send + Sync + 'static,
    G: Fn(&reqwest::Response) -> bool + Send + Sync + 'static,
{
    let (request, stop, flag) = (Arc::new(request), Arc::new(stop), Arc::new(flag));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let http = task_client();
        let (request, stop, flag) = (request.clone(), stop.clone(), flag.clone());
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::with_capacity(4096);
            loop {
                let sent = started.elapsed();
                if stop(sent) {
                    break;
                }
                let (status, flagged) = match request(task, &http).send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let flagged = flag(&r);
                        match r.bytes().await {
                            Ok(_) => (status, flagged),
                            Err(_) => (0, flagged),
                        }
                    }
                    Err(_) => (0, false),
                };
                answers.push(Recorded {
                    task,
                    sent,
                    latency: started.elapsed() - sent,
                    status,
                    flagged,
                });
            }
            answers
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.extend(task.await.expect("load task"));
    }
    answers.sort_unstable_by_key(|a| a.sent);
    (answers, started.elapsed())
}

/// Established TCP connections from this host to `port` (the client ends, read from Linux
/// `/proc/net/tcp` and `/proc/net/tcp6`; 0 elsewhere). Counted by socket inode: the kernel
/// writes these tables a page at a time, so a socket may be listed twice while others open
/// or close.
#[allow(dead_code)]
pub fn established_to(port: u16) -> u64 {
    established_sockets_to(port).len() as u64
}

/// Established TCP connections from process `pid` to `port`: those of [`established_to`]
/// whose socket `pid` holds (its `/proc/<pid>/fd` links read `socket:[inode]`), so that other
/// processes' connections to the same server, such as a bench's own control calls, are not
/// counted. 0 elsewhere than Linux.
#[allow(dead_code)]
pub fn established_from_to(pid: u32, port: u16) -> u64 {
    // The table first: a socket of the process that closes meanwhile is then left out, rather
    // than a new one being counted before it is established.
    let established = established_sockets_to(port);
    if established.is_empty() {
        return 0;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?;
            target
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse::<u64>()
                .ok()
        })
        .filter(|inode| established.contains(inode))
        .count() as u64
}

/// The inodes of the established TCP sockets whose remote port is `port` (see
/// [`established_to`]).
#[allow(dead_code)]
fn established_sockets_to(port: u16) -> std::collections::HashSet<u64> {
    const ESTABLISHED: &str = "01";
    let mut sockets = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            // sl local rem st queues timer retransmits uid timeout inode ...
            let fields: Vec<&str> = line.split_whitespace().take(10).collect();
            let [_, _, remote, state, _, _, _, _, _, inode] = fields[..] else {
                continue;
            };
            let remote_port = remote
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if state == ESTABLISHED && remote_port == Some(port) {
                // Inode 0: a socket already orphaned by its process.
                if let Some(inode) = inode.parse::<u64>().ok().filter(|&i| i != 0) {
                    sockets.insert(inode);
                }
            }
        }
    }
    sockets
}

/// The `name=value` of the cookie called `name` that `response` sets.
#[allow(dead_code)] // not every load bench signs users in
pub fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// Signs `user` in through the crate's real handlers at `app` (`POST /auth/login`, then a
/// long poll; the emulator's phone approves by itself) and answers the signed-in cookie's
/// `name=value` (`cookie_name`).
#[allow(dead_code)]
pub async fn sign_in(http: &reqwest::Client, app: &str, cookie_name: &str, user: &str) -> String {
    let started = http
        .post(format!("{app}/auth/login"))
        .json(&serde_json::json!({"user": user}))
        .send()
        .await
        .expect("login");
    assert_eq!(started.status(), 202, "login of {user}");
    let pending = cookie_of(&started, cookie_name).expect("pending cookie");
    let done = http
        .get(format!("{app}/auth/poll?wait=5"))
        .header("cookie", &pending)
        .send()
        .await
        .expect("poll");
    cookie_of(&done, cookie_name).expect("signed-in cookie")
}

/// This bench's own binary run again as a child process in another role
/// (`IAMPASS_BENCH_ROLE`), so that what is measured of one component (its memory, its
/// connections) is its alone. The child prints its URL as the first line of its standard
/// output and runs until its standard input closes ([`parent_gone`]: also when the bench dies
/// without cleaning up) or it is killed. Dropping this kills it, so a bench that panics leaves
/// no server behind.
#[allow(dead_code)]
pub struct ChildRole {
    child: std::process::Child,
    /// The URL the child printed on its first line.
    pub url: String,
    /// The rest of the child's standard output.
    pub lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

#[allow(dead_code)]
impl ChildRole {
    /// Starts `current_exe()` with `IAMPASS_BENCH_ROLE=role` and `env` (the rest of the
    /// environment, knobs included, is inherited) and waits for its URL line.
    pub fn spawn(role: &str, env: &[(&str, &str)]) -> ChildRole {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(std::env::current_exe().expect("bench executable"))
            .env("IAMPASS_BENCH_ROLE", role)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{role} child: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        match lines.next() {
            Some(Ok(url)) => ChildRole { child, url, lines },
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{role} child printed no URL: {other:?}");
            }
        }
    }

    /// The child's process id, for `/proc/<pid>/...`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes its standard input (its cue to end) and waits for it to exit.
    pub fn finish(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for ChildRole {
    fn drop(&mut self) {
        // Already exited (after `finish`) is fine: both calls then do nothing.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In a [`ChildRole`] child: resolves once the parent closes the child's standard input, or
/// dies.
#[allow(dead_code)]
pub async fn parent_gone() {
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    })
    .await
    .expect("stdin watcher");
}

/// One load task's own keep-alive client: a single connection, reused for every request.
fn task_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("HTTP client")
}

/// An emulator on a free loopback port serving `app`, with `workers` actix workers.
#[allow(dead_code)] // the emulator bench starts its own
pub async fn emulator(
    app: &str,
    secret: &str,
    workers: usize,
) -> iampass::emulator::RunningEmulator {
    let before = thread_ids();
    let emulator = iampass::emulator::Emulator::builder()
        .application(app, secret)
        .bind("127.0.0.1:0")
        .workers(workers)
        .start()
        .await
        .expect("emulator");
    // Its workers running before anything else starts (see `new_threads`).
    new_threads(&before, ACTIX_WORKER, workers).await;
    emulator
}

/// What the kernel shows of an actix worker thread's name ("actix-server worker N", cut to
/// 15 characters; the acceptor thread is "actix-server acceptor").
#[allow(dead_code)]
pub const ACTIX_WORKER: &str = "actix-server wo";

/// Registers a phone for `user` of `app` that approves every login at once.
#[allow(dead_code)] // the emulator bench signs nobody in
pub async fn approving_phone(emulator: &iampass::emulator::RunningEmulator, app: &str, user: &str) {
    emulator.register_device(app, user).await.expect("device");
    emulator
        .set_behaviour(
            app,
            user,
            iampass::emulator::Behaviour::Approve {
                after: Duration::ZERO,
            },
        )
        .await
        .expect("behaviour");
}

/// `name=value` of a signed-in cookie for `session`, sealed directly with `iampass`'s key (for
/// sessions in their thousands, where signing in through the handlers would only measure the
/// login rate limits).
#[cfg(feature = "actix")]
#[allow(dead_code)] // not every load bench seals cookies
pub fn sealed_cookie(
    iampass: &iampass::actix::Iampass,
    session: iampass::Session,
    user: &str,
) -> String {
    let payload = iampass::actix::SessionCookie::new(
        session,
        user,
        user,
        iampass::actix::CookieState::Authenticated,
        Duration::from_secs(3600),
        None,
    );
    let sealed = iampass.seal_cookie(&payload).expect("seal");
    format!("{}={}", iampass.cookie_name(), sealed.value())
}

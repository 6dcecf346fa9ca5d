//! The client side of one status validation, alone: what `AuthenticationApi::session_status`
//! costs the thread that makes the call (`cargo bench --features emulator --bench validation`).
//!
//! The emulator runs on threads of its own (its own runtime, one actix worker); the client runs
//! on the bench's main thread, in a current-thread tokio runtime that runs nothing else, so
//! every allocation and every CPU cycle counted on that thread is the client's: signing, the
//! request, hyper's connection task (spawned onto the same runtime), the loopback socket's
//! kernel work on the sending side, reading the answer, the verdict. Counted per call:
//!
//! - allocations, reallocations and bytes allocated, by a counting global allocator that
//!   counts only on the client's thread (a thread-local switch: the emulator's threads are
//!   never counted, nothing is subtracted);
//! - the thread's CPU time (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`), and wall time;
//! - the connections the client opened meanwhile: the local ports of its established
//!   connections to the emulator (`/proc/self/net/tcp{,6}`) before and after must be the same
//!   set, or a call re-handshook.
//!
//!
//! A second part runs the whole validation as an actix app does (the middleware and
//! `RequireIampass`, every request validated), against a bare route, on the same thread, with
//! 16 signed-in users taking turns (so that calls in flight at once are for different
//! sessions and are not coalesced).
//!
//! Knobs: `IAMPASS_BENCH_CALLS` (default 20 000 per pass), `IAMPASS_BENCH_ROUNDS` (3, the
//! median counts), `IAMPASS_BENCH_INFLIGHT` (`1,16`: calls in flight at once, each pass run
//! once per value).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeSet;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use iampass::emulator::{Emulator, SessionAction};
use iampass::{AuthenticationApi, Session, Status};

/// Signed-in users of the middleware scenario (each request takes the next one's cookie).
const SESSIONS: usize = 16;

/// The allocations per status call the client is held to (see BENCHMARKS.md): one for the
/// signature, two for the request's header map, six inside hyper and hyper-util.
const TARGET_ALLOCATIONS: f64 = 10.0;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// `IAMPASS_BENCH_TRACE=1`: where one call's allocations come from.
    static TRACING: Cell<bool> = const { Cell::new(false) };
    static TRACES: std::cell::RefCell<Vec<(usize, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Records the call stack of one allocation (tracing off meanwhile: its own allocations are
/// not recorded).
fn trace(size: usize) {
    if TRACING.try_with(Cell::get).unwrap_or(false) {
        TRACING.with(|t| t.set(false));
        let stack = std::backtrace::Backtrace::force_capture().to_string();
        TRACES.with(|t| t.borrow_mut().push((size, stack)));
        TRACING.with(|t| t.set(true));
    }
}

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static REALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Relaxed);
            BYTES.fetch_add(layout.size() as u64, Relaxed);
            trace(layout.size());
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Relaxed);
            BYTES.fetch_add(layout.size() as u64, Relaxed);
        }
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            REALLOCATIONS.fetch_add(1, Relaxed);
            BYTES.fetch_add(new_size.saturating_sub(layout.size()) as u64, Relaxed);
            trace(new_size);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// This thread's CPU time.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// This thread's user and system CPU time (`getrusage(RUSAGE_THREAD)`, coarser than
/// [`thread_cpu`]): the system part is the kernel's loopback TCP work on the sending side.
fn thread_user_system() -> (Duration, Duration) {
    // SAFETY: a zeroed rusage is a valid out value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid `who` and a valid out pointer.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (time(usage.ru_utime), time(usage.ru_stime))
}

/// Local ports of this process's established TCP connections to `port` (client side).
fn connections_to(port: u16) -> BTreeSet<u16> {
    let mut ports = BTreeSet::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port_of = |addr: &str| {
                addr.rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
            };
            // `01`: ESTABLISHED.
            if fields.len() > 3
                && fields[3] == "01"
                && port_of(fields[2]) == Some(port)
                && let Some(local) = port_of(fields[1])
            {
                ports.insert(local);
            }
        }
    }
    ports
}

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Pass {
    allocations: f64,
    reallocations: f64,
    bytes: f64,
    cpu_us: f64,
    /// The kernel's share of `cpu_us`.
    system_us: f64,
    wall_us: f64,
    /// Connections to the emulator established during the pass that were not there before.
    new_connections: usize,
}

/// `calls` calls of `one`, `inflight` at a time, counted on this thread.
async fn pass<F, Fut>(calls: u64, inflight: u64, port: u16, one: F) -> Pass
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let inflight = inflight.max(1);
    let each = calls / inflight;
    let before_ports = connections_to(port);
    ALLOCATIONS.store(0, Relaxed);
    REALLOCATIONS.store(0, Relaxed);
    BYTES.store(0, Relaxed);
    let (cpu, (_, system), wall) = (thread_cpu(), thread_user_system(), Instant::now());
    COUNTING.with(|c| c.set(true));
    if inflight == 1 {
        for _ in 0..calls {
            one().await;
        }
    } else {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..inflight {
            let one = one.clone();
            tasks.spawn_local(async move {
                for _ in 0..each {
                    one().await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("task");
        }
    }
    COUNTING.with(|c| c.set(false));
    let (cpu, system, wall) = (
        thread_cpu() - cpu,
        thread_user_system().1 - system,
        wall.elapsed(),
    );
    let calls = (each * inflight) as f64;
    let after_ports = connections_to(port);
    Pass {
        allocations: ALLOCATIONS.load(Relaxed) as f64 / calls,
        reallocations: REALLOCATIONS.load(Relaxed) as f64 / calls,
        bytes: BYTES.load(Relaxed) as f64 / calls,
        cpu_us: cpu.as_secs_f64() * 1e6 / calls,
        system_us: system.as_secs_f64() * 1e6 / calls,
        wall_us: wall.as_secs_f64() * 1e6 / calls,
        new_connections: after_ports.difference(&before_ports).count(),
    }
}

/// Runs `one` in passes for each in-flight count and prints a row per count (medians).
async fn scenario<F, Fut>(name: &str, settings: &Settings, one: F) -> Vec<(f64, f64)>
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let mut rows = Vec::new();
    for &inflight in &settings.inflights {
        // Warm up: the pool holds its connections, the caches are filled.
        pass(2_000, inflight, settings.port, one.clone()).await;
        let mut passes = Vec::new();
        for _ in 0..settings.rounds {
            passes.push(pass(settings.calls, inflight, settings.port, one.clone()).await);
        }
        let pick = |f: fn(&Pass) -> f64| median(passes.iter().map(f).collect());
        let new_connections: usize = passes.iter().map(|p| p.new_connections).sum();
        let (allocations, cpu) = (pick(|p| p.allocations), pick(|p| p.cpu_us));
        println!(
            "{name:<28} {inflight:>8} {allocations:>8.2} {:>8.2} {:>8.0} {cpu:>8.2} {:>9.2} {:>8.2} {new_connections:>9}   {}",
            pick(|p| p.reallocations),
            pick(|p| p.bytes),
            pick(|p| p.system_us),
            pick(|p| p.wall_us),
            passes
                .iter()
                .map(|p| format!("{:.2}", p.cpu_us))
                .collect::<Vec<_>>()
                .join(" / ")
        );
        rows.push((allocations, cpu));
    }
    rows
}

struct Settings {
    calls: u64,
    rounds: u64,
    inflights: Vec<u64>,
    port: u16,
}

/// Prints where one call of `one` allocates (`IAMPASS_BENCH_TRACE=1`: a status call;
/// `IAMPASS_BENCH_TRACE=middleware`: a request through the middleware), after 100 warm-ups.
async fn trace_one<F, Fut>(one: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..100 {
        one().await;
    }
    COUNTING.with(|c| c.set(true));
    TRACING.with(|t| t.set(true));
    one().await;
    TRACING.with(|t| t.set(false));
    COUNTING.with(|c| c.set(false));
    for (size, stack) in TRACES.with(|t| std::mem::take(&mut *t.borrow_mut())) {
        let frames: Vec<&str> = stack
            .lines()
            .map(str::trim)
            .filter(|l| {
                !l.starts_with("at ")
                    && !l.contains("alloc::")
                    && !l.contains("backtrace")
                    && !l.contains("validation::trace")
                    && !l.contains("__rust")
                    && !l.contains("core::")
            })
            .take(6)
            .collect();
        println!("{size:>6} bytes: {}", frames.join(" <- "));
    }
}

/// The whole validation as an actix app does it: the same request through the middleware
/// with `RequireIampass` (every request validated: the default), against a bare route in an
/// app without the middleware; the difference is the validation's cost. Requests go through
/// `actix_web::test::call_service` (no HTTP server, no sockets on the app's side).
mod middleware {
    use std::cell::Cell;
    use std::rc::Rc;

    use actix_web::{App, test, web};
    use iampass::actix::{Iampass, RequireIampass};

    use super::Settings;

    /// The deployment both threads build (same key: the emulator thread's cookie opens here).
    pub(super) fn iampass(server: &str) -> Iampass {
        Iampass::builder("bench", "bench-secret")
            .server(server)
            .cookie_key(&[7u8; 64])
            .build()
            .expect("iampass")
    }

    /// One request to `/who` with the cookie, through `app` (a macro: each app is its own
    /// type, and actix's request type has no public name here).
    macro_rules! request {
        ($app:expr, $cookies:expr) => {{
            let (app, cookies, next) = ($app, $cookies, Rc::new(Cell::new(0)));
            move || {
                // The sessions in turn, as many users' requests would come.
                let at = next.get();
                next.set((at + 1) % cookies.len());
                let (app, cookie) = (Rc::clone(&app), Rc::clone(&cookies[at]));
                async move {
                    let request = test::TestRequest::get()
                        .uri("/who")
                        .insert_header(("cookie", &*cookie))
                        .to_request();
                    let body = test::call_and_read_body(&*app, request).await;
                    assert!(body.starts_with(b"hi user"), "{body:?}");
                }
            }
        }};
    }

    /// Runs both scenarios, or with `trace`, prints where one protected request allocates.
    pub(super) async fn run(settings: &Settings, server: &str, cookies: Vec<String>, trace: bool) {
        let iampass = iampass(server);
        let protected = test::init_service(App::new().wrap(iampass.middleware()).route(
            "/who",
            web::get().to(|who: RequireIampass| async move { format!("hi {}", who.user()) }),
        ))
        .await;
        let bare = test::init_service(App::new().route(
            "/who",
            web::get().to(|| async { format!("hi {}", "user0") }),
        ))
        .await;
        let (protected, bare) = (Rc::new(protected), Rc::new(bare));
        let cookies: Rc<Vec<Rc<str>>> = Rc::new(cookies.into_iter().map(Rc::from).collect());
        if trace {
            super::trace_one(request!(protected, cookies)).await;
            return;
        }
        let bare_rows = super::scenario(
            "actix bare route",
            settings,
            request!(bare, cookies.clone()),
        )
        .await;
        let rows = super::scenario(
            "actix RequireIampass, every",
            settings,
            request!(protected, cookies),
        )
        .await;
        for ((bare, every), inflight) in bare_rows.iter().zip(&rows).zip(&settings.inflights) {
            println!(
                "validation's own cost through the middleware, {inflight} in flight: {:.2} \
                 allocations, {:.2} µs CPU per request (every request minus bare)",
                every.0 - bare.0,
                every.1 - bare.1
            );
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let calls = knob("IAMPASS_BENCH_CALLS", 20_000);
    let rounds = knob("IAMPASS_BENCH_ROUNDS", 3).max(1);
    let inflights: Vec<u64> = std::env::var("IAMPASS_BENCH_INFLIGHT")
        .unwrap_or_else(|_| "1,16".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();

    // The emulator, on threads of its own.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let emulator_thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("emulator runtime");
        runtime.block_on(async move {
            let emulator = Emulator::builder()
                .application("bench", "bench-secret")
                .workers(1)
                .start()
                .await
                .expect("emulator starts");
            let management = emulator.management_api("bench").unwrap();
            management.add_user("alice").await.unwrap();
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
            // A signed-in cookie for the middleware scenario (sealed with the bench's key).
            let iampass = middleware::iampass(emulator.base_url());
            let mut cookies = Vec::new();
            for i in 0..SESSIONS {
                let user = format!("user{i}");
                management.add_user(&user).await.unwrap();
                let cookie = emulator.sign_in(&iampass, &user).await.unwrap();
                cookies.push(format!("{}={}", cookie.name(), cookie.value()));
            }
            ready_tx
                .send((
                    emulator.base_url().to_owned(),
                    emulator.local_addr().port(),
                    session.to_json(),
                    cookies,
                ))
                .unwrap();
            let _ = stop_rx.await;
            emulator.shutdown().await;
        });
    });
    let (server, port, session_json, cookies) = ready_rx.recv().expect("emulator ready");

    // The client, alone on this thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        // As the middleware builds it: default breaker, timeouts and pool.
        let api = AuthenticationApi::builder("bench", "bench-secret")
            .server(server.clone())
            .build()
            .unwrap();
        let session = Rc::new(Session::from_json(&session_json).unwrap());
        let trace = std::env::var("IAMPASS_BENCH_TRACE").ok();
        if trace.as_deref().is_some_and(|t| t != "middleware") {
            let (api, session) = (&api, &session);
            trace_one(|| async move {
                api.session_status(session).await.expect("status call");
            })
            .await;
            return;
        }
        let settings = Settings {
            calls,
            rounds,
            inflights,
            port,
        };
        println!(
            "validation: {calls} calls per pass, {rounds} rounds (medians), the client alone on one \
             current-thread runtime, the emulator on its own threads, {} CPUs",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>9}   cpu µs per round",
            "scenario", "inflight", "allocs", "reallocs", "bytes", "cpu µs", "kernel µs", "wall µs", "new conns"
        );
        let status_call = {
            // Shared, not cloned per call (a clone of the API value copies two strings).
            let (api, session) = (Rc::new(api.clone()), session.clone());
            move || {
                let (api, session) = (api.clone(), session.clone());
                async move {
                    let status = api.session_status(&session).await.expect("status call");
                    assert_eq!(status, Status::Active);
                }
            }
        };
        if trace.is_some() {
            middleware::run(&settings, &server, cookies, true).await;
            return;
        }
        let client = scenario("AuthenticationApi::session_status", &settings, status_call).await;
        let client_allocations = client[0].0;
        let verdict = if client_allocations <= TARGET_ALLOCATIONS {
            "met"
        } else {
            "NOT met"
        };
        println!(
            "allocations per status call: {client_allocations:.2} (target ≤ {TARGET_ALLOCATIONS}: {verdict})"
        );
        middleware::run(&settings, &server, cookies, false).await;
    });
    let _ = stop_tx.send(());
    emulator_thread.join().expect("emulator thread");
}

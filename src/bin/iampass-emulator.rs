//! `iampass-emulator`: an IAMPASS-compatible server with a simulated phone.
//!
//! ```text
//! iampass-emulator --listen 127.0.0.1:8765 --app my-app:my-secret --user alice
//! ```
//!
//! Standard output: first the line `iampass-emulator listening on http://ADDR` once it accepts
//! connections, then three `export IAMPASS_...=...` lines for the first application, ready to
//! paste into a shell. Standard error: the phone page and control API URLs, then one log line
//! per request (method, path, status, latency, application) unless `--quiet`. Stops on Ctrl-C
//! (or SIGTERM).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use iampass::emulator::{Emulator, UnknownUserAnswer};

/// The control API, listed by `--help`.
const CONTROL_API: &str = "\
Control API (JSON; path segments quote_plus-encoded). It answers only to the emulator's own
address and localhost names (403 for another Host, a foreign Origin or a cross-site request).
On loopback it needs no token; on any other address it wants Authorization: Bearer <token>
(--control-token, IAMPASS_EMULATOR_CONTROL_TOKEN, or a random one printed at start):
  GET    /_emulator/applications                  applications and their user counts
  POST   /_emulator/applications                  {\"app_id\", \"secret\"}: add one, or replace its secret
  POST   /_emulator/devices/{app_id}/{user}       register a phone (creating the user)
  GET    /_emulator/devices[?app_id][&user]       registered phones
  GET    /_emulator/sessions[?app_id][&user]      sessions, oldest first
  GET    /_emulator/sessions/{token}              one session
  POST   /_emulator/sessions/{token}/{action}     identify, approve, deny, cancel, timeout,
                                                  walkaway, return, close
  PUT    /_emulator/users/{app_id}/{user}/behaviour
                                                  {\"respond\": \"approve\"|\"deny\"|\"ignore\",
                                                  \"after_ms\": N} (GET reads it)
  GET    /_emulator/sms[?app_id][&user]           the SMS outbox, oldest first
  PUT    /_emulator/faults                        {\"latency_ms\", \"error_rate\", \"error_status\",
                                                  \"retry_after_secs\"} on the wire API; injected
                                                  errors carry Retry-After when it is set
                                                  (GET reads it)
  GET    /_emulator/stats                         requests per wire API route (DELETE resets)
  GET    /_emulator/phone[?app_id][&user]         what the phone page shows, as JSON
  GET    /_emulator/registrations/{token}         a registration link (POST uses it)

Phone page: http://ADDR/phone (live through GET /phone/events, a Server-Sent Events stream;
with a control token, open it once as http://ADDR/phone?token=<token>).";

/// An IAMPASS-compatible server with a simulated phone, for development and tests without an
/// IAMPASS account or a physical phone.
///
/// Point a client at it with IAMPASS_SERVER=http://ADDR, open http://ADDR/phone in a browser to
/// approve or deny requests, and drive it from scripts through the control API under
/// http://ADDR/_emulator/.
#[derive(Debug, Parser)]
#[command(name = "iampass-emulator", version, about, long_about, after_help = CONTROL_API)]
struct Args {
    /// Address to listen on (HOST:PORT; port 0 picks a free port, printed on start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8765")]
    listen: String,

    /// An application the emulator accepts, as ID:SECRET (split at the first colon).
    /// Repeatable. Without any, a demo application is generated; its id and secret are
    /// printed in the export lines.
    #[arg(long = "app", value_name = "ID:SECRET", value_parser = parse_app)]
    apps: Vec<(String, String)>,

    /// A user of the first application, created with a registered phone. Repeatable.
    #[arg(long = "user", value_name = "NAME", value_parser = parse_user)]
    users: Vec<String>,

    /// Seconds an authentication request may stay unanswered (pending or identifying)
    /// before it becomes "timeout".
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pending_timeout_secs: u64,

    /// Accepted clock difference of signed requests, in seconds either way; nonces are
    /// remembered this long to refuse replays.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    signature_window_secs: u64,

    /// Lifetime in seconds of a session whose request names no duration_seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    session_duration_secs: u64,

    /// How authenticate_user answers for an unknown user: `reason` is 200 with
    /// reason UNKNOWN_USER, `not-found` is 404 `User <id> not found` (the public docs' style).
    #[arg(long, value_name = "ANSWER", value_enum, default_value_t = UnknownUser::Reason)]
    unknown_user: UnknownUser,

    /// The token the control API and phone page want (`Authorization: Bearer <token>`).
    /// Optional on loopback; beyond it, a random one is made and printed when none is given.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "IAMPASS_EMULATOR_CONTROL_TOKEN",
        hide_env_values = true
    )]
    control_token: Option<String>,

    /// A further Host name the control API and phone page answer to (NAME or NAME:PORT),
    /// e.g. a container's name. Repeatable.
    #[arg(long = "allow-host", value_name = "NAME")]
    allow_hosts: Vec<String>,

    /// HTTP worker threads.
    #[arg(long, value_name = "N", default_value_t = 2)]
    workers: usize,

    /// No log line per request.
    #[arg(long, short)]
    quiet: bool,
}

/// `--unknown-user`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum UnknownUser {
    /// 200, `authenticated: false`, `reason: "UNKNOWN_USER"`.
    Reason,
    /// 404, `User <id> not found`.
    NotFound,
}

impl From<UnknownUser> for UnknownUserAnswer {
    fn from(answer: UnknownUser) -> Self {
        match answer {
            UnknownUser::Reason => UnknownUserAnswer::Reason,
            UnknownUser::NotFound => UnknownUserAnswer::NotFound,
        }
    }
}

/// Writes a line to standard error, ignoring failures (a closed stderr must not stop the
/// server, unlike `eprintln!`, which panics).
macro_rules! note {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

fn parse_app(value: &str) -> Result<(String, String), String> {
    match value.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => {
            Ok((id.to_owned(), secret.to_owned()))
        }
        _ => Err("expected ID:SECRET, both non-empty".to_owned()),
    }
}

fn parse_user(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("a user name cannot be empty".to_owned());
    }
    Ok(value.to_owned())
}

fn random_token(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// `export NAME=VALUE`, the value quoted for a POSIX shell where it needs it.
fn export_line(name: &str, value: &str) -> String {
    // Arguments and generated values never hold a NUL, the only thing `try_quote` refuses.
    let quoted = shlex::try_quote(value).unwrap_or_else(|_| value.into());
    format!("export {name}={quoted}")
}

/// The request log on standard error: the emulator's `INFO` events, one line each.
fn install_request_log() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let only_requests = Targets::new().with_target("iampass::emulator", LevelFilter::INFO);
    let _ = tracing_subscriber::registry()
        .with(log.with_filter(only_requests))
        .try_init();
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let matches = Args::command().get_matches();
    let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if matches.value_source("control_token") == Some(clap::parser::ValueSource::CommandLine) {
        note!(
            "warning: --control-token on the command line is visible to other users of this \
             machine (in the process list); set IAMPASS_EMULATOR_CONTROL_TOKEN instead"
        );
    }
    if !args.quiet {
        install_request_log();
    }
    let mut builder = Emulator::builder()
        .bind(args.listen.as_str())
        .pending_timeout(Duration::from_secs(args.pending_timeout_secs))
        .signature_window(Duration::from_secs(args.signature_window_secs))
        .session_duration(Duration::from_secs(args.session_duration_secs))
        .unknown_user_answer(args.unknown_user.into())
        .workers(args.workers);
    if let Some(token) = args.control_token.as_deref().filter(|t| !t.is_empty()) {
        builder = builder.control_token(token);
    }
    for host in &args.allow_hosts {
        builder = builder.allow_host(host);
    }
    let mut apps = args.apps;
    if apps.is_empty() {
        note!("no --app given: created a demo application");
        apps.push((format!("demo-{}", random_token(4)), random_token(24)));
    }
    let (first_id, first_secret) = apps[0].clone();
    for (id, secret) in apps {
        builder = builder.application(id, secret);
    }
    let emulator = match builder.start().await {
        Ok(emulator) => emulator,
        Err(e) => {
            note!("iampass-emulator: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    for user in &args.users {
        if let Err(e) = emulator.register_device(&first_id, user).await {
            note!("iampass-emulator: cannot create user {user:?}: {e}");
            return ExitCode::FAILURE;
        }
    }
    // Let the server task start its accept loop before announcing it.
    tokio::task::yield_now().await;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "iampass-emulator listening on http://{}",
        emulator.local_addr()
    );
    for (name, value) in [
        ("IAMPASS_SERVER", emulator.base_url()),
        ("IAMPASS_APPLICATION_ID", &first_id),
        ("IAMPASS_APPLICATION_SECRET", &first_secret),
    ] {
        let _ = writeln!(stdout, "{}", export_line(name, value));
    }
    let _ = stdout.flush();
    drop(stdout);
    let exposed = !emulator.local_addr().ip().is_loopback();
    if exposed {
        note!(
            "WARNING: listening on {}, beyond loopback: anyone who can reach it and has the \
             control token can approve any login and replace any application's secret",
            emulator.local_addr()
        );
    }
    match emulator.control_token() {
        Some(token) => {
            if args.control_token.as_deref().is_none_or(str::is_empty) {
                // Made at start: this is the only place it is shown.
                note!("control token: {}", token.expose());
            }
            note!(
                "phone page: {}?token=<control token>  (sets a cookie for the page)",
                emulator.phone_url()
            );
            note!(
                "control API: {}/_emulator/  (Authorization: Bearer <control token>; --help lists it; Ctrl-C stops)",
                emulator.base_url()
            );
        }
        None => {
            note!("phone page: {}", emulator.phone_url());
            note!(
                "control API: {}/_emulator/  (--help lists it; Ctrl-C stops)",
                emulator.base_url()
            );
        }
    }

    wait_for_stop().await;
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(unix)]
async fn wait_for_stop() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_stop() {
    let _ = tokio::signal::ctrl_c().await;
}

//! `iampass-emulator`: an IAMPASS-compatible server with a simulated phone.
//!
//! ```text
//! iampass-emulator --listen 127.0.0.1:8765 --app my-app:my-secret
//! ```
//!
//! Prints one line, `iampass-emulator listening on http://ADDR`, on standard output once it
//! accepts connections; everything else (demo credentials, the phone page URL) goes to
//! standard error. Stops on Ctrl-C (or SIGTERM).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use iampass::emulator::Emulator;

/// An IAMPASS-compatible server with a simulated phone, for development and tests without an
/// IAMPASS account or a physical phone.
///
/// Point a client at it with IAMPASS_SERVER=http://ADDR, open http://ADDR/phone in a browser to
/// approve or deny requests, and drive it from scripts through the control API under
/// http://ADDR/_emulator/.
#[derive(Debug, Parser)]
#[command(name = "iampass-emulator", version, about, long_about)]
struct Args {
    /// Address to listen on (HOST:PORT; port 0 picks a free port, printed on start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8765")]
    listen: String,

    /// An application the emulator accepts, as ID:SECRET (split at the first colon).
    /// Repeatable. Without any, a demo application is generated and its id and secret are
    /// printed on standard error.
    #[arg(long = "app", value_name = "ID:SECRET", value_parser = parse_app)]
    apps: Vec<(String, String)>,

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

    /// HTTP worker threads.
    #[arg(long, value_name = "N", default_value_t = 2)]
    workers: usize,
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

fn random_token(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = Emulator::builder()
        .bind(args.listen.as_str())
        .pending_timeout(Duration::from_secs(args.pending_timeout_secs))
        .signature_window(Duration::from_secs(args.signature_window_secs))
        .session_duration(Duration::from_secs(args.session_duration_secs))
        .workers(args.workers);
    let mut apps = args.apps;
    if apps.is_empty() {
        let demo = (format!("demo-{}", random_token(4)), random_token(24));
        note!("no --app given: created a demo application");
        note!("  IAMPASS_APPLICATION_ID={}", demo.0);
        note!("  IAMPASS_APPLICATION_SECRET={}", demo.1);
        apps.push(demo);
    }
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
    // Let the server task start its accept loop before announcing it.
    tokio::task::yield_now().await;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "iampass-emulator listening on http://{}",
        emulator.local_addr()
    );
    let _ = stdout.flush();
    drop(stdout);
    note!("phone page: {}", emulator.phone_url());
    note!(
        "control API: {}/_emulator/  (Ctrl-C stops)",
        emulator.base_url()
    );

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

//! `iampass`: manage IAMPASS users and phones, and sign users in, from the command line.
//!
//! ```text
//! export IAMPASS_SERVER=http://127.0.0.1:8765 IAMPASS_APPLICATION_ID=app IAMPASS_APPLICATION_SECRET=...
//! iampass users add alice
//! iampass link alice --qr
//! iampass login alice --session-out alice.json && iampass logout --session alice.json
//! ```
//!
//! Every command takes `--json`; exit codes are listed in `--help` and in [`exit`].

mod args;
mod commands;
mod exit;
mod interrupt;
mod output;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use args::Cli;
use exit::Exit;
use output::{Failure, Output};

fn main() -> ExitCode {
    // Usage errors exit 2 here (clap's convention, and ours for bad input).
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let output = Output::new(cli.global.json);
    if matches.value_source("app_secret") == Some(ValueSource::CommandLine) {
        output.warning(
            "--app-secret on the command line is visible to other users of this machine \
             (in the process list and shell history); set IAMPASS_APPLICATION_SECRET or use \
             --app-secret-file instead",
        );
    }
    let server = cli.global.server.as_deref();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let exit = match runtime {
        Err(e) => {
            let failure = Failure::new(Exit::Unexpected, format!("cannot start: {e}"));
            output.failure(&failure.redacted(server));
            failure.exit
        }
        Ok(runtime) => match runtime.block_on(commands::run(&cli, &output)) {
            Ok(report) => {
                output.report(&report);
                report.exit
            }
            Err(failure) => {
                output.failure(&failure.redacted(server));
                failure.exit
            }
        },
    };
    exit.into()
}

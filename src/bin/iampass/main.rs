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

use clap::Parser;

use args::Cli;
use exit::Exit;
use output::{Failure, Output};

fn main() -> ExitCode {
    // Usage errors exit 2 here (clap's convention, and ours for bad input).
    let cli = Cli::parse();
    let output = Output::new(cli.global.json);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let exit = match runtime {
        Err(e) => {
            let failure = Failure::new(Exit::Unexpected, format!("cannot start: {e}"));
            output.failure(&failure);
            failure.exit
        }
        Ok(runtime) => match runtime.block_on(commands::run(&cli, &output)) {
            Ok(report) => {
                output.report(&report);
                report.exit
            }
            Err(failure) => {
                output.failure(&failure);
                failure.exit
            }
        },
    };
    exit.into()
}

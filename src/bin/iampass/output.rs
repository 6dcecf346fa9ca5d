//! What a command answers, and how it is shown: text for people (colour and spinner only on a
//! terminal) or one JSON document for scripts.

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use serde_json::{Value, json};

use crate::exit::Exit;

/// A command that ran to its end (a login that was denied included).
#[derive(Debug)]
pub struct Report {
    /// How the run ends.
    pub exit: Exit,
    /// The `--json` document.
    pub json: Value,
    /// The text for people, on standard output.
    pub text: String,
}

impl Report {
    /// A successful run.
    pub fn ok(json: Value, text: impl Into<String>) -> Self {
        Report {
            exit: Exit::Ok,
            json,
            text: text.into(),
        }
    }
}

/// A command that could not do its job; shown on standard error (and, with `--json`, as a
/// JSON document on standard output).
#[derive(Debug)]
pub struct Failure {
    /// How the run ends.
    pub exit: Exit,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    /// A failure with its exit code and message.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
        }
    }

    /// A hint for people, by kind of failure.
    fn hint(&self) -> Option<&'static str> {
        match self.exit {
            Exit::Outage => Some("check --server (IAMPASS_SERVER) and that IAMPASS is up"),
            Exit::NotFound => Some("check the user name and --app-id (IAMPASS_APPLICATION_ID)"),
            _ => None,
        }
    }
}

impl From<iampass::Error> for Failure {
    fn from(error: iampass::Error) -> Self {
        Failure::new(Exit::of(&error), describe(&error))
    }
}

/// The error and its causes on one line, without repeating a cause the message already has.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}

/// Where and how to print.
#[derive(Debug)]
pub struct Output {
    json: bool,
    interactive: bool,
}

impl Output {
    /// Text with colour only when standard output is a terminal (and `NO_COLOR` is unset),
    /// a spinner only when standard error is one too; JSON (no colour, no spinner) with `json`.
    pub fn new(json: bool) -> Self {
        let interactive =
            !json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        if json || !std::io::stdout().is_terminal() {
            // Output meant for a program: no escape codes on either stream.
            console::set_colors_enabled(false);
            console::set_colors_enabled_stderr(false);
        }
        Output { json, interactive }
    }

    /// A spinner on standard error with `message`, hidden unless interactive; dropping it
    /// clears it.
    pub fn spinner(&self, message: String) -> ProgressBar {
        if !self.interactive {
            return ProgressBar::hidden();
        }
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            )
            .with_message(message)
            .with_finish(ProgressFinish::AndClear);
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner
    }

    /// Prints a command's result.
    pub fn report(&self, report: &Report) {
        if self.json {
            print_json(&report.json);
        } else if !report.text.is_empty() {
            print_stdout(&report.text);
        }
    }

    /// Prints a failure: text on standard error, and with `--json` a JSON document
    /// `{"error": {"kind", "exit_code", "message"}}` on standard output.
    pub fn failure(&self, failure: &Failure) {
        if self.json {
            print_json(&json!({
                "error": {
                    "kind": failure.exit.kind(),
                    "exit_code": failure.exit.code(),
                    "message": failure.message,
                }
            }));
        }
        let mut text = format!(
            "{} {}",
            console::style("error:").for_stderr().red().bold(),
            failure.message
        );
        if let Some(hint) = failure.hint() {
            text.push_str(&format!(
                "\n{} {hint}",
                console::style("hint:").for_stderr().bold()
            ));
        }
        print_stderr(&text);
    }
}

/// Writes a line to standard output, ignoring a closed pipe (`iampass ... | head`) instead of
/// panicking like `println!`.
fn print_stdout(text: &dyn Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

fn print_stderr(text: &dyn Display) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

fn print_json(value: &Value) {
    print_stdout(&value);
}

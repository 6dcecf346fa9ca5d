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

    /// The failure with every URL's user and password (`http://user:pw@host`) left out of its
    /// message, `server` (as given, even when it does not parse) included.
    pub fn redacted(&self, server: Option<&str>) -> Failure {
        let mut message = self.message.clone();
        if let Some(server) = server.map(str::trim).filter(|s| !s.is_empty()) {
            // Its last `@` ends the user information, whatever the password holds (`/`...).
            let hidden = match server.split_once("://") {
                Some((scheme, rest)) if rest.contains('@') => {
                    let host = &rest[rest.rfind('@').unwrap_or(0) + 1..];
                    format!("{scheme}://***@{host}")
                }
                _ => redact_urls(server),
            };
            if hidden != server {
                message = message.replace(&format!("{server:?}"), &format!("{hidden:?}"));
                message = message.replace(server, &hidden);
            }
        }
        Failure::new(self.exit, redact_urls(&message))
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
        let mut message = describe(&error);
        if error.status() == Some(401) {
            // Signatures fail for two reasons a person can fix.
            message.push_str(" (wrong application secret, or this machine's clock is off?)");
        }
        Failure::new(Exit::of(&error), message)
    }
}

/// `text` with the user information of every URL in it (`scheme://user:password@`) replaced
/// by `***`; works on URLs that do not parse too (the authority ends at `/`, `?`, `#`, a quote,
/// a bracket that closes something else or a space; its last `@` ends the user information).
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '`' | ')' | '>') || c.is_whitespace()
            })
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(userinfo_end) => {
                out.push_str("***");
                out.push_str(&authority[userinfo_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
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

    /// A warning on standard error (never on standard output: `--json` stays one document).
    pub fn warning(&self, message: &str) {
        print_stderr(&format!(
            "{} {message}",
            console::style("warning:").for_stderr().yellow().bold()
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_is_left_out_of_urls() {
        for (text, shown) in [
            ("http://bob:PW@[::1", "http://***@[::1"),
            (
                "IAMPASS server URL \"http://bob:PW@[::1\": invalid IPv6 address",
                "IAMPASS server URL \"http://***@[::1\": invalid IPv6 address",
            ),
            ("at https://u:p@h:1/x?y=z@w", "at https://***@h:1/x?y=z@w"),
            ("http://a@b@host/p", "http://***@host/p"),
            (
                "(http://u:p@h) and ftp://x:y@z",
                "(http://***@h) and ftp://***@z",
            ),
            ("http://host:8765/path@x", "http://host:8765/path@x"),
            ("no url here: a@b", "no url here: a@b"),
        ] {
            assert_eq!(redact_urls(text), shown, "{text}");
        }
        let failure = Failure::new(Exit::BadInput, "bad server http://u:p%40ss@h:1 x");
        assert_eq!(
            failure.redacted(Some("http://u:p%40ss@h:1")).message,
            "bad server http://***@h:1 x"
        );
        let failure = Failure::new(Exit::BadInput, "URL \"http://u:p/w@h\": bad");
        assert_eq!(
            failure.redacted(Some("http://u:p/w@h")).message,
            "URL \"http://***@h\": bad"
        );
    }
}

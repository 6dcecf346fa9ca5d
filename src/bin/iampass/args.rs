//! The command line: global connection flags and one subcommand per task.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use iampass::{AuthenticationMethod, Secret};

use crate::exit::EXIT_CODES_HELP;

/// Manage IAMPASS users and phones, and sign users in from the command line.
///
/// The application's credentials come from IAMPASS_APPLICATION_ID (or --app-id) and
/// IAMPASS_APPLICATION_SECRET or --app-secret-file FILE (--app-secret works too, but other
/// users of the machine can read a command line), the server from IAMPASS_SERVER (or
/// --server; default https://iam-api.com). `status` and `logout` need only a session file.
#[derive(Debug, Parser)]
#[command(name = "iampass", version, about, long_about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts.
#[derive(Debug, Args)]
pub struct Global {
    /// IAMPASS base URL (an emulator's URL in development).
    #[arg(long, global = true, env = "IAMPASS_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// The application's id.
    #[arg(long, global = true, env = "IAMPASS_APPLICATION_ID", value_name = "ID")]
    pub app_id: Option<String>,

    /// The application's secret. Avoid this flag (it warns): other users of the machine see
    /// command lines in the process list. Set IAMPASS_APPLICATION_SECRET or use
    /// --app-secret-file instead. Never printed.
    #[arg(
        long,
        global = true,
        env = "IAMPASS_APPLICATION_SECRET",
        hide_env_values = true,
        value_name = "SECRET",
        value_parser = parse_secret
    )]
    pub app_secret: Option<Secret>,

    /// Read the application's secret from FILE (its first line; keep the file readable by
    /// you only). Takes precedence over IAMPASS_APPLICATION_SECRET.
    #[arg(long, global = true, value_name = "FILE")]
    pub app_secret_file: Option<PathBuf>,

    /// Seconds allowed for each call to IAMPASS, connection included.
    #[arg(long, global = true, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub timeout: Duration,

    /// Print one JSON document on standard output instead of text (errors too; no spinner).
    #[arg(long, global = true)]
    pub json: bool,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add or delete users.
    #[command(subcommand)]
    Users(UsersCommand),

    /// Print a link that registers the user's phone when opened on it.
    Link {
        /// The user.
        #[arg(value_parser = NonEmptyStringValueParser::new())]
        name: String,
        /// The name the IAMPASS app shows for the user.
        #[arg(long, value_name = "D")]
        display_name: Option<String>,
        /// Also draw the link as a QR code in the terminal, for the phone's camera.
        #[arg(long)]
        qr: bool,
    },

    /// Send the registration link to the user's phone by SMS.
    Sms {
        /// The user.
        #[arg(value_parser = NonEmptyStringValueParser::new())]
        name: String,
        /// The phone number with its country code, e.g. +447700900123.
        #[arg(value_parser = parse_phone_number)]
        phone: String,
        /// The name the IAMPASS app shows for the user.
        #[arg(long, value_name = "D")]
        display_name: Option<String>,
        /// Text sent before the link.
        #[arg(long, value_name = "M")]
        message: Option<String>,
    },

    /// Tell whether the user has a registered phone (exit 0 either way).
    Device {
        /// The user.
        #[arg(value_parser = NonEmptyStringValueParser::new())]
        name: String,
    },

    /// Report the user's phone lost: IAMPASS disables it and answers a new registration link.
    LostDevice {
        /// The user.
        #[arg(value_parser = NonEmptyStringValueParser::new())]
        name: String,
    },

    /// Ask the user's phone to sign them in and wait for the answer (exit 0 only if approved).
    Login(LoginArgs),

    /// Ask IAMPASS where a stored session stands (exit 0 only if it is active).
    /// Needs no application credentials.
    Status {
        /// The session file written by `login --session-out` (required).
        #[arg(long, value_name = "FILE")]
        session: Option<PathBuf>,
    },

    /// End a stored session at IAMPASS. Needs no application credentials.
    Logout {
        /// The session file written by `login --session-out` (required).
        #[arg(long, value_name = "FILE")]
        session: Option<PathBuf>,
    },
}

/// `iampass users ...`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add users (existing ones are reported, not an error).
    Add {
        /// The users to add.
        #[arg(required = true, value_parser = NonEmptyStringValueParser::new())]
        names: Vec<String>,
    },
    /// Delete users (their sessions end; names IAMPASS does not know are reported, not an
    /// error).
    Delete {
        /// The users to delete.
        #[arg(required = true, value_parser = NonEmptyStringValueParser::new())]
        names: Vec<String>,
    },
}

/// `iampass login ...`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The user.
    #[arg(value_parser = NonEmptyStringValueParser::new())]
    pub name: String,

    /// An authentication method the phone should use (repeatable; default: IAMPASS chooses).
    #[arg(long = "method", value_name = "M")]
    pub methods: Vec<Method>,

    /// How long the session may live, in seconds (default: IAMPASS's, one hour).
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: Option<u64>,

    /// Write the approved session as JSON (the reference client's format) to FILE, readable
    /// by its owner only, for `status --session` and `logout --session`.
    #[arg(long, value_name = "FILE")]
    pub session_out: Option<PathBuf>,

    /// Seconds between status checks while waiting (fractions allowed, e.g. 0.2).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_seconds)]
    pub poll_interval: Duration,

    /// Give up (and log the pending session out) after this many seconds, should IAMPASS
    /// never time the request out itself.
    #[arg(long, value_name = "SECS", default_value = "600", value_parser = parse_seconds)]
    pub max_wait: Duration,
}

/// An authentication method, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// Confirm on the phone.
    Acceptance,
    /// Unlock the phone.
    Device,
    /// Face recognition.
    Facial,
}

impl From<Method> for AuthenticationMethod {
    fn from(method: Method) -> Self {
        match method {
            Method::Acceptance => AuthenticationMethod::Acceptance,
            Method::Device => AuthenticationMethod::Device,
            Method::Facial => AuthenticationMethod::Facial,
        }
    }
}

fn parse_secret(value: &str) -> Result<Secret, String> {
    Ok(Secret::new(value))
}

/// Seconds as a positive decimal number, at most a day.
fn parse_seconds(value: &str) -> Result<Duration, String> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "{value:?} must be more than 0 and at most 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `+` then 7 to 15 digits (E.164), spaces and dashes allowed between them: checked here so
/// a typo is a usage error rather than a round trip.
fn parse_phone_number(value: &str) -> Result<String, String> {
    let bad = || format!("{value:?} is not a phone number with country code, e.g. +447700900123");
    let rest = value.trim().strip_prefix('+').ok_or_else(bad)?;
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    if rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-'))
        && (7..=15).contains(&digits)
    {
        Ok(value.trim().to_owned())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn seconds_are_positive_and_bounded() {
        assert_eq!(parse_seconds("1").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_seconds("0.25").unwrap(), Duration::from_millis(250));
        for bad in ["0", "-1", "abc", "", "NaN", "inf", "86401"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_numbers_need_a_country_code() {
        assert_eq!(
            parse_phone_number(" +44 7700-900123").unwrap(),
            "+44 7700-900123"
        );
        for bad in [
            "",
            "+",
            "07700900123",
            "+44abc7700",
            "+123456",
            "+1234567890123456",
        ] {
            assert!(parse_phone_number(bad).is_err(), "{bad}");
        }
    }
}

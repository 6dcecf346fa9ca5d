//! Exit codes, and the one place that maps an [`iampass::Error`] to one.

use std::process::ExitCode;

use iampass::Error;

/// What a run ended with; each has its own, documented, exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done (for `login`: approved; for `status`: the session is active).
    Ok,
    /// The login was not approved (denied, timed out, cancelled, could not start) or the
    /// session is not active.
    NotApproved,
    /// Bad input or configuration: a usage error, a missing credential, an unreadable
    /// session file, a bad server URL.
    BadInput,
    /// IAMPASS refused the request (`status: false`, bad credentials, another 4xx).
    Refused,
    /// IAMPASS could not be reached or was failing (connection, timeout, 5xx).
    Outage,
    /// Unknown application or user.
    NotFound,
    /// IAMPASS answered something the CLI does not understand, or another error.
    Unexpected,
    /// Interrupted by Ctrl-C (a pending login was logged out first).
    Interrupted,
}

/// The exit-code table shown at the end of `--help` (and in the README).
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    done (login: approved; status: the session is active)
  1    not approved: denied, timed out, cancelled or could not start (status: not active)
  2    bad input or configuration (usage error, missing credentials, bad session file)
  3    refused by IAMPASS (status false, bad credentials, other 4xx)
  4    outage: IAMPASS unreachable, too slow or failing (5xx)
  5    not found: unknown application or user
  6    unexpected answer from IAMPASS
  130  interrupted by Ctrl-C (a pending login is logged out first)";

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::NotApproved => 1,
            Exit::BadInput => 2,
            Exit::Refused => 3,
            Exit::Outage => 4,
            Exit::NotFound => 5,
            Exit::Unexpected => 6,
            Exit::Interrupted => 130,
        }
    }

    /// A short machine-readable name, for `--json` error documents.
    pub fn kind(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::NotApproved => "not_approved",
            Exit::BadInput => "bad_input",
            Exit::Refused => "refused",
            Exit::Outage => "outage",
            Exit::NotFound => "not_found",
            Exit::Unexpected => "unexpected",
            Exit::Interrupted => "interrupted",
        }
    }

    /// Classifies a client error. `Error` is `#[non_exhaustive]`: a variant added later
    /// lands on its `is_outage`/`status` classification first, and on `Unexpected` last.
    pub fn of(error: &Error) -> Exit {
        // HTTP answers first: for a person at a terminal a 401/403/400 is a refusal (fix the
        // credentials or the input), even though a server would treat it as an outage.
        match error.status() {
            Some(404 | 410) => return Exit::NotFound,
            Some(408 | 429) => return Exit::Outage,
            Some(s) if (400..500).contains(&s) => return Exit::Refused,
            Some(_) => return Exit::Outage,
            None => {}
        }
        if error.is_outage() {
            return Exit::Outage;
        }
        match error {
            Error::Refused { .. } => Exit::Refused,
            Error::InvalidArgument(_) | Error::Config(_) | Error::Cookie(_) => Exit::BadInput,
            _ => Exit::Unexpected,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_their_exit_codes() {
        let http = |status| Error::Http {
            status,
            body: String::new(),
            retry_after: None,
        };
        assert_eq!(Exit::of(&http(429)), Exit::Outage);
        assert_eq!(Exit::of(&http(408)), Exit::Outage);
        assert_eq!(Exit::of(&http(403)), Exit::Refused);
        assert_eq!(
            Exit::of(&Error::CircuitOpen {
                retry_in: Default::default()
            }),
            Exit::Outage
        );
        assert_eq!(Exit::of(&http(503)), Exit::Outage);
        assert_eq!(Exit::of(&Error::Timeout(Default::default())), Exit::Outage);
        assert_eq!(Exit::of(&http(404)), Exit::NotFound);
        assert_eq!(Exit::of(&http(401)), Exit::Refused);
        assert_eq!(Exit::of(&http(400)), Exit::Refused);
        assert_eq!(Exit::of(&Error::Refused { reason: None }), Exit::Refused);
        assert_eq!(Exit::of(&Error::Config("x".into())), Exit::BadInput);
        assert_eq!(
            Exit::of(&Error::InvalidArgument("x".into())),
            Exit::BadInput
        );
        assert_eq!(Exit::of(&Error::Protocol("x".into())), Exit::Unexpected);
    }

    #[test]
    fn codes_are_distinct_and_documented() {
        let all = [
            Exit::Ok,
            Exit::NotApproved,
            Exit::BadInput,
            Exit::Refused,
            Exit::Outage,
            Exit::NotFound,
            Exit::Unexpected,
            Exit::Interrupted,
        ];
        let mut codes: Vec<u8> = all.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for exit in all {
            let line = format!("\n  {:<4} ", exit.code());
            assert!(EXIT_CODES_HELP.contains(&line), "{exit:?} undocumented");
        }
    }
}

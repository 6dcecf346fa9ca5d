//! The crate's one error type. An outage (connect error, timeout, 5xx) is always an
//! `Error`, never a session that "failed": callers can tell the two apart.

use std::time::Duration;

/// Everything that can go wrong talking to IAMPASS or configuring the crate.
///
/// ```
/// # async fn run() {
/// use iampass::{AuthenticationApi, Error};
/// let api = AuthenticationApi::builder("app", "secret")
///     .server("http://127.0.0.1:9") // nothing listens here
///     .build()
///     .unwrap();
/// match api.authenticate_user("alice").await {
///     Err(e) if e.is_outage() => eprintln!("IAMPASS unreachable: {e}"),
///     Err(e) => eprintln!("error: {e}"),
///     Ok(session) => println!("started: {:?}", session.session_status()),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection to IAMPASS could not be made.
    #[error("cannot connect to IAMPASS: {0}")]
    Connect(#[source] reqwest::Error),
    /// IAMPASS did not answer within the configured time.
    #[error("IAMPASS did not answer within {0:?}")]
    Timeout(Duration),
    /// Another transport failure (connection reset, TLS, body read).
    #[error("transport error talking to IAMPASS: {0}")]
    Transport(#[source] reqwest::Error),
    /// IAMPASS answered with an unexpected HTTP status.
    #[error("IAMPASS answered HTTP {status}: {body}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The start of the answer's body (at most 512 bytes), for diagnosis.
        body: String,
    },
    /// IAMPASS answered `{"status": false, "reason": ...}`: it understood and declined.
    #[error("IAMPASS refused the request: {}", reason.as_deref().unwrap_or("no reason given"))]
    Refused {
        /// The reason IAMPASS gave, if any.
        reason: Option<String>,
    },
    /// The answer could not be understood (not JSON, missing fields, unknown status).
    #[error("unexpected answer from IAMPASS: {0}")]
    Protocol(String),
    /// The crate is misconfigured (bad server URL, missing credentials, bad cookie key).
    #[error("configuration error: {0}")]
    Config(String),
    /// A session cookie could not be opened or written.
    #[error("session cookie error: {0}")]
    Cookie(String),
    /// An argument was refused before any request was sent (empty user id, no session token).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// `true` when IAMPASS could not be reached or was failing (connect error, timeout,
    /// transport error or a 5xx answer): the user's state is unknown, not "failed".
    pub fn is_outage(&self) -> bool {
        match self {
            Error::Connect(_) | Error::Timeout(_) | Error::Transport(_) => true,
            Error::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The HTTP status IAMPASS answered with, for [`Error::Http`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `true` for a `404`: unknown application or user.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// `true` for `401`/`403`: IAMPASS refused the signature or credentials.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    pub(crate) fn from_reqwest(err: reqwest::Error, timeout: Duration) -> Self {
        // Drop the URL: a status URL names the session token.
        let err = err.without_url();
        if err.is_timeout() {
            Error::Timeout(timeout)
        } else if err.is_connect() {
            Error::Connect(err)
        } else {
            Error::Transport(err)
        }
    }
}

//! The crate's one error type. An outage (connect error, timeout, an answer that does not say
//! "this session is over") is always an `Error`, never a session that "failed": callers can
//! tell the two apart.
//!
//! # How an HTTP answer is classified
//!
//! | answer | [`Error::ends_session`] | [`Error::is_outage`] | counts toward the circuit breaker |
//! | --- | --- | --- | --- |
//! | `404`, `410` | yes (on a status or logout call) | no | no |
//! | `408`, `429`, every `5xx` | no | yes | yes |
//! | `401`, `403`, every other `4xx` (and any `3xx` that reaches the client) | no | yes | no |
//! | connect error, timeout, transport error | no | yes | yes |
//!
//! `401`/`403`/`400` are outages for the caller (the application's credentials or request are at
//! fault, not the user's session) but do not open the circuit breaker: one user's stale session
//! secret, or a request shaped by user input, must not cut every other user off.

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
    Connect(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// IAMPASS did not answer within the configured time.
    #[error("IAMPASS did not answer within {0:?}")]
    Timeout(Duration),
    /// Another transport failure (connection reset, TLS, body read).
    #[error("transport error talking to IAMPASS: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// IAMPASS answered with an unexpected HTTP status.
    #[error("IAMPASS answered HTTP {status}: {body}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The start of the answer's body (at most 512 bytes), for diagnosis.
        body: String,
        /// The answer's `Retry-After` (seconds or an HTTP date, capped at
        /// [`MAX_RETRY_AFTER`](crate::client::MAX_RETRY_AFTER)), when it had one.
        retry_after: Option<Duration>,
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
    /// The client's circuit breaker is open after repeated outages: nothing was sent.
    #[error("IAMPASS is failing; not calling it for another {retry_in:?} (circuit open)")]
    CircuitOpen {
        /// How long until the breaker lets a probe request through.
        retry_in: Duration,
    },
    /// Every allowed concurrent IAMPASS call was busy for the whole timeout: nothing was sent.
    #[error("{limit} IAMPASS calls already in flight; none finished within {waited:?}")]
    Saturated {
        /// The client's `max_concurrent_requests`.
        limit: usize,
        /// How long the call waited for a free slot.
        waited: Duration,
    },
}

impl Error {
    /// `true` when IAMPASS could not be reached, was failing or refused the application
    /// itself: the user's state is unknown, not "failed". That is every error except an
    /// answer that [ends the session](Self::ends_session) (`404`, `410`), a refusal, an
    /// unreadable answer and local errors (configuration, cookie, argument).
    ///
    /// ```
    /// use iampass::Error;
    /// let http = |status| Error::Http { status, body: String::new(), retry_after: None };
    /// assert!(http(429).is_outage() && http(408).is_outage() && http(503).is_outage());
    /// assert!(http(401).is_outage(), "the application's credentials, not the user's session");
    /// assert!(!http(404).is_outage() && !http(410).is_outage());
    /// ```
    pub fn is_outage(&self) -> bool {
        match self {
            Error::Connect(_)
            | Error::Timeout(_)
            | Error::Transport(_)
            | Error::CircuitOpen { .. }
            | Error::Saturated { .. } => true,
            Error::Http { .. } => !self.ends_session(),
            _ => false,
        }
    }

    /// `true` only for an answer that means "this session is unknown or over" when it comes
    /// from a status or logout call: `404 Not Found` and `410 Gone`. Every other error
    /// (including `408`, `429`, `401`, `403`) is not about the session and must not sign the
    /// user out. (From `authenticate_user` a `404` means an unknown application instead.)
    ///
    /// ```
    /// use iampass::Error;
    /// let http = |status| Error::Http { status, body: String::new(), retry_after: None };
    /// assert!(http(404).ends_session() && http(410).ends_session());
    /// assert!(!http(429).ends_session() && !http(403).ends_session());
    /// assert!(!Error::Timeout(std::time::Duration::from_secs(1)).ends_session());
    /// ```
    pub fn ends_session(&self) -> bool {
        matches!(self.status(), Some(404 | 410))
    }

    /// How long IAMPASS asked callers to wait (`Retry-After` of a `429`/`503`), or how long
    /// an open circuit breaker refuses calls. Useful as the `Retry-After` of an app's own 503.
    ///
    /// ```
    /// use std::time::Duration;
    /// use iampass::Error;
    /// let busy = Error::Http { status: 429, body: String::new(),
    ///     retry_after: Some(Duration::from_secs(7)) };
    /// assert_eq!(busy.retry_after(), Some(Duration::from_secs(7)));
    /// let open = Error::CircuitOpen { retry_in: Duration::from_secs(2) };
    /// assert_eq!(open.retry_after(), Some(Duration::from_secs(2)));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Http { retry_after, .. } => *retry_after,
            Error::CircuitOpen { retry_in } => Some(*retry_in),
            _ => None,
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

    /// `true` when the error says the server itself is struggling (unreachable, too slow,
    /// `408`, `429`, `5xx`): what the circuit breaker counts. Errors caused by one request or
    /// one session (`400`, `401`, `403`, ...) do not count, so they cannot be used to cut
    /// every user off.
    pub(crate) fn is_server_failure(&self) -> bool {
        match self {
            Error::Connect(_) | Error::Timeout(_) | Error::Transport(_) => true,
            Error::Http { status, .. } => matches!(status, 408 | 429) || *status >= 500,
            _ => false,
        }
    }

    pub(crate) fn from_reqwest(err: reqwest::Error, timeout: Duration) -> Self {
        // Drop the URL: a status URL names the session token.
        let err = err.without_url();
        if err.is_connect() {
            // A connect timeout is a connect error (nothing reached the server).
            Error::Connect(Box::new(err))
        } else if err.is_timeout() {
            Error::Timeout(timeout)
        } else {
            Error::Transport(Box::new(err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;
    use std::time::Duration;

    fn http(status: u16) -> Error {
        Error::Http {
            status,
            body: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn only_404_and_410_end_a_session_every_other_status_is_an_outage() {
        for status in 300..600u16 {
            let err = http(status);
            let ends = matches!(status, 404 | 410);
            assert_eq!(err.ends_session(), ends, "{status}");
            assert_eq!(err.is_outage(), !ends, "{status}");
        }
        // Named explicitly, as the hardening issues list them.
        for status in [408, 429, 401, 403, 400, 409, 422, 500, 502, 503, 504] {
            assert!(http(status).is_outage(), "{status}");
            assert!(!http(status).ends_session(), "{status}");
        }
    }

    #[test]
    fn the_breaker_counts_only_server_side_failures() {
        for status in 300..600u16 {
            let counted = matches!(status, 408 | 429) || status >= 500;
            assert_eq!(http(status).is_server_failure(), counted, "{status}");
        }
        assert!(Error::Timeout(Duration::from_secs(1)).is_server_failure());
        for local in [
            Error::CircuitOpen {
                retry_in: Duration::ZERO,
            },
            Error::Saturated {
                limit: 1,
                waited: Duration::ZERO,
            },
            Error::Refused { reason: None },
            Error::Protocol("x".into()),
            Error::InvalidArgument("x".into()),
        ] {
            assert!(!local.is_server_failure(), "{local}");
        }
    }

    #[test]
    fn local_errors_are_classified() {
        let open = Error::CircuitOpen {
            retry_in: Duration::from_secs(3),
        };
        assert!(open.is_outage() && !open.ends_session());
        assert_eq!(open.retry_after(), Some(Duration::from_secs(3)));
        let busy = Error::Saturated {
            limit: 4,
            waited: Duration::from_secs(1),
        };
        assert!(busy.is_outage() && busy.retry_after().is_none());
        for not_outage in [
            Error::Refused { reason: None },
            Error::Protocol("x".into()),
            Error::Config("x".into()),
            Error::Cookie("x".into()),
            Error::InvalidArgument("x".into()),
        ] {
            assert!(!not_outage.is_outage(), "{not_outage}");
            assert!(!not_outage.ends_session(), "{not_outage}");
            assert_eq!(not_outage.retry_after(), None);
        }
        let limited = Error::Http {
            status: 503,
            body: String::new(),
            retry_after: Some(Duration::from_secs(9)),
        };
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(9)));
        assert_eq!(http(429).retry_after(), None);
    }
}

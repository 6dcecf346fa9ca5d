//! An IAMPASS authentication session, its status values and authentication methods.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::client::transport::{Target, Transport};
use crate::metrics::{self, UpstreamCall};
use crate::{Error, Secret};

/// Where an authentication session stands, as IAMPASS reports it.
///
/// Only [`Status::Active`] grants access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The request was sent to the phone and is not answered yet.
    Pending,
    /// The phone is collecting authentication data.
    Identifying,
    /// The user is authenticated.
    Active,
    /// Authenticated, but the phone has left the area where the login happened.
    Walkaway,
    /// Authentication failed (denied, or could not start).
    Failed,
    /// The user did not answer in time.
    Timeout,
    /// The user cancelled the request.
    Cancelled,
    /// The session was ended (logout, remote logout, expiry).
    Closed,
}

impl Status {
    /// Every status, in protocol order.
    pub const ALL: [Status; 8] = [
        Status::Pending,
        Status::Identifying,
        Status::Active,
        Status::Walkaway,
        Status::Failed,
        Status::Timeout,
        Status::Cancelled,
        Status::Closed,
    ];

    /// The wire name (`"active"`, `"walkaway"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Identifying => "identifying",
            Status::Active => "active",
            Status::Walkaway => "walkaway",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Cancelled => "cancelled",
            Status::Closed => "closed",
        }
    }

    /// `pending` or `identifying`: the user has not answered yet.
    pub fn is_in_progress(self) -> bool {
        matches!(self, Status::Pending | Status::Identifying)
    }

    /// `failed`, `timeout` or `cancelled` (the reference client's "failed" class).
    pub fn is_failed(self) -> bool {
        matches!(self, Status::Failed | Status::Timeout | Status::Cancelled)
    }

    /// No later status can follow: failed, timeout, cancelled or closed.
    pub fn is_terminal(self) -> bool {
        self.is_failed() || self == Status::Closed
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::Protocol(format!("unknown session status {s:?}")))
    }
}

/// How the phone authenticates the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthenticationMethod {
    /// Confirm on the phone.
    Acceptance,
    /// Unlock the phone.
    Device,
    /// Face recognition.
    Facial,
}

impl AuthenticationMethod {
    /// The wire name (`"acceptance"`, `"device"`, `"facial"`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthenticationMethod::Acceptance => "acceptance",
            AuthenticationMethod::Device => "device",
            AuthenticationMethod::Facial => "facial",
        }
    }
}

impl fmt::Display for AuthenticationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthenticationMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "acceptance" => Ok(AuthenticationMethod::Acceptance),
            "device" => Ok(AuthenticationMethod::Device),
            "facial" => Ok(AuthenticationMethod::Facial),
            other => Err(Error::InvalidArgument(format!(
                "unknown authentication method {other:?}"
            ))),
        }
    }
}

/// One IAMPASS authentication session, as started by
/// [`AuthenticationApi::authenticate_user`](crate::AuthenticationApi::authenticate_user).
///
/// It serialises to exactly the reference client's JSON (both directions), so a session
/// stored by Python loads here and the other way round. The secret is redacted from `Debug`.
///
/// ```
/// use iampass::{Session, Status};
/// let json = r#"{"session_token": "tok", "session_secret": "sec",
///   "logout_url": "http://x/logout", "status_url": "http://x/status",
///   "failure_reason": null, "session_status": "active"}"#;
/// let session: Session = serde_json::from_str(json).unwrap();
/// assert!(session.active());
/// assert!(!format!("{session:?}").contains("sec\""));
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    #[serde(default)]
    session_token: Option<String>,
    #[serde(default)]
    session_secret: Option<Secret>,
    #[serde(default)]
    logout_url: Option<String>,
    #[serde(default)]
    status_url: Option<String>,
    #[serde(default)]
    failure_reason: Option<String>,
    session_status: Status,
    /// The HTTP settings used for `get_status`/`destroy`; not part of the JSON.
    #[serde(skip)]
    transport: Option<Transport>,
    /// The status URL, parsed at the first status call (every later one reuses it).
    #[serde(skip)]
    status_target: OnceLock<Arc<Target>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("session_token", &self.session_token)
            .field("session_secret", &self.session_secret)
            .field("logout_url", &self.logout_url)
            .field("status_url", &self.status_url)
            .field("failure_reason", &self.failure_reason)
            .field("session_status", &self.session_status)
            .finish()
    }
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        self.session_token == other.session_token
            && self.session_secret == other.session_secret
            && self.logout_url == other.logout_url
            && self.status_url == other.status_url
            && self.failure_reason == other.failure_reason
            && self.session_status == other.session_status
    }
}

/// The `authentication_status` object of authenticate and status answers.
#[derive(Deserialize)]
pub(crate) struct AuthenticationStatus {
    #[serde(default)]
    pub(crate) authenticated: Option<bool>,
    #[serde(default)]
    pub(crate) session_status: Option<Status>,
    #[serde(default)]
    pub(crate) reason: Option<String>,
    #[serde(default)]
    pub(crate) session_token: Option<String>,
    #[serde(default)]
    pub(crate) session_secret: Option<Secret>,
    #[serde(default)]
    pub(crate) status_url: Option<String>,
    #[serde(default)]
    pub(crate) logout_url: Option<String>,
}

impl AuthenticationStatus {
    /// Reads an authenticate or status answer in either shape IAMPASS is known to use: the
    /// reference client's `{"authentication_status": {...}}` wrapper, or the documented flat
    /// `{"authenticated": .., "session_status": ..}`. An object with neither is a protocol error.
    pub(crate) fn from_answer(body: &[u8]) -> Result<Self, Error> {
        let value: serde_json::Value = crate::client::transport::decode(body)?;
        let Some(object) = value.as_object() else {
            return Err(Error::Protocol("answer is not a JSON object".into()));
        };
        let inner = match object.get("authentication_status") {
            Some(inner) => inner.clone(),
            None if object.contains_key("authenticated")
                || object.contains_key("session_status") =>
            {
                value
            }
            None => {
                return Err(Error::Protocol(
                    "answer has neither authentication_status nor authenticated/session_status"
                        .into(),
                ));
            }
        };
        serde_json::from_value(inner)
            .map_err(|e| Error::Protocol(format!("bad authentication_status: {e}")))
    }
}

/// The status in a status answer, in either shape [`AuthenticationStatus::from_answer`]
/// reads, straight from the bytes: no JSON tree, no copies (the status call's hot path).
fn status_of_answer(body: &[u8]) -> Result<Status, Error> {
    /// The fields that matter; the others are skipped unread.
    #[derive(Deserialize)]
    struct Fields {
        /// Read only to refuse a malformed answer (as `from_answer` does).
        #[serde(default, rename = "authenticated")]
        _authenticated: Option<bool>,
        #[serde(default)]
        session_status: Option<Status>,
    }
    /// The wrapper, or the flat shape (no `serde(flatten)`: it would buffer every field).
    #[derive(Deserialize)]
    struct StatusAnswer {
        #[serde(default)]
        authentication_status: Option<Fields>,
        #[serde(default)]
        authenticated: Option<bool>,
        #[serde(default)]
        session_status: Option<Status>,
    }
    let answer: StatusAnswer = crate::client::transport::decode(body)?;
    let fields = match answer.authentication_status {
        Some(inner) => inner,
        None if answer.authenticated.is_some() || answer.session_status.is_some() => Fields {
            _authenticated: answer.authenticated,
            session_status: answer.session_status,
        },
        None => {
            return Err(Error::Protocol(
                "answer has neither authentication_status nor authenticated/session_status".into(),
            ));
        }
    };
    fields
        .session_status
        .ok_or_else(|| Error::Protocol("status answer without session_status".into()))
}

/// The refusal in a logout answer: `Some(reason)` for `{"status": false, "reason"?: ..}`.
/// Anything else (`{"status": true}`, an empty body, a body that is not JSON, as the reference
/// client ignores it) is `None`: the logout went through.
fn logout_refusal(body: &[u8]) -> Option<Option<String>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.get("status")? != &serde_json::Value::Bool(false) {
        return None;
    }
    Some(
        value
            .get("reason")
            .and_then(|r| r.as_str())
            .map(str::to_owned),
    )
}

impl Session {
    /// A session with the given parts (for restoring sessions stored elsewhere and for tests).
    pub fn new(
        session_token: impl Into<String>,
        session_secret: impl Into<Secret>,
        status_url: impl Into<String>,
        logout_url: impl Into<String>,
        session_status: Status,
    ) -> Self {
        Session {
            session_token: Some(session_token.into()),
            session_secret: Some(session_secret.into()),
            logout_url: Some(logout_url.into()),
            status_url: Some(status_url.into()),
            failure_reason: None,
            session_status,
            transport: None,
            status_target: OnceLock::new(),
        }
    }

    /// A session from every stored part (the actix cookie's compact form).
    #[cfg(feature = "core")]
    pub(crate) fn from_parts(
        session_token: Option<String>,
        session_secret: Option<String>,
        status_url: Option<String>,
        logout_url: Option<String>,
        failure_reason: Option<String>,
        session_status: Status,
    ) -> Self {
        Session {
            session_token,
            session_secret: session_secret.map(Secret::from),
            logout_url,
            status_url,
            failure_reason,
            session_status,
            transport: None,
            status_target: OnceLock::new(),
        }
    }

    /// A session that could not start, with the reason IAMPASS gave.
    ///
    /// ```
    /// let s = iampass::Session::failed_to_start(Some("UNKNOWN_USER".into()));
    /// assert!(s.failed());
    /// assert_eq!(s.failure_reason(), Some("UNKNOWN_USER"));
    /// ```
    pub fn failed_to_start(reason: Option<String>) -> Self {
        Session {
            session_token: None,
            session_secret: None,
            logout_url: None,
            status_url: None,
            failure_reason: reason,
            session_status: Status::Failed,
            transport: None,
            status_target: OnceLock::new(),
        }
    }

    pub(crate) fn from_authenticate(status: AuthenticationStatus, transport: Transport) -> Self {
        if status.authenticated != Some(true) {
            let mut s = Session::failed_to_start(status.reason);
            s.transport = Some(transport);
            return s;
        }
        Session {
            session_token: status.session_token,
            session_secret: status.session_secret,
            logout_url: status.logout_url,
            status_url: status.status_url,
            failure_reason: status.reason,
            session_status: status.session_status.unwrap_or(Status::Pending),
            transport: Some(transport),
            status_target: OnceLock::new(),
        }
    }

    /// Loads a session from the reference client's JSON.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| Error::Protocol(format!("session JSON: {e}")))
    }

    /// The reference client's JSON for this session.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a session always serialises")
    }

    /// The last known status.
    pub fn session_status(&self) -> Status {
        self.session_status
    }

    /// Why the session failed to start, if it did.
    pub fn failure_reason(&self) -> Option<&str> {
        self.failure_reason.as_deref()
    }

    /// The session token (public: it names the session, the secret proves it).
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }

    /// The session secret.
    pub fn session_secret(&self) -> Option<&Secret> {
        self.session_secret.as_ref()
    }

    /// Where the status is read.
    pub fn status_url(&self) -> Option<&str> {
        self.status_url.as_deref()
    }

    /// Where the session is ended.
    pub fn logout_url(&self) -> Option<&str> {
        self.logout_url.as_deref()
    }

    /// `failed`, `timeout` or `cancelled`.
    pub fn failed(&self) -> bool {
        self.session_status.is_failed()
    }

    /// `pending` or `identifying`.
    pub fn in_progress(&self) -> bool {
        self.session_status.is_in_progress()
    }

    /// `active`: the only status that grants access.
    pub fn active(&self) -> bool {
        self.session_status == Status::Active
    }

    /// Uses `transport`'s HTTP client and timeout for this session's calls.
    pub(crate) fn attach(&mut self, transport: Transport) {
        self.transport = Some(transport);
    }

    /// The client this session calls through: the one that started it, or the one it was
    /// [attached](crate::AuthenticationApi::attach) to. A session read from JSON or a cookie
    /// has none until then (no hidden process-wide client with other timeouts and breaker).
    fn transport(&self) -> Result<&Transport, Error> {
        self.transport.as_ref().ok_or_else(|| {
            Error::Config(
                "this session is not attached to a client: call AuthenticationApi::attach(session) \
                 (or AuthenticationApi::session_status(&session)) first"
                    .into(),
            )
        })
    }

    fn credentials(&self) -> Result<(&str, &Secret), Error> {
        match (&self.session_token, &self.session_secret) {
            (Some(token), Some(secret)) => Ok((token, secret)),
            _ => Err(Error::InvalidArgument(
                "the session has no token or secret (it never started)".into(),
            )),
        }
    }

    /// Asks IAMPASS for the current status without changing this value (usable through a
    /// shared reference, e.g. by many concurrent requests).
    pub async fn fetch_status(&self) -> Result<Status, Error> {
        self.fetch_status_with(self.transport()?).await
    }

    /// [`fetch_status`](Self::fetch_status) through `transport`.
    pub(crate) async fn fetch_status_with(&self, transport: &Transport) -> Result<Status, Error> {
        let (token, secret) = self.credentials()?;
        let target = self.status_target()?;
        metrics::upstream(UpstreamCall::Status, async {
            let body = transport
                .get_target(&target, "status", token, secret)
                .await?;
            status_of_answer(&body)
        })
        .await
    }

    /// The status URL, parsed once.
    fn status_target(&self) -> Result<Arc<Target>, Error> {
        if let Some(target) = self.status_target.get() {
            return Ok(target.clone());
        }
        let url = self
            .status_url
            .as_deref()
            .ok_or_else(|| Error::InvalidArgument("the session has no status URL".into()))?;
        let target = Arc::new(Target::parse(url)?);
        Ok(self.status_target.get_or_init(|| target).clone())
    }

    /// Asks IAMPASS for the current status and stores it. On an error the stored status is
    /// left as it was and the error is returned (an outage is not a failed login).
    ///
    /// ```no_run
    /// # async fn run(mut session: iampass::Session) -> Result<(), iampass::Error> {
    /// if session.get_status().await?.is_failed() {
    ///     println!("denied: {:?}", session.failure_reason());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_status(&mut self) -> Result<Status, Error> {
        let status = self.fetch_status().await?;
        self.session_status = status;
        Ok(status)
    }

    /// Ends the session at IAMPASS (logout). Afterwards the stored status is `closed`.
    ///
    /// IAMPASS answering `{"status": false, "reason": ..}` is [`Error::Refused`] and leaves the
    /// stored status as it was; `{"status": true}` or an empty body closes the session.
    ///
    /// ```no_run
    /// # async fn run(mut session: iampass::Session) {
    /// match session.destroy().await {
    ///     Ok(()) => assert_eq!(session.session_status(), iampass::Status::Closed),
    ///     Err(iampass::Error::Refused { reason }) => eprintln!("logout refused: {reason:?}"),
    ///     Err(e) => eprintln!("logout failed: {e}"),
    /// }
    /// # }
    /// ```
    pub async fn destroy(&mut self) -> Result<(), Error> {
        let transport = self.transport()?.clone();
        self.end_with(&transport).await?;
        self.session_status = Status::Closed;
        Ok(())
    }

    /// Ends the session at IAMPASS through `transport` (see [`destroy`](Self::destroy)).
    pub(crate) async fn end_with(&self, transport: &Transport) -> Result<(), Error> {
        let (token, secret) = self.credentials()?;
        let url = self
            .logout_url
            .as_deref()
            .ok_or_else(|| Error::InvalidArgument("the session has no logout URL".into()))?;
        metrics::upstream(UpstreamCall::Logout, async {
            let body = transport.post(url, "logout", token, secret, None).await?;
            match logout_refusal(&body) {
                Some(reason) => Err(Error::Refused { reason }),
                None => Ok(()),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests;

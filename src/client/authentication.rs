//! Starting authentication sessions: the IAMPASS authentication API.

use std::time::Duration;

use serde_json::json;

use super::{Endpoint, check_user_id};
use crate::metrics::{self, UpstreamCall};
use crate::session::AuthenticationStatus;
use crate::{AuthenticationMethod, Error, Session, Status};

/// The [`Session::failure_reason`] of a session that did not start because IAMPASS does not
/// know the user, whichever way IAMPASS said so.
pub const UNKNOWN_USER: &str = "UNKNOWN_USER";

/// Starts authentication sessions, signed with the application's credentials.
///
/// ```no_run
/// # async fn run() -> Result<(), iampass::Error> {
/// use iampass::AuthenticationApi;
/// let api = AuthenticationApi::new("app-id", "app-secret")?;
/// let mut session = api.authenticate_user("alice").await?;
/// while session.in_progress() {
///     tokio::time::sleep(std::time::Duration::from_secs(1)).await;
///     session.get_status().await?;
/// }
/// println!("signed in: {}", session.active());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AuthenticationApi {
    pub(crate) endpoint: Endpoint,
}

impl AuthenticationApi {
    /// The application id.
    pub fn application_id(&self) -> &str {
        &self.endpoint.application_id
    }

    /// The IAMPASS base URL in use.
    pub fn server(&self) -> &str {
        &self.endpoint.server
    }

    /// Asks the user's phone to authenticate them; IAMPASS chooses the methods.
    ///
    /// A request that did not start (no phone, unknown user) is `Ok` with a `failed` session
    /// whose [`Session::failure_reason`] says why; an outage is `Err`.
    ///
    /// An unknown user comes out the same whichever way IAMPASS reports it: `200` with
    /// `reason: "UNKNOWN_USER"`, or the documented `404` with the plain-text body
    /// `User <id> not found` (or `unknown user`) both give a failed session with failure reason
    /// [`UNKNOWN_USER`](crate::client::UNKNOWN_USER). Any other `404` (an unknown
    /// *application*, e.g. `Application <id> not found`) stays an `Err`.
    pub async fn authenticate_user(&self, user_id: &str) -> Result<Session, Error> {
        self.authenticate_user_with(user_id, &[], None).await
    }

    /// Like [`authenticate_user`](Self::authenticate_user), with the methods to use (empty:
    /// IAMPASS chooses) and how long the session may live (`None`: IAMPASS's default, 1 h).
    ///
    /// IAMPASS counts whole seconds: a fractional duration is rounded up (1.2 s is sent as 2),
    /// and [`Duration::ZERO`] is [`Error::InvalidArgument`] before anything is sent.
    ///
    /// ```no_run
    /// # async fn run(api: iampass::AuthenticationApi) -> Result<(), iampass::Error> {
    /// use std::time::Duration;
    /// use iampass::AuthenticationMethod;
    /// let session = api
    ///     .authenticate_user_with("alice", &[AuthenticationMethod::Facial],
    ///         Some(Duration::from_secs(15 * 60)))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn authenticate_user_with(
        &self,
        user_id: &str,
        methods: &[AuthenticationMethod],
        duration: Option<Duration>,
    ) -> Result<Session, Error> {
        check_user_id(user_id)?;
        let duration_seconds = duration.map(whole_seconds).transpose()?;
        let mut url = self
            .endpoint
            .url("authentication/authenticate_user", &[user_id]);
        let mut params = Vec::new();
        if !methods.is_empty() {
            let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
            params.push(format!("methods={}", names.join(",")));
        }
        if let Some(seconds) = duration_seconds {
            params.push(format!("duration_seconds={seconds}"));
        }
        if !params.is_empty() {
            url.push('?');
            url.push_str(&params.join("&"));
        }
        let transport = &self.endpoint.transport;
        let empty = json!({});
        let calling = transport.post(
            &url,
            "authenticate_user",
            &self.endpoint.application_id,
            &self.endpoint.application_secret,
            Some(&empty),
        );
        let answer = metrics::upstream(UpstreamCall::Authenticate, calling).await;
        let body = match answer {
            Ok(body) => body,
            Err(Error::Http {
                status: 404,
                ref body,
                ..
            }) if is_unknown_user(body, user_id) => {
                let mut session = Session::failed_to_start(Some(UNKNOWN_USER.to_owned()));
                session.attach(transport.clone());
                return Ok(session);
            }
            Err(e) => return Err(e),
        };
        Ok(Session::from_authenticate(
            AuthenticationStatus::from_answer(&body)?,
            transport.clone(),
        ))
    }

    /// The state of the circuit breaker this client, its clones and its sessions share, for
    /// a health endpoint.
    ///
    /// ```
    /// use iampass::AuthenticationApi;
    /// use iampass::client::CircuitState;
    /// let api = AuthenticationApi::builder("app", "secret").build()?;
    /// let health = match api.circuit_state() {
    ///     CircuitState::Closed => "ok",
    ///     CircuitState::HalfOpen => "recovering",
    ///     CircuitState::Open { .. } => "IAMPASS unavailable",
    ///     _ => "unknown",
    /// };
    /// assert_eq!(health, "ok");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn circuit_state(&self) -> crate::client::CircuitState {
        self.endpoint.transport.circuit_state()
    }

    /// Gives a stored session (from JSON or a cookie) this client's HTTP settings for its
    /// `get_status` and `destroy` calls. A session read from JSON has none until then.
    ///
    /// ```no_run
    /// # async fn run(api: iampass::AuthenticationApi, json: &str) -> Result<(), iampass::Error> {
    /// let mut session = api.attach(iampass::Session::from_json(json)?);
    /// session.get_status().await?;
    /// # Ok(()) }
    /// ```
    pub fn attach(&self, mut session: Session) -> Session {
        session.attach(self.endpoint.transport.clone());
        session
    }

    /// The session's status now, asked through this client (its timeouts, breaker and
    /// connection cap), whatever client the session came from; the session is not changed.
    ///
    /// ```no_run
    /// # async fn run(api: iampass::AuthenticationApi, json: &str) -> Result<(), iampass::Error> {
    /// let session = iampass::Session::from_json(json)?;
    /// if api.session_status(&session).await? == iampass::Status::Active {
    ///     println!("still signed in");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn session_status(&self, session: &Session) -> Result<Status, Error> {
        session.fetch_status_with(&self.endpoint.transport).await
    }

    /// Ends the session at IAMPASS through this client (as [`Session::destroy`] does, without
    /// changing the value). `Error::Refused` when IAMPASS declines (the session is over).
    ///
    /// ```no_run
    /// # async fn run(api: iampass::AuthenticationApi, json: &str) -> Result<(), iampass::Error> {
    /// api.end_session(&iampass::Session::from_json(json)?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn end_session(&self, session: &Session) -> Result<(), Error> {
        session.end_with(&self.endpoint.transport).await
    }
}

/// `duration_seconds` for a session lifetime: whole seconds, rounded up; zero is refused.
fn whole_seconds(duration: Duration) -> Result<u64, Error> {
    if duration.is_zero() {
        return Err(Error::InvalidArgument(
            "a session duration must be more than zero".into(),
        ));
    }
    Ok(duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0)))
}

/// Whether a `404` body from `authenticate_user` names the user rather than the application.
///
/// IAMPASS's documented pattern is the plain text `User <id> not found`; the emulator's is
/// `unknown user`. An unknown application says something else (`Application <id> not found`,
/// `unknown application`), so it stays an error. The body may have been cut at 512 bytes, so a
/// long id only has to match as far as the body goes.
fn is_unknown_user(body: &str, user_id: &str) -> bool {
    let body = body.trim();
    if body.eq_ignore_ascii_case("unknown user") {
        return true;
    }
    let Some(rest) = body
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("user "))
        .map(|_| &body[5..])
    else {
        return false;
    };
    let rest = rest.trim_end_matches('.');
    let lower = rest.to_ascii_lowercase();
    lower == "not found"
        || lower.ends_with(" not found")
        || (body.len() >= super::transport::ERROR_BODY_LIMIT - 4
            && format!("{user_id} not found").starts_with(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_whole_seconds() {
        let ms = Duration::from_millis;
        assert_eq!(whole_seconds(ms(1)).unwrap(), 1);
        assert_eq!(whole_seconds(ms(999)).unwrap(), 1);
        assert_eq!(whole_seconds(ms(1000)).unwrap(), 1);
        assert_eq!(whole_seconds(ms(1001)).unwrap(), 2);
        assert_eq!(whole_seconds(Duration::from_nanos(1)).unwrap(), 1);
        assert_eq!(whole_seconds(Duration::from_secs(3600)).unwrap(), 3600);
        assert_eq!(whole_seconds(Duration::MAX).unwrap(), u64::MAX);
        assert!(matches!(
            whole_seconds(Duration::ZERO),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn unknown_user_404_bodies_are_told_from_unknown_application() {
        for user in [
            "User alice not found",
            "user alice not found",
            "User a b@c not found.",
            "  User alice not found\n",
            "User not found",
            "unknown user",
            "Unknown User",
        ] {
            assert!(is_unknown_user(user, "alice"), "{user:?}");
        }
        for app in [
            "Application app-1 not found",
            "unknown application",
            "not found",
            "",
            "User",
            "Users endpoint moved",
            "<html>404</html>",
        ] {
            assert!(!is_unknown_user(app, "alice"), "{app:?}");
        }
        // A very long id, cut at the error-body limit.
        let id = "x".repeat(1000);
        let body = format!("User {id} not found");
        let cut = &body[..crate::client::transport::ERROR_BODY_LIMIT];
        assert!(is_unknown_user(cut, &id));
        assert!(!is_unknown_user(cut, "someone-else"));
    }
}

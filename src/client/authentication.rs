//! Starting authentication sessions: the IAMPASS authentication API.

use std::time::Duration;

use serde_json::json;

use super::builder::ClientBuilder;
use super::{Endpoint, check_user_id};
use crate::session::AuthenticationStatusEnvelope;
use crate::{AuthenticationMethod, Error, Secret, Session};

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
    /// A client for the application, with the default server (`IAMPASS_SERVER` or
    /// `https://iam-api.com`) and timeout. See [`AuthenticationApi::builder`] for more.
    pub fn new(
        application_id: impl Into<String>,
        application_secret: impl Into<Secret>,
    ) -> Result<Self, Error> {
        Self::builder(application_id, application_secret).build()
    }

    /// A builder for the server URL, timeout, HTTP client and user agent.
    pub fn builder(
        application_id: impl Into<String>,
        application_secret: impl Into<Secret>,
    ) -> ClientBuilder<AuthenticationApi> {
        ClientBuilder::new(application_id, application_secret)
    }

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
    pub async fn authenticate_user(&self, user_id: &str) -> Result<Session, Error> {
        self.authenticate_user_with(user_id, &[], None).await
    }

    /// Like [`authenticate_user`](Self::authenticate_user), with the methods to use (empty:
    /// IAMPASS chooses) and how long the session may live (`None`: IAMPASS's default, 1 h).
    pub async fn authenticate_user_with(
        &self,
        user_id: &str,
        methods: &[AuthenticationMethod],
        duration: Option<Duration>,
    ) -> Result<Session, Error> {
        check_user_id(user_id)?;
        let mut url = self
            .endpoint
            .url("authentication/authenticate_user", &[user_id]);
        let mut params = Vec::new();
        if !methods.is_empty() {
            let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
            params.push(format!("methods={}", names.join(",")));
        }
        if let Some(duration) = duration {
            params.push(format!("duration_seconds={}", duration.as_secs()));
        }
        if !params.is_empty() {
            url.push('?');
            url.push_str(&params.join("&"));
        }
        let answer: AuthenticationStatusEnvelope = self
            .endpoint
            .post(&url, "authenticate_user", &json!({}))
            .await?;
        Ok(Session::from_authenticate(
            answer.authentication_status,
            self.endpoint.transport.clone(),
        ))
    }

    /// Gives a stored session (from JSON or a cookie) this client's HTTP settings for its
    /// `get_status` and `destroy` calls.
    pub fn attach(&self, mut session: Session) -> Session {
        session.attach(self.endpoint.transport.clone());
        session
    }
}

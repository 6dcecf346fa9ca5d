//! IAMPASS as the second factor: the application checks its own first factor (a password,
//! SSO) in its own handler, then starts the phone approval with [`Iampass::start_login`] and
//! returns the answer the crate's handler would give. Ends a session from the application's
//! handler with [`Iampass::logout`].

use std::fmt;
use std::time::Duration;

use http::StatusCode;
use serde_json::json;

use super::Handler;
use super::refusal::Refusal;
use super::start::Start;
use crate::AuthenticationMethod;
use crate::core::Iampass;
use crate::core::answer::Reply;
use crate::core::cookie::Factors;
use crate::core::request::{RequestHead, answers_html, is_form};
use crate::core::security::rate_limit::retry_after_secs;
use crate::core::security::redirect::safe_next;

/// A phone approval the application starts after its own first factor.
///
/// ```
/// use std::time::Duration;
/// use iampass::AuthenticationMethod;
/// use iampass::actix::SecondFactor;
/// let login = SecondFactor::new("alice")
///     .iampass_user_id("alice@example.com")
///     .next("/dashboard")
///     .methods([AuthenticationMethod::Facial])
///     .duration(Duration::from_secs(8 * 3600));
/// # let _ = login;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SecondFactor {
    user: String,
    iampass_user_id: Option<String>,
    next: Option<String>,
    methods: Option<Vec<AuthenticationMethod>>,
    duration: Option<Duration>,
}

impl SecondFactor {
    /// The application's user name (shown in the identity; trimmed).
    pub fn new(user: impl Into<String>) -> Self {
        SecondFactor {
            user: user.into(),
            iampass_user_id: None,
            next: None,
            methods: None,
            duration: None,
        }
    }

    /// The IAMPASS user id, when it differs from the user name (default: the
    /// [`user_resolver`](crate::actix::IampassBuilder::user_resolver) decides).
    pub fn iampass_user_id(mut self, id: impl Into<String>) -> Self {
        self.iampass_user_id = Some(id.into());
        self
    }

    /// Where to go once approved (a same-site path; anything else becomes `/`).
    pub fn next(mut self, next: impl Into<String>) -> Self {
        self.next = Some(next.into());
        self
    }

    /// The authentication methods to ask for (default: the builder's
    /// [`methods`](crate::actix::IampassBuilder::methods)). The application decides these:
    /// do not pass what a browser sent without checking it.
    pub fn methods(mut self, methods: impl IntoIterator<Item = AuthenticationMethod>) -> Self {
        self.methods = Some(methods.into_iter().collect());
        self
    }

    /// How long the session may last (default and maximum: the builder's
    /// [`session_max_age`](crate::actix::IampassBuilder::session_max_age)).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }
}

/// A started approval: the answer to return from the handler (`202` JSON with the poll URL
/// for an API client, `303` to the wait page for a browser form), with the pending cookie.
///
/// With feature `actix` it is a `Responder` (and `into_http_response()` gives the
/// `HttpResponse`); with feature `axum`, `IntoResponse`.
#[derive(Debug)]
pub struct LoginStarted {
    reply: Reply,
}

impl LoginStarted {
    /// The answer, for an adapter to write.
    pub fn into_reply(self) -> Reply {
        self.reply
    }
}

/// Why an approval could not start, with the precise reason (only the application sees it:
/// what it shows the user is its own choice). As an error response (`ResponseError` with feature
/// `actix`, `IntoResponse` with `axum`) it answers JSON with the status, `reason` and `message`.
#[derive(Debug, Clone)]
pub struct LoginError {
    status: StatusCode,
    reason: String,
    message: String,
    retry_after: Option<u64>,
}

impl LoginError {
    /// A stable code: `UNKNOWN_USER`, `NO_MOBILE_DEVICE`, `rate_limited`,
    /// `iampass_unavailable`, `bad_request`, or another reason IAMPASS gave.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// A sentence for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Seconds to wait before trying again (rate limits, outages).
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// `true` when IAMPASS could not be reached: not the user's fault.
    pub fn is_unavailable(&self) -> bool {
        self.status == StatusCode::SERVICE_UNAVAILABLE
    }

    fn from_refusal(refusal: Refusal) -> Self {
        let reason = refusal
            .body
            .get("reason")
            .or_else(|| refusal.body.get("error"))
            .and_then(|r| r.as_str())
            .unwrap_or("failed")
            .to_owned();
        LoginError {
            status: refusal.status,
            reason,
            message: refusal.message,
            retry_after: refusal.retry_after,
        }
    }
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.reason)
    }
}

impl std::error::Error for LoginError {}

impl LoginError {
    /// The status of its answer (`422`, `429`, `503`, ...).
    pub fn status_code(&self) -> StatusCode {
        self.status
    }

    /// Its answer: JSON `{"status": "failed", "reason", "message"}` with the status (and
    /// `Retry-After` when there is one).
    pub fn to_reply(&self) -> Reply {
        Reply::json(
            self.status,
            json!({"status": "failed", "reason": self.reason, "message": self.message}),
        )
        .retry_after(self.retry_after)
    }
}

impl Iampass {
    /// Starts the phone approval for a user the application has already checked (its
    /// password, SSO...): IAMPASS as the second factor. Rate limits, the one-login-at-a-time
    /// rule and the pending cookie work as for the crate's own `POST {prefix}/login`; the
    /// browser then polls `{prefix}/poll` (or lands on the wait page). Works whether or not
    /// [`public_login`](crate::actix::IampassBuilder::public_login) is on.
    ///
    /// See the adapters' docs for a handler: [`crate::actix`] ("IAMPASS as the second
    /// factor") and [`crate::axum`].
    pub async fn start_login(
        &self,
        req: &impl RequestHead,
        login: SecondFactor,
    ) -> Result<LoginStarted, LoginError> {
        let handler = Handler::new(self, None, req);
        let next = safe_next(login.next.as_deref());
        let start = Start {
            user: &login.user,
            iampass_user_id: login.iampass_user_id.as_deref(),
            methods: login
                .methods
                .unwrap_or_else(|| self.settings().login.methods.clone()),
            duration: login.duration.map_or(self.settings().session_max_age, |d| {
                d.min(self.settings().session_max_age)
            }),
            factors: Factors::FirstFactorThenIampass,
        };
        let cookie = handler
            .start(req, &start, &next)
            .await
            .map_err(LoginError::from_refusal)?;
        let reply = if answers_html(req, is_form(req)) {
            Reply::see_other(format!("{}/login?wait=1", self.routes_prefix()))
        } else {
            Reply::json(
                StatusCode::ACCEPTED,
                json!({"status": "pending", "poll_url": format!("{}/poll", self.routes_prefix())}),
            )
        };
        Ok(LoginStarted {
            reply: reply.cookie(Some(cookie)),
        })
    }

    /// Takes one attempt of the application's own first factor (a password check) for
    /// `user` from the request's client address, against limits of their own
    /// ([`rate_limit_first_factor`](crate::core::IampassBuilder::rate_limit_first_factor),
    /// shared by the instances through the store): call it *before* checking the password,
    /// so that guessing costs an attempt whether it succeeds or not. Over a limit:
    /// `LoginError` with reason `rate_limited`, status `429` and `retry_after()`. The user
    /// name counts by its confusable-folded form (`Alice`, `ALICE` and `Аlice` are one user).
    /// With Redis down, this instance's own limiter decides (as for login starts).
    ///
    /// See the adapters' docs for a handler: [`crate::actix`] ("IAMPASS as the second
    /// factor") and [`crate::axum`].
    pub async fn limit_first_factor(
        &self,
        req: &impl RequestHead,
        user: &str,
    ) -> Result<(), LoginError> {
        let address = self.settings().login.trusted_proxies.client_ip(req);
        let key = crate::user_name::collision_key(crate::user_name::trim(user).unwrap_or(user));
        match self.state().first_factor.check(&key, address).await {
            Ok(()) => Ok(()),
            Err(wait) => {
                let secs = retry_after_secs(wait);
                tracing::info!(user = ?user, ?address, retry_after = secs, "first factor rate-limited");
                Err(LoginError {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    reason: "rate_limited".into(),
                    message: format!("Too many sign-in attempts; try again in {secs} s."),
                    retry_after: Some(secs),
                })
            }
        }
    }

    /// Ends the request's IAMPASS session and removes the cookie, from the application's own
    /// handler (same answer as `POST {prefix}/logout`: `303` to the after-logout path for a
    /// browser, JSON otherwise; cross-site requests refused).
    ///
    /// See the adapters' docs for a handler: [`crate::actix`] ("IAMPASS as the second
    /// factor") and [`crate::axum`].
    pub async fn logout(&self, req: &impl RequestHead) -> Reply {
        Handler::new(self, None, req).logout(req).await
    }
}

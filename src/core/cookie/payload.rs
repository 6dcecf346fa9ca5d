//! What the cookie carries: [`SessionCookie`] (the IAMPASS session, who, how they signed in,
//! when it expires) and where the login stands ([`CookieState`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::FORMAT_VERSION;
use crate::signing::unix_now;
use crate::{AuthenticationMethod, Session};

/// Where a login stands in the cookie.
///
/// ```
/// use iampass::actix::CookieState;
/// assert_ne!(CookieState::Pending, CookieState::Authenticated);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieState {
    /// The phone was asked; only the poll handler and the wait page use such a cookie.
    Pending,
    /// IAMPASS said `active` once; the middleware re-validates it.
    Authenticated,
}

/// How a login was made: the factors the user presented. A deployment that requires a first
/// factor ([`IampassBuilder::require_first_factor`](crate::core::IampassBuilder::require_first_factor))
/// refuses a cookie without one, so a cookie minted by a phone-only deployment sharing its
/// key cannot skip its password step.
///
/// ```
/// use iampass::actix::Factors;
/// assert!(!Factors::Iampass.has_first_factor());
/// assert!(Factors::FirstFactorThenIampass.has_first_factor());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Factors {
    /// The phone approval alone (the crate's public login by user name).
    #[default]
    Iampass,
    /// The application's own first factor (a password, SSO), then the phone approval
    /// ([`Iampass::start_login`](crate::core::Iampass::start_login)).
    FirstFactorThenIampass,
}

impl Factors {
    /// `true` when the application checked a first factor before the phone.
    pub fn has_first_factor(self) -> bool {
        self == Factors::FirstFactorThenIampass
    }
}

/// What the encrypted session cookie carries.
///
/// Applications rarely need this: the middleware and the handlers read and write it. It is
/// public for tests, tools and benchmarks (see [`Iampass::seal_cookie`] and
/// [`Iampass::open_cookie`]).
///
/// ```
/// use std::time::Duration;
/// use iampass::{Session, Status};
/// use iampass::actix::{CookieState, SessionCookie};
/// let session = Session::new("tok", "sec", "http://x/status", "http://x/logout", Status::Active);
/// let cookie = SessionCookie::new(session, "alice", "alice", CookieState::Authenticated,
///     Duration::from_secs(3600), Some("/dashboard".into()));
/// assert_eq!(cookie.user(), "alice");
/// assert!(!cookie.is_expired());
/// ```
///
/// [`Iampass::seal_cookie`]: crate::core::Iampass::seal_cookie
/// [`Iampass::open_cookie`]: crate::core::Iampass::open_cookie
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionCookie {
    #[serde(rename = "v")]
    pub(super) version: u8,
    /// The IAMPASS session in the reference client's JSON form.
    pub(super) session: Session,
    pub(super) user: String,
    pub(super) uid: String,
    pub(super) state: CookieState,
    /// Unix seconds: when the cookie reached its current state.
    pub(super) iat: u64,
    /// Unix seconds: absolute expiry, never extended by re-issuing.
    pub(super) exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) next: Option<String>,
    /// How the user signed in.
    #[serde(default)]
    pub(super) factors: Factors,
    /// Unix seconds: the last approval on the phone (0 while pending).
    #[serde(default)]
    pub(super) approved_at: u64,
    /// The methods that approval asked for (empty: IAMPASS chose).
    #[serde(default)]
    pub(super) methods: Vec<AuthenticationMethod>,
}

impl SessionCookie {
    /// A cookie issued now, expiring `max_age` from now.
    pub fn new(
        session: Session,
        user: impl Into<String>,
        iampass_user_id: impl Into<String>,
        state: CookieState,
        max_age: Duration,
        next: Option<String>,
    ) -> Self {
        let now = unix_now();
        SessionCookie {
            version: FORMAT_VERSION,
            session,
            user: user.into(),
            uid: iampass_user_id.into(),
            state,
            iat: now,
            exp: now.saturating_add(max_age.as_secs()),
            next,
            factors: Factors::default(),
            approved_at: if state == CookieState::Authenticated {
                now
            } else {
                0
            },
            methods: Vec::new(),
        }
    }

    /// The same payload, saying the login was made with `factors`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use iampass::actix::{CookieState, Factors, SessionCookie};
    /// # let session = iampass::Session::new("t", "s", "http://x/s", "http://x/l", iampass::Status::Active);
    /// let cookie = SessionCookie::new(session, "alice", "alice", CookieState::Authenticated,
    ///     Duration::from_secs(60), None).with_factors(Factors::FirstFactorThenIampass);
    /// assert!(cookie.factors().has_first_factor());
    /// ```
    pub fn with_factors(mut self, factors: Factors) -> Self {
        self.factors = factors;
        self
    }

    /// The same payload, with the methods its phone approval asked for.
    pub(crate) fn with_methods(mut self, methods: Vec<AuthenticationMethod>) -> Self {
        self.methods = methods;
        self
    }

    /// How the user signed in.
    pub fn factors(&self) -> Factors {
        self.factors
    }

    /// When the user last approved on the phone (`None` while the login is pending).
    pub fn approved_at(&self) -> Option<SystemTime> {
        (self.approved_at > 0).then(|| UNIX_EPOCH + Duration::from_secs(self.approved_at))
    }

    /// The methods that approval asked of the phone (empty: IAMPASS chose).
    pub fn methods(&self) -> &[AuthenticationMethod] {
        &self.methods
    }

    /// The IAMPASS session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The application's user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The IAMPASS user id the application's user name resolved to.
    pub fn iampass_user_id(&self) -> &str {
        &self.uid
    }

    /// Pending or authenticated.
    pub fn state(&self) -> CookieState {
        self.state
    }

    /// When the cookie reached its current state.
    pub fn issued_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.iat)
    }

    /// The absolute expiry (re-issuing never extends it).
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.exp)
    }

    /// Where to go once the login completes (already sanitised).
    pub fn next(&self) -> Option<&str> {
        self.next.as_deref()
    }

    /// `true` once the absolute expiry has passed.
    pub fn is_expired(&self) -> bool {
        unix_now() >= self.exp
    }

    pub(crate) fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The same login, now authenticated: issued now, expiring `max_age` from now.
    pub(crate) fn authenticated(mut self, session: Session, max_age: Duration) -> Self {
        let now = unix_now();
        self.session = session;
        self.state = CookieState::Authenticated;
        self.iat = now;
        self.approved_at = now;
        self.exp = now.saturating_add(max_age.as_secs());
        self
    }

    /// The same login after a step-up: the IAMPASS session that was approved just now and
    /// the methods it asked for. The user, the factors, the issue time and the absolute expiry
    /// stay as they were (a step-up never extends a login).
    pub(crate) fn stepped_up(
        mut self,
        session: Session,
        methods: Vec<AuthenticationMethod>,
    ) -> Self {
        self.session = session;
        self.state = CookieState::Authenticated;
        self.approved_at = unix_now().max(self.iat);
        self.methods = methods;
        self.next = None;
        self
    }

    /// How long the cookie has left to live, plus a second for its whole-second expiry: the
    /// bound of anything kept about its session (a revocation, a cached status).
    pub(crate) fn remaining_life(&self) -> Duration {
        Duration::from_secs(self.remaining().saturating_add(1))
    }

    /// Seconds left before the absolute expiry.
    pub(super) fn remaining(&self) -> u64 {
        self.exp.saturating_sub(unix_now())
    }
}

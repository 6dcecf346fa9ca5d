//! [`IampassIdentity`]: who the signed-in user is, as handlers see it.

use std::sync::Arc;
use std::time::SystemTime;

use crate::AuthenticationMethod;
use crate::core::cookie::{Factors, SessionCookie};

/// A signed-in user: IAMPASS confirmed the session is `active` for this request.
///
/// As an adapter's extractor it refuses requests without one (like [`RequireIampass`]); as
/// `Option<IampassIdentity>` it never refuses (anonymous, and also while IAMPASS is
/// unavailable, is `None`); as `Result<IampassIdentity, Denial>` the handler sees why.
///
/// ```
/// use iampass::core::IampassIdentity;
/// fn greeting(who: Option<&IampassIdentity>) -> String {
///     match who {
///         Some(who) => format!("hello {} ({})", who.user(), who.iampass_user_id()),
///         None => "hello stranger".into(),
///     }
/// }
/// assert_eq!(greeting(None), "hello stranger");
/// ```
///
/// With an adapter: `Option<IampassIdentity>` as a handler argument (see
/// [`crate::actix`] and [`crate::axum`]).
///
/// [`RequireIampass`]: crate::actix::RequireIampass
/// [`Denial`]: crate::core::Denial
#[derive(Clone)]
pub struct IampassIdentity {
    /// The opened cookie, shared with the request's context: no copy per request.
    cookie: Arc<SessionCookie>,
}

impl IampassIdentity {
    pub(crate) fn from_cookie(cookie: &Arc<SessionCookie>) -> Self {
        IampassIdentity {
            cookie: cookie.clone(),
        }
    }

    /// The application's user name (as typed at login).
    pub fn user(&self) -> &str {
        self.cookie.user()
    }

    /// The IAMPASS user id the user name resolved to.
    pub fn iampass_user_id(&self) -> &str {
        self.cookie.iampass_user_id()
    }

    /// When the login completed.
    pub fn issued_at(&self) -> SystemTime {
        self.cookie.issued_at()
    }

    /// When the user last approved on the phone: at login, or at the last step-up.
    pub fn approved_at(&self) -> SystemTime {
        self.cookie
            .approved_at()
            .unwrap_or_else(|| self.cookie.issued_at())
    }

    /// The methods that approval asked of the phone (empty: IAMPASS chose).
    pub fn methods(&self) -> &[AuthenticationMethod] {
        self.cookie.methods()
    }

    /// How the user signed in.
    pub fn factors(&self) -> Factors {
        self.cookie.factors()
    }
}

// By what the identity says, not by the IAMPASS session it came with.
impl PartialEq for IampassIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.user() == other.user()
            && self.iampass_user_id() == other.iampass_user_id()
            && self.issued_at() == other.issued_at()
    }
}

impl Eq for IampassIdentity {}

// The session's token and secret stay out of logs.
impl std::fmt::Debug for IampassIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IampassIdentity")
            .field("user", &self.user())
            .field("iampass_user_id", &self.iampass_user_id())
            .field("issued_at", &self.issued_at())
            .finish()
    }
}

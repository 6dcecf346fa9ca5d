//! [`IampassIdentity`]: who the signed-in user is, as handlers see it.

use std::time::SystemTime;

use super::cookie::SessionCookie;

/// A signed-in user: IAMPASS confirmed the session is `active` for this request.
///
/// As an extractor it refuses requests without one (like [`RequireIampass`]); as
/// `Option<IampassIdentity>` it never refuses (anonymous, and also while IAMPASS is
/// unavailable, is `None`); as `Result<IampassIdentity, Denial>` the handler sees why.
///
/// ```
/// use actix_web::{web, App};
/// use iampass::actix::IampassIdentity;
/// async fn home(who: Option<IampassIdentity>) -> String {
///     match who {
///         Some(who) => format!("hello {} ({})", who.user(), who.iampass_user_id()),
///         None => "hello stranger".into(),
///     }
/// }
/// let app = App::new().route("/", web::get().to(home));
/// # let _ = app;
/// ```
///
/// [`RequireIampass`]: super::RequireIampass
/// [`Denial`]: super::Denial
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IampassIdentity {
    user: String,
    iampass_user_id: String,
    issued_at: SystemTime,
}

impl IampassIdentity {
    pub(crate) fn from_cookie(cookie: &SessionCookie) -> Self {
        IampassIdentity {
            user: cookie.user().to_owned(),
            iampass_user_id: cookie.iampass_user_id().to_owned(),
            issued_at: cookie.issued_at(),
        }
    }

    /// The application's user name (as typed at login).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The IAMPASS user id the user name resolved to.
    pub fn iampass_user_id(&self) -> &str {
        &self.iampass_user_id
    }

    /// When the login completed.
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }
}

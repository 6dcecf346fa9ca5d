//! [`Presence`]: what a page needs to tell a visitor apart: signed in, away (the phone walked
//! away), IAMPASS unavailable, or anonymous, so that it can say "locked: your phone is away"
//! instead of treating the user as a stranger.

use crate::Status;
use crate::core::denial::Denial;
use crate::core::identity::IampassIdentity;

/// Where the request's user stands. Never fails: every case is a value.
///
/// ```
/// use iampass::actix::Presence;
/// async fn home(presence: Presence) -> String {
///     match presence {
///         Presence::SignedIn(who) => format!("hello {}", who.user()),
///         Presence::Away => "Locked: your phone is away.".into(),
///         Presence::Unavailable => "IAMPASS cannot be reached; you are still signed in.".into(),
///         Presence::Anonymous => "Welcome, please sign in.".into(),
///         _ => "Welcome.".into(), // `Presence` is non-exhaustive
///     }
/// }
/// # let _ = home;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Presence {
    /// An active session.
    SignedIn(IampassIdentity),
    /// Signed in, but the phone has walked away: access returns when it comes back.
    Away,
    /// IAMPASS cannot be asked right now (the fail mode refuses); the user is not signed out.
    Unavailable,
    /// No session (never signed in, signed out, expired, refused).
    Anonymous,
}

impl Presence {
    /// The identity when signed in.
    pub fn identity(&self) -> Option<&IampassIdentity> {
        match self {
            Presence::SignedIn(who) => Some(who),
            _ => None,
        }
    }

    /// What a denial means for presence.
    pub fn of_denial(denial: &Denial) -> Presence {
        match denial {
            Denial::Unauthenticated {
                status: Some(Status::Walkaway),
                ..
            } => Presence::Away,
            Denial::Unavailable { .. } => Presence::Unavailable,
            _ => Presence::Anonymous,
        }
    }
}

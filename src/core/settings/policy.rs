//! The policy enums: what an outage ([`FailMode`]), a walked-away phone ([`WalkawayPolicy`])
//! and the passing of time ([`Revalidate`]) do to a session.

use std::time::Duration;

/// What happens when IAMPASS cannot be asked (unreachable, timing out, answering 5xx).
///
/// Never "signed out": the cookie is kept either way. A user's deny (`closed`, `failed`,
/// `walkaway`, ...) is never overridden by a fail mode.
///
/// ```
/// use std::time::Duration;
/// use iampass::actix::{FailMode, Iampass};
/// let builder = Iampass::builder("app", "secret")
///     .fail_mode(FailMode::StaleIfError(Duration::from_secs(60)));
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// Requests that need the identity are answered `503` (the default).
    #[default]
    Closed,
    /// The last good `active` answer for the session still counts for this long (logged as
    /// a warning); after that, as [`FailMode::Closed`].
    StaleIfError(Duration),
}

impl FailMode {
    /// How long a last good answer may stand in during an outage.
    pub(crate) fn stale_grace(self) -> Option<Duration> {
        match self {
            FailMode::Closed => None,
            FailMode::StaleIfError(grace) => Some(grace),
        }
    }
}

/// What `walkaway` (the phone left the area of the login) does to the session.
///
/// ```
/// use iampass::actix::{Iampass, WalkawayPolicy};
/// let builder = Iampass::builder("app", "secret").walkaway_policy(WalkawayPolicy::EndSession);
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WalkawayPolicy {
    /// Anonymous while the phone is away; the cookie is kept, so access returns when the
    /// phone comes back (the default).
    #[default]
    Deny,
    /// The cookie is removed: the user signs in again.
    EndSession,
}

/// How often a session's status is asked of IAMPASS. Concurrent requests of one session
/// always share one call, whichever is chosen.
///
/// ```
/// use std::time::Duration;
/// use iampass::actix::{Iampass, Revalidate};
/// let builder = Iampass::builder("app", "secret")
///     .revalidate(Revalidate::After(Duration::from_secs(5)));
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Revalidate {
    /// Every request that asks for the identity asks IAMPASS (the default): a remote logout
    /// or a walkaway takes effect on the very next request.
    #[default]
    EveryRequest,
    /// An answer is reused for this long per session: fewer IAMPASS calls, but a remote
    /// logout or a walkaway may take this long to be seen. `After(Duration::ZERO)` is
    /// [`Revalidate::EveryRequest`]. A logout or revocation on this instance is seen at
    /// once; with a shared store ([`IampassBuilder::store`](crate::core::IampassBuilder::store)),
    /// on the other instances within 1 s. With the in-memory store a worker thread
    /// recognises a cookie value it saw validated by its exact value while the answer is
    /// fresh (no decryption, no shared cache): the fast path of BENCHMARKS.md.
    After(Duration),
}

impl Revalidate {
    /// How long an answer is kept, if at all.
    pub(crate) fn ttl(self) -> Option<Duration> {
        match self {
            Revalidate::EveryRequest => None,
            Revalidate::After(after) => Some(after).filter(|d| !d.is_zero()),
        }
    }
}

//! The values a store keeps and is keyed by: [`Rate`], [`LimitKey`], [`CachedStatus`], the
//! session handle, and [`StoreError`].

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use sha2::Digest as _;

use crate::Status;
use crate::core::security::client_addr::address_block;

/// The store's name for an IAMPASS session: base64url (no padding) of the SHA-256 of its
/// token. The token is a credential and never leaves the process; this handle is what
/// revocations, the status cache and the stale-if-error memory are keyed by, in memory and in
/// Redis alike, so every instance derives the same handle from the same cookie.
///
/// ```
/// let handle = iampass::core::store::session_handle("a-session-token");
/// assert_eq!(handle.len(), 43);
/// assert_ne!(handle, iampass::core::store::session_handle("another-token"));
/// ```
pub fn session_handle(token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token.as_bytes()))
}

/// A limit's rate: at most `count` events per `per`, refilled evenly (one every
/// `per / count`), with a burst of `count` on an idle key. A zero `count` or `per` does not
/// limit here; a `per` beyond a year counts as a year.
///
/// The login limits take it too ([`IampassBuilder::rate_limit_per_user`],
/// [`IampassBuilder::rate_limit_per_address`], re-exported as `iampass::core::store::Rate`); there
/// `None` switches a limit off and a zero `count` or `per` is refused by
/// [`IampassBuilder::build`].
///
/// ```
/// use std::time::Duration;
/// use iampass::core::store::Rate;
/// assert_eq!(Rate::per_minute(5), Rate::new(5, Duration::from_secs(60)));
/// assert_eq!(Rate::per_minute(5).count(), 5);
/// ```
///
/// [`IampassBuilder::rate_limit_per_user`]: crate::actix::IampassBuilder::rate_limit_per_user
/// [`IampassBuilder::rate_limit_per_address`]: crate::actix::IampassBuilder::rate_limit_per_address
/// [`IampassBuilder::build`]: crate::actix::IampassBuilder::build
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    count: u32,
    per: Duration,
}

impl Rate {
    /// `count` events per `per`.
    pub const fn new(count: u32, per: Duration) -> Rate {
        Rate { count, per }
    }

    /// `count` events per minute.
    pub const fn per_minute(count: u32) -> Rate {
        Rate::new(count, Duration::from_secs(60))
    }

    /// The number of events per period (the burst).
    pub const fn count(self) -> u32 {
        self.count
    }

    /// The period.
    pub const fn per(self) -> Duration {
        self.per
    }

    /// Why this rate cannot be a login limit, if it cannot (a zero count or period).
    pub(crate) fn problem(self) -> Option<&'static str> {
        if self.count == 0 {
            Some("a rate of 0 events would refuse every login; pass None to switch the limit off")
        } else if self.per.is_zero() {
            Some("a rate over a zero window is not a limit; pass None to switch the limit off")
        } else {
            None
        }
    }
}

/// What a limit counts: one user, or one client address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LimitKey(String);

/// User names longer than this are keyed by their SHA-256, keeping keys short.
pub(super) const MAX_USER_KEY: usize = 128;

impl LimitKey {
    /// The limit of one IAMPASS user name.
    pub fn user(name: &str) -> LimitKey {
        if name.len() <= MAX_USER_KEY {
            LimitKey(format!("user:{name}"))
        } else {
            let digest = sha2::Sha256::digest(name.as_bytes());
            LimitKey(format!(
                "user#{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
            ))
        }
    }

    /// The limit of one client address: IPv4 as it is, IPv6 by its /64 (one host usually
    /// holds a whole /64), an IPv4-mapped IPv6 address as its IPv4 address.
    pub fn address(address: IpAddr) -> LimitKey {
        LimitKey(format!("addr:{}", address_block(address)))
    }

    /// The same key for another limit: `scope:` in front (e.g. the first-factor limits,
    /// `first-factor:user:alice`, which must not share the login starts' allowance).
    ///
    /// ```
    /// use iampass::core::store::LimitKey;
    /// assert_eq!(LimitKey::user("alice").scoped("first-factor").as_str(), "first-factor:user:alice");
    /// ```
    pub fn scoped(self, scope: &str) -> LimitKey {
        LimitKey(format!("{scope}:{}", self.0))
    }

    /// The key as stored (`user:alice`, `addr:192.0.2.1`, `addr:2001:db8::`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A status answer of IAMPASS, as cached for `revalidate_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedStatus {
    /// The session's status.
    pub status: Status,
    /// When IAMPASS gave it.
    pub checked_at: SystemTime,
}

impl CachedStatus {
    /// A status checked at `checked_at`.
    pub fn new(status: Status, checked_at: SystemTime) -> CachedStatus {
        CachedStatus { status, checked_at }
    }
}

/// A store operation that could not be carried out. Never a panic; the caller decides
/// what an error means for the request (see each [`Store`](super::Store) method).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer within its timeout.
    #[error("the shared store did not answer within {0:?}")]
    Timeout(Duration),
    /// The store cannot be reached (connection refused, lost, or not yet back).
    #[error("the shared store is unavailable: {0}")]
    Unavailable(String),
    /// The store answered something unexpected (an error reply, a malformed value).
    #[error("the shared store answered unexpectedly: {0}")]
    Protocol(String),
    /// The store is misconfigured (a bad URL, a missing feature).
    #[error("the shared store is misconfigured: {0}")]
    Config(String),
}

/// TTLs beyond this are cut to it: no state needs to outlive a year.
pub(super) const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

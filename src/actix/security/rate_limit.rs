//! Push-bombing defence: login starts limited per IAMPASS user and per client address.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A rate limit: at most `count` events per `per`, refilled evenly (a burst of `count` is
/// allowed). Given to [`IampassBuilder::rate_limit_per_user`] and
/// [`IampassBuilder::rate_limit_per_address`]; `None` there switches a limit off, and a zero
/// `count` or `per` is refused by [`IampassBuilder::build`].
///
/// ```
/// use std::time::Duration;
/// use iampass::actix::Rate;
/// assert_eq!(Rate::per_minute(5), Rate::new(5, Duration::from_secs(60)));
/// assert_eq!(Rate::per_minute(5).count(), 5);
/// ```
///
/// [`IampassBuilder::rate_limit_per_user`]: crate::actix::IampassBuilder::rate_limit_per_user
/// [`IampassBuilder::rate_limit_per_address`]: crate::actix::IampassBuilder::rate_limit_per_address
/// [`IampassBuilder::build`]: crate::actix::IampassBuilder::build
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    count: u32,
    per: Duration,
}

impl Rate {
    /// At most `count` events per `per`.
    pub const fn new(count: u32, per: Duration) -> Self {
        Rate { count, per }
    }

    /// At most `count` events per minute.
    pub const fn per_minute(count: u32) -> Self {
        Rate::new(count, Duration::from_secs(60))
    }

    /// How many events the window allows.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// The window.
    pub const fn per(&self) -> Duration {
        self.per
    }

    /// Why this rate cannot be used, if it cannot (a zero count or window).
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.count == 0 {
            Some("a rate of 0 events would refuse every login; pass None to switch the limit off")
        } else if self.per.is_zero() {
            Some("a rate over a zero window is not a limit; pass None to switch the limit off")
        } else {
            None
        }
    }

    fn quota(self) -> Option<Quota> {
        let count = NonZeroU32::new(self.count)?;
        let period = self.per.checked_div(self.count)?;
        Some(Quota::with_period(period.max(Duration::from_nanos(1)))?.allow_burst(count))
    }
}

/// How often (in checks) idle limiter state is dropped, bounding memory.
const RETAIN_EVERY: u64 = 4096;

/// The two keyed limiters of the login handler. `None` limiter: unlimited.
pub(crate) struct LoginLimits {
    per_user: Option<DefaultKeyedRateLimiter<String>>,
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl std::fmt::Debug for LoginLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimits")
            .field("per_user", &self.per_user.is_some())
            .field("per_address", &self.per_address.is_some())
            .finish()
    }
}

impl LoginLimits {
    pub(crate) fn new(per_user: Option<Rate>, per_address: Option<Rate>) -> Self {
        LoginLimits {
            per_user: per_user.and_then(Rate::quota).map(RateLimiter::keyed),
            per_address: per_address.and_then(Rate::quota).map(RateLimiter::keyed),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one login start for `user` from `address`; `Err(retry_after)` when either limit
    /// is exhausted. The address is checked first so that one address cannot drain every
    /// user's allowance.
    pub(crate) fn check(&self, user: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            if let Some(l) = &self.per_user {
                l.retain_recent();
            }
            if let Some(l) = &self.per_address {
                l.retain_recent();
            }
        }
        if let (Some(limiter), Some(address)) = (&self.per_address, address.map(client_key)) {
            limiter
                .check_key(&address)
                .map_err(|not_until| not_until.wait_time_from(self.clock.now()))?;
        }
        if let Some(limiter) = &self.per_user {
            limiter
                .check_key(&user.to_owned())
                .map_err(|not_until| not_until.wait_time_from(self.clock.now()))?;
        }
        Ok(())
    }
}

/// The key of a client address: IPv4 as it is, IPv6 by its /64 (one host usually holds a
/// whole /64, so per-address limits would otherwise be trivial to sidestep). IPv4-mapped
/// IPv6 addresses count as their IPv4 address.
fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(
                    segments[0],
                    segments[1],
                    segments[2],
                    segments[3],
                    0,
                    0,
                    0,
                    0,
                ))
            }
        },
    }
}

/// `Retry-After` in whole seconds, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.as_secs() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_user_and_per_address() {
        let limits = LoginLimits::new(Some(Rate::per_minute(2)), Some(Rate::per_minute(3)));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limits.check("alice", Some(a)).is_ok());
        assert!(limits.check("alice", Some(b)).is_ok());
        let wait = limits.check("alice", Some(a)).unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        // The refused start still took one of a's address tokens: a has one left.
        assert!(limits.check("bob", Some(a)).is_ok());
        assert!(limits.check("carol", Some(a)).is_err());
        assert!(limits.check("carol", Some(b)).is_ok());
    }

    #[test]
    fn ipv6_counts_by_its_64_prefix() {
        let limits = LoginLimits::new(None, Some(Rate::per_minute(1)));
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limits.check("x", Some(a)).is_ok());
        assert!(limits.check("y", Some(b)).is_err());
        assert!(limits.check("z", Some(c)).is_ok());
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert!(limits.check("x", Some(v4)).is_ok());
        assert!(limits.check("x", Some(mapped)).is_err());
    }

    #[test]
    fn none_means_unlimited_zero_is_a_problem_and_retry_after_rounds_up() {
        let limits = LoginLimits::new(None, None);
        for _ in 0..100 {
            assert!(limits.check("x", None).is_ok());
        }
        assert!(Rate::per_minute(0).problem().is_some());
        assert!(Rate::new(1, Duration::ZERO).problem().is_some());
        assert!(Rate::per_minute(1).problem().is_none());
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(12)), 12);
        assert_eq!(retry_after_secs(Duration::from_millis(12_001)), 13);
    }
}

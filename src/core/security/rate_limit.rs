//! Push-bombing and guessing defence: login starts, and the application's own first-factor
//! attempts (passwords), limited per user and per client address, in the [`Store`] (this
//! process's memory, or Redis shared by every instance).

use std::net::IpAddr;
use std::time::Duration;

use crate::core::store::{LimitKey, Rate, Store};

/// A pair of limits, per user and per client address (`None`: unlimited), taken from the
/// store; `scope` keeps the keys of one pair apart from another's.
pub(crate) struct LoginLimits {
    per_user: Option<Rate>,
    per_address: Option<Rate>,
    store: Store,
    scope: Option<&'static str>,
}

impl std::fmt::Debug for LoginLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimits")
            .field("per_user", &self.per_user)
            .field("per_address", &self.per_address)
            .field("store", &self.store.backend_name())
            .finish()
    }
}

impl LoginLimits {
    pub(crate) fn new(per_user: Option<Rate>, per_address: Option<Rate>, store: Store) -> Self {
        LoginLimits {
            per_user,
            per_address,
            store,
            scope: None,
        }
    }

    /// The same limits under keys of their own (`scope:user:…`, `scope:addr:…`).
    pub(crate) fn scoped(mut self, scope: &'static str) -> Self {
        self.scope = Some(scope);
        self
    }

    fn key(&self, key: LimitKey) -> LimitKey {
        match self.scope {
            Some(scope) => key.scoped(scope),
            None => key,
        }
    }

    /// Takes one login start for `user` from `address`; `Err(retry_after)` when either limit
    /// is exhausted. The address is checked first so that one address cannot drain every
    /// user's allowance. One store round trip per limit (none in memory).
    pub(crate) async fn check(&self, user: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        if let (Some(rate), Some(address)) = (self.per_address, address) {
            self.store
                .take(&self.key(LimitKey::address(address)), rate)
                .await?;
        }
        if let Some(rate) = self.per_user {
            self.store
                .take(&self.key(LimitKey::user(user)), rate)
                .await?;
        }
        Ok(())
    }
}

/// `Retry-After` in whole seconds, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.as_secs() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_user: Option<Rate>, per_address: Option<Rate>) -> LoginLimits {
        LoginLimits::new(per_user, per_address, Store::memory())
    }

    #[tokio::test]
    async fn per_user_and_per_address() {
        let limits = limits(Some(Rate::per_minute(2)), Some(Rate::per_minute(3)));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limits.check("alice", Some(a)).await.is_ok());
        assert!(limits.check("alice", Some(b)).await.is_ok());
        let wait = limits.check("alice", Some(a)).await.unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        // The refused start still took one of a's address tokens: a has one left.
        assert!(limits.check("bob", Some(a)).await.is_ok());
        assert!(limits.check("carol", Some(a)).await.is_err());
        assert!(limits.check("carol", Some(b)).await.is_ok());
    }

    #[tokio::test]
    async fn ipv6_counts_by_its_64_prefix() {
        let limits = limits(None, Some(Rate::per_minute(1)));
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limits.check("x", Some(a)).await.is_ok());
        assert!(limits.check("y", Some(b)).await.is_err());
        assert!(limits.check("z", Some(c)).await.is_ok());
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert!(limits.check("x", Some(v4)).await.is_ok());
        assert!(limits.check("x", Some(mapped)).await.is_err());
    }

    #[tokio::test]
    async fn limits_of_one_store_are_shared_by_every_limiter_on_it() {
        let store = Store::memory();
        let one = LoginLimits::new(Some(Rate::per_minute(2)), None, store.clone());
        let two = LoginLimits::new(Some(Rate::per_minute(2)), None, store);
        assert!(one.check("dora", None).await.is_ok());
        assert!(two.check("dora", None).await.is_ok());
        assert!(one.check("dora", None).await.is_err());
        assert!(two.check("dora", None).await.is_err());
    }

    #[tokio::test]
    async fn none_means_unlimited_zero_is_a_problem_and_retry_after_rounds_up() {
        let limits = limits(None, None);
        for _ in 0..100 {
            assert!(limits.check("x", None).await.is_ok());
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

//! What the poll handler and the wait page share about each pending login, so that polling
//! costs IAMPASS little however many polls arrive: one status call at a time per login and
//! at most one every [`MIN_RECHECK`]; an ended login is answered from memory; concurrent polls
//! are capped per login and per client address; and the exchange of a pending cookie for a
//! signed-in one happens once, across every instance sharing the [`Store`].

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::core::log::text;
use crate::core::security::client_addr::address_block;
use crate::core::security::in_flight::InFlight;
use crate::core::store::{Store, StoreError, session_handle};
use crate::{AuthenticationApi, Error, Session};

/// Lifetime of a pending-login cookie.
pub(crate) const PENDING_MAX_AGE: Duration = Duration::from_secs(600);

/// The shortest time between two status calls for one pending login.
pub(crate) const MIN_RECHECK: Duration = Duration::from_millis(500);
/// How long a pending login is remembered (a pending cookie lives at most this long).
const REMEMBER: Duration = Duration::from_secs(600);
/// Pending logins remembered at once (the oldest are forgotten first).
const CAPACITY: u64 = 100_000;

/// The last answer about one pending login.
#[derive(Clone)]
pub(crate) enum Checked {
    /// IAMPASS answered: the session with its new status.
    Answered(Box<Session>),
    /// IAMPASS could not be asked; why (for the log).
    Unavailable(String),
}

#[derive(Default)]
struct Entry {
    /// The last answer and when it came; the lock also makes concurrent polls wait for one
    /// in-flight call instead of making their own.
    last: tokio::sync::Mutex<Option<(Instant, Checked)>>,
    polls: AtomicUsize,
    /// Whether the login was exchanged (here or, as the store said, on another instance);
    /// the lock makes concurrent exchanges of one login on this instance ask the store once.
    exchanged: tokio::sync::Mutex<bool>,
    /// Whether the login's end (refused, timed out...) was already counted here.
    end_counted: std::sync::atomic::AtomicBool,
}

/// The registry of pending logins, one per [`Iampass`](crate::core::Iampass).
pub(crate) struct PendingLogins {
    entries: moka::sync::Cache<String, Arc<Entry>>,
    per_address: InFlight<IpAddr>,
}

impl std::fmt::Debug for PendingLogins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogins")
            .field("entries", &self.entries.entry_count())
            .field("addresses", &self.per_address.len())
            .finish_non_exhaustive()
    }
}

/// Why a poll was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollRefused {
    /// Too many concurrent polls of this login.
    PerLogin,
    /// Too many concurrent polls from this address.
    PerAddress,
}

/// A poll in progress; dropping it frees its place.
pub(crate) struct PollGuard<'a> {
    registry: &'a PendingLogins,
    entry: Arc<Entry>,
    address: Option<IpAddr>,
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        self.entry.polls.fetch_sub(1, Ordering::AcqRel);
        if let Some(address) = self.address {
            self.registry.per_address.release(&address);
        }
    }
}

impl PendingLogins {
    pub(crate) fn new() -> Self {
        PendingLogins {
            entries: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_idle(REMEMBER)
                .build(),
            per_address: InFlight::default(),
        }
    }

    fn entry(&self, token: &str) -> Arc<Entry> {
        self.entries
            .get_with_by_ref(token, || Arc::new(Entry::default()))
    }

    /// Lets one poll of `token` from `address` in, or says which cap refused it.
    pub(crate) fn enter(
        &self,
        token: &str,
        address: Option<IpAddr>,
        per_login: usize,
        per_address: usize,
    ) -> Result<PollGuard<'_>, PollRefused> {
        // An IPv6 client counts by its /64, as for every per-address limit.
        let address = address.map(address_block);
        let entry = self.entry(token);
        if entry.polls.fetch_add(1, Ordering::AcqRel) >= per_login {
            entry.polls.fetch_sub(1, Ordering::AcqRel);
            return Err(PollRefused::PerLogin);
        }
        if let Some(address) = address
            && !self.per_address.try_acquire(&address, per_address)
        {
            entry.polls.fetch_sub(1, Ordering::AcqRel);
            return Err(PollRefused::PerAddress);
        }
        Ok(PollGuard {
            registry: self,
            entry,
            address,
        })
    }

    /// How the login of `session` stands: from memory when it has ended or was checked less
    /// than [`MIN_RECHECK`] ago, else from one status call shared by every concurrent poll.
    pub(crate) async fn check(&self, api: &AuthenticationApi, session: &Session) -> Checked {
        let Some(token) = session.session_token() else {
            return Checked::Answered(Box::new(session.clone()));
        };
        let entry = self.entry(token);
        let mut last = entry.last.lock().await;
        if let Some((at, checked)) = last.as_ref() {
            let ended = matches!(checked, Checked::Answered(s) if s.session_status().is_terminal());
            if ended || at.elapsed() < MIN_RECHECK {
                return checked.clone();
            }
        }
        let mut asked = api.attach(session.clone());
        let checked = match asked.get_status().await {
            Ok(_) => Checked::Answered(Box::new(asked)),
            Err(e) if e.is_outage() || matches!(e, Error::Protocol(_)) => {
                Checked::Unavailable(e.to_string())
            }
            Err(e) => {
                // IAMPASS does not know the login (any more): it is over.
                tracing::debug!(error = text(&e), "IAMPASS refused a pending login's status");
                Checked::Answered(Box::new(Session::failed_to_start(Some(
                    "UNKNOWN_SESSION".to_owned(),
                ))))
            }
        };
        *last = Some((Instant::now(), checked.clone()));
        checked
    }

    /// `Ok(true)` for exactly one caller per pending login across every instance sharing
    /// `store`: the one that may turn it into a signed-in cookie. A repeat on this instance is
    /// answered from memory; the first try here claims `exchange:<session handle>` in the
    /// store for as long as a pending cookie lives.
    ///
    /// `Err`: the store could not say (fail closed: do not exchange). Nothing is remembered
    /// here, so a later poll tries again (and may find that the timed-out claim did land).
    pub(crate) async fn exchange_once(
        &self,
        store: &Store,
        token: &str,
    ) -> Result<bool, StoreError> {
        let entry = self.entry(token);
        let mut exchanged = entry.exchanged.lock().await;
        if *exchanged {
            return Ok(false);
        }
        let key = format!("exchange:{}", session_handle(token));
        let won = store.claim_once(&key, PENDING_MAX_AGE).await?;
        *exchanged = true;
        Ok(won)
    }

    /// `true` for the first caller that reports the end of login `token` on this instance
    /// (concurrent polls and the wait page all see the remembered end).
    pub(crate) fn first_end(&self, token: &str) -> bool {
        !self.entry(token).end_counted.swap(true, Ordering::AcqRel)
    }

    /// Forgets a login (a new login from the same browser replaced it, or it was logged out).
    pub(crate) fn forget(&self, token: &str) {
        self.entries.invalidate(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_are_capped_per_login_and_per_address_and_freed_on_drop() {
        let registry = PendingLogins::new();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = registry.enter("t1", Some(a), 2, 3).unwrap();
        let _second = registry.enter("t1", Some(a), 2, 3).unwrap();
        assert_eq!(
            registry.enter("t1", Some(b), 2, 3).err(),
            Some(PollRefused::PerLogin)
        );
        let _third = registry.enter("t2", Some(a), 2, 3).unwrap();
        assert_eq!(
            registry.enter("t3", Some(a), 2, 3).err(),
            Some(PollRefused::PerAddress)
        );
        drop(first);
        assert!(registry.enter("t1", Some(b), 2, 3).is_ok());
        assert!(registry.enter("t3", Some(a), 2, 3).is_ok());
    }

    #[tokio::test]
    async fn the_exchange_happens_once() {
        let registry = PendingLogins::new();
        let store = Store::memory();
        assert_eq!(registry.exchange_once(&store, "t").await, Ok(true));
        assert_eq!(registry.exchange_once(&store, "t").await, Ok(false));
        assert_eq!(registry.exchange_once(&store, "u").await, Ok(true));
    }

    #[tokio::test]
    async fn the_exchange_happens_once_across_registries_sharing_a_store() {
        // Two instances: two registries, one store.
        let (one, two) = (PendingLogins::new(), PendingLogins::new());
        let store = Store::memory();
        assert_eq!(two.exchange_once(&store, "t").await, Ok(true));
        assert_eq!(one.exchange_once(&store, "t").await, Ok(false));
        assert_eq!(two.exchange_once(&store, "t").await, Ok(false));
        assert_eq!(one.exchange_once(&store, "u").await, Ok(true));
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn a_store_that_cannot_answer_exchanges_nothing_and_remembers_nothing() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = Store::redis(&format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .timeout(Duration::from_millis(200))
            .build();
        let registry = PendingLogins::new();
        assert!(registry.exchange_once(&store, "t").await.is_err());
        // Not marked as exchanged: the next poll asks the store again.
        assert!(registry.exchange_once(&store, "t").await.is_err());
    }
}

//! Request coalescing: one status call in flight per session, shared by the requests that
//! arrive while it is young; a call that hangs is not joined by later requests.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};

use crate::{Error, Status};

/// IAMPASS's answer about a session, shared by every request that waited for it.
pub(crate) type Answer = Result<Status, Arc<Error>>;

type SharedFetch = Shared<BoxFuture<'static, Answer>>;

/// A status call in flight, shared by the requests of one session.
struct Flight {
    id: u64,
    started: Instant,
    fetch: SharedFetch,
}

/// The status calls in flight, keyed by session token.
pub(super) struct Flights {
    map: Mutex<HashMap<Arc<str>, Flight>>,
    next: AtomicU64,
    /// How old a call may be and still be joined ([`MAX_JOIN_AGE`](super::MAX_JOIN_AGE);
    /// tests shorten it).
    pub(super) join_age: Duration,
}

/// One request's part in a flight: the shared answer, and on drop (answered or cancelled)
/// the flight's removal from the map, unless a newer flight took its place.
pub(super) struct Joined<'a> {
    flights: &'a Flights,
    token: &'a str,
    id: u64,
    fetch: SharedFetch,
}

impl Joined<'_> {
    /// The flight's answer.
    pub(super) async fn answer(&self) -> Answer {
        self.fetch.clone().await
    }
}

impl Drop for Joined<'_> {
    fn drop(&mut self) {
        let mut map = self.flights.lock();
        if map.get(self.token).is_some_and(|f| f.id == self.id) {
            map.remove(self.token);
        }
    }
}

impl Flights {
    pub(super) fn new(join_age: Duration) -> Self {
        Flights {
            map: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            join_age,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Flight>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many calls are in flight.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Joins the session's flight if it is young enough, else starts the call `fetch` makes
    /// as a new one; `true` when this request started it.
    ///
    /// `fetch` is called only to start a flight: the call's future (kilobytes of hyper's
    /// state) is made straight inside the flight's box, never moved through the futures of
    /// the requests that wait for it.
    pub(super) fn join_or_start<'a, F, Fut>(
        &'a self,
        token: &'a str,
        fetch: F,
    ) -> (Joined<'a>, bool)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Status, Error>> + Send + 'static,
    {
        let mut map = self.lock();
        if let Some(flight) = map.get(token)
            && flight.started.elapsed() < self.join_age
        {
            let joined = Joined {
                flights: self,
                token,
                id: flight.id,
                fetch: flight.fetch.clone(),
            };
            return (joined, false);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let fetch = async move { fetch().await.map_err(Arc::new) }
            .boxed()
            .shared();
        map.insert(
            Arc::from(token),
            Flight {
                id,
                started: Instant::now(),
                fetch: fetch.clone(),
            },
        );
        let joined = Joined {
            flights: self,
            token,
            id,
            fetch,
        };
        (joined, true)
    }
}

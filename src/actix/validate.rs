//! Session validation against IAMPASS: one in-flight status call per session (request
//! coalescing, never joining a call older than [`MAX_JOIN_AGE`]), the status cache of
//! `revalidate_after` and the stale-if-error memory (local, or shared through the
//! [`Store`]), the audit events of a session's walkaway and return, and the pure decision of
//! what a status answer means for the request. It knows nothing of the configuration types:
//! the builder hands it plain durations and the store.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use moka::sync::Cache;

use super::handlers::short_handle;
use crate::store::{CachedStatus, Store, session_handle};
use crate::{Error, Status};

/// Bound on the number of sessions remembered by each local cache.
const CAPACITY: u64 = 100_000;

/// A request joins a status call already in flight for its session only while that call is
/// younger than this. A healthy IAMPASS answers in milliseconds, so joining saves calls under
/// load; a call that hangs (a black-holed server) is not joined by requests arriving later,
/// so once IAMPASS answers again they do not wait out the old call's timeout.
pub(crate) const MAX_JOIN_AGE: Duration = Duration::from_millis(500);

/// With a shared store, the stale-if-error time is written through at most this often per
/// session (every request would otherwise cost a Redis write).
const SHARE_LAST_GOOD_EVERY: Duration = Duration::from_secs(1);

type Answer = Result<Status, Arc<Error>>;
type SharedFetch = Shared<BoxFuture<'static, Answer>>;

/// A status call in flight, shared by the requests of one session.
struct Flight {
    id: u64,
    started: Instant,
    fetch: SharedFetch,
}

/// Coalesces and caches status answers, keyed by session token.
pub(crate) struct Validator {
    store: Store,
    /// The store is shared with other instances (Redis), not this process's memory.
    shared: bool,
    /// The whole status cache with the memory store (`None`: every request asks). With a
    /// shared store the store keeps the cache, with its own front of at most 1 s.
    answers: Option<Cache<Arc<str>, (Status, Instant)>>,
    /// `revalidate_after`, when set and not zero.
    revalidate_after: Option<Duration>,
    /// Last time IAMPASS said `active` per session, and when that was last shared; only with
    /// a stale-if-error grace.
    last_good: Option<(Duration, Cache<Arc<str>, LastGood>)>,
    /// The sessions last seen walked away (for the walkaway and return events).
    seen: Cache<Arc<str>, Status>,
    flights: Mutex<HashMap<Arc<str>, Flight>>,
    next_flight: AtomicU64,
    /// [`MAX_JOIN_AGE`] (tests shorten it).
    join_age: Duration,
    /// This validator among all (the per-thread fast path keys its entries by it), and the
    /// generation of its answers: every forget moves it on, voiding the fast path's entries.
    id: u64,
    generation: AtomicU64,
}

/// Gives each validator its own id.
static VALIDATORS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone, Copy)]
struct LastGood {
    at: Instant,
    shared_at: Option<Instant>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("store", &self.store)
            .field("revalidate_after", &self.revalidate_after)
            .field("stale_if_error", &self.last_good.as_ref().map(|(g, _)| g))
            .finish_non_exhaustive()
    }
}

/// Removes a flight from the map when its creator or any joiner is done with it (answered or
/// cancelled), unless a newer flight took its place.
struct FlightGuard<'a> {
    flights: &'a Mutex<HashMap<Arc<str>, Flight>>,
    token: &'a str,
    id: u64,
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if flights.get(self.token).is_some_and(|f| f.id == self.id) {
            flights.remove(self.token);
        }
    }
}

impl Validator {
    /// `revalidate_after: None` (or zero) asks IAMPASS on every request (concurrent requests
    /// share the call); `Some(d)` reuses an answer for `d`. `stale_grace`: how long a last
    /// good answer may stand in during an outage (`None`: it never does, and nothing is
    /// remembered). `store`: where the cache and the last-good times are shared (memory:
    /// they stay local).
    pub(crate) fn new(
        revalidate_after: Option<Duration>,
        stale_grace: Option<Duration>,
        store: Store,
    ) -> Self {
        let revalidate_after = revalidate_after.filter(|d| !d.is_zero());
        let shared = store.backend_name() != "memory";
        let answers = revalidate_after.filter(|_| !shared).map(|ttl| {
            Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl)
                .build()
        });
        let last_good = stale_grace.map(|grace| {
            let cache = Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(grace.max(Duration::from_millis(1)))
                .build();
            (grace, cache)
        });
        Validator {
            store,
            shared,
            answers,
            revalidate_after,
            last_good,
            seen: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
            flights: Mutex::new(HashMap::new()),
            next_flight: AtomicU64::new(0),
            join_age: MAX_JOIN_AGE,
            id: VALIDATORS.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
        }
    }

    /// A fresh answer from this process's cache, without waiting, and when IAMPASS gave it:
    /// the fast path of `revalidate_after` with the memory store.
    pub(crate) fn cached(&self, token: &str) -> Option<(Status, Instant)> {
        self.answers.as_ref()?.get(token)
    }

    /// Until when an answer given at `at` may stand in this process (`None`: it may not, as
    /// with every-request validation or a shared store).
    pub(crate) fn fresh_until(&self, at: Instant) -> Option<Instant> {
        self.answers.as_ref()?;
        Some(at + self.revalidate_after?)
    }

    /// This validator's id and the generation of its answers (see the fast path). Read it
    /// before reading an answer that is to be remembered with it.
    pub(crate) fn generation(&self) -> (u64, u64) {
        (self.id, self.generation.load(Ordering::Acquire))
    }

    /// The session's status: a fresh cached answer, the answer of a call already in flight
    /// for the same token (started less than [`MAX_JOIN_AGE`] ago), or the result of `fetch`
    /// (which then runs once for everyone). Errors are shared with the waiters but never
    /// cached.
    pub(crate) async fn status<F>(&self, token: &str, fetch: F) -> Checked
    where
        F: Future<Output = Result<Status, Error>> + Send + 'static,
    {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some((status, at)) = self.cached(token) {
            return Checked::cached(status, at, generation);
        }
        // With a shared store: the session's key there, derived once per call.
        let handle = (self.shared && (self.revalidate_after.is_some() || self.last_good.is_some()))
            .then(|| session_handle(token));
        if let Some(handle) = handle.as_deref()
            && self.revalidate_after.is_some()
            && let Ok(Some(cached)) = self.store.cached_status(handle).await
        {
            return Checked {
                answer: Ok(cached.status),
                transition: None,
                at: None,
            };
        }
        let (id, fetch, created) = self.flight(token, fetch);
        let _guard = FlightGuard {
            flights: &self.flights,
            token,
            id,
        };
        let answer = fetch.await;
        let at = Instant::now();
        let transition = match answer {
            Ok(status) if created => {
                self.remember(token, handle.as_deref(), status, at, generation)
                    .await
            }
            _ => None,
        };
        Checked {
            answer,
            transition,
            at: Some((at, generation)),
        }
    }

    /// Joins the session's flight if it is young enough, else starts a new one.
    fn flight<F>(&self, token: &str, fetch: F) -> (u64, SharedFetch, bool)
    where
        F: Future<Output = Result<Status, Error>> + Send + 'static,
    {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(flight) = flights.get(token)
            && flight.started.elapsed() < self.join_age
        {
            return (flight.id, flight.fetch.clone(), false);
        }
        let id = self.next_flight.fetch_add(1, Ordering::Relaxed);
        let fetch = fetch
            .map(|answer| answer.map_err(Arc::new))
            .boxed()
            .shared();
        flights.insert(
            Arc::from(token),
            Flight {
                id,
                started: Instant::now(),
                fetch: fetch.clone(),
            },
        );
        (id, fetch, true)
    }

    /// What a fresh answer of IAMPASS leaves behind: the cached status, the last good time,
    /// and the walkaway / return events.
    /// `generation`: the validator's, read before IAMPASS was asked; if a forget came in
    /// between (a logout while the call was in flight), the answer is not cached.
    /// `handle`: the session's key in a shared store (`None` with the memory store).
    async fn remember(
        &self,
        token: &str,
        handle: Option<&str>,
        status: Status,
        at: Instant,
        generation: u64,
    ) -> Option<Transition> {
        let mut transition = None;
        // Only walked-away sessions are remembered: the memory stays small, and the common
        // answer (active, never away) costs one lookup.
        if status == Status::Walkaway {
            if !self.seen.contains_key(token) {
                transition = Some(Transition::Walkaway);
                self.seen.insert(Arc::from(token), status);
            }
        } else if self.seen.contains_key(token)
            && self.seen.remove(token).is_some()
            && status == Status::Active
        {
            transition = Some(Transition::Return);
        }
        let forgotten_meanwhile = self.generation.load(Ordering::Acquire) != generation;
        if forgotten_meanwhile {
            // Not cached: the next request asks IAMPASS again.
        } else if let Some(answers) = &self.answers {
            answers.insert(Arc::from(token), (status, at));
        } else if let (Some(ttl), Some(handle)) = (self.revalidate_after, handle) {
            let cached = CachedStatus::new(status, SystemTime::now());
            if let Err(e) = self.store.put_status(handle, cached, ttl).await {
                tracing::debug!(error = %e, "status not shared (the next instance asks IAMPASS)");
            }
        }
        if status != Status::Active {
            return transition;
        }
        let Some((grace, last_good)) = &self.last_good else {
            return transition;
        };
        let now = Instant::now();
        let shared_at = last_good.get(token).and_then(|p| p.shared_at);
        let mut entry = LastGood { at: now, shared_at };
        if let Some(handle) = handle
            && shared_at.is_none_or(|at| now.duration_since(at) >= SHARE_LAST_GOOD_EVERY)
        {
            match self
                .store
                .set_last_good(handle, SystemTime::now(), *grace)
                .await
            {
                Ok(()) => entry.shared_at = Some(now),
                Err(e) => tracing::debug!(error = %e, "last good time not shared"),
            }
        }
        last_good.insert(Arc::from(token), entry);
        transition
    }

    /// How long ago IAMPASS last said `active` for this session (here, or with a shared
    /// store on any instance), within the grace window.
    pub(crate) async fn last_good_age(&self, token: &str) -> Option<Duration> {
        let (grace, last_good) = self.last_good.as_ref()?;
        if let Some(entry) = last_good.get(token) {
            return Some(entry.at.elapsed());
        }
        if !self.shared {
            return None;
        }
        // Unknown (Redis down) is no grace: fail closed.
        let at = self.store.last_good(&session_handle(token)).await.ok()??;
        let age = SystemTime::now().duration_since(at).unwrap_or_default();
        (age <= *grace).then_some(age)
    }

    /// Forgets everything about a session here (after logout: a replayed cookie must ask
    /// IAMPASS). Other instances learn of it through [`Validator::revoke`].
    pub(crate) async fn forget(&self, token: &str) {
        if let Some(answers) = &self.answers {
            answers.invalidate(token);
        }
        // Voids every worker thread's fast-path entries of this validator.
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some((_, last_good)) = &self.last_good {
            last_good.invalidate(token);
        }
    }

    /// Ends a session for every instance sharing the store: forgotten here at once, revoked
    /// in the store for `ttl` (the cookie's remaining life). A store that cannot be reached
    /// is logged; IAMPASS ending the session still reaches the other instances once their
    /// cached answer expires.
    pub(crate) async fn revoke(&self, token: &str, ttl: Duration) {
        self.forget(token).await;
        if let Err(e) = self.store.revoke(&session_handle(token), ttl).await {
            tracing::warn!(
                error = %e,
                handle = %short_handle(token),
                "the revocation could not be shared with the other instances"
            );
        }
    }
}

/// A status answer, and whether it moved the session across a walkaway.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) answer: Answer,
    /// Set for the one request whose fresh answer showed the change.
    pub(crate) transition: Option<Transition>,
    /// When IAMPASS gave the answer, if it was given to this process, and the validator's
    /// generation read before it was asked (a forget in between voids the answer's use on
    /// the fast path).
    pub(crate) at: Option<(Instant, u64)>,
}

impl Checked {
    fn cached(status: Status, at: Instant, generation: u64) -> Self {
        Checked {
            answer: Ok(status),
            transition: None,
            at: Some((at, generation)),
        }
    }
}

/// A change of presence worth an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// The session went to `walkaway` (first seen so on this instance).
    Walkaway,
    /// A walked-away session is `active` again.
    Return,
}

impl Transition {
    /// The audit event, with the session's user (when known: a live stream's ticker only has
    /// the session) and short handle; a request's span adds the client address and path.
    pub(crate) fn log(self, user: Option<&str>, handle: &str) {
        match self {
            Transition::Walkaway => tracing::info!(
                user,
                handle,
                "IAMPASS walkaway: the user's phone left; access is locked"
            ),
            Transition::Return => tracing::info!(
                user,
                handle,
                "IAMPASS return: the user's phone is back; access is restored"
            ),
        }
    }
}

/// What a status answer means for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Access granted; `stale` when only the stale-if-error grace allowed it.
    Allow { stale: bool },
    /// Anonymous; `remove` when the cookie is to be deleted.
    Deny {
        status: Option<Status>,
        remove: bool,
    },
    /// IAMPASS could not answer and the fail mode does not allow the request.
    Unavailable(String),
}

/// Maps IAMPASS's answer to a verdict. `end_on_walkaway`: `walkaway` removes the cookie.
/// `stale_grace` and `last_good_age` are consulted only on an outage.
pub(crate) fn verdict(
    answer: &Result<Status, Arc<Error>>,
    end_on_walkaway: bool,
    stale_grace: Option<Duration>,
    last_good_age: Option<Duration>,
) -> Verdict {
    match answer {
        Ok(Status::Active) => Verdict::Allow { stale: false },
        Ok(Status::Walkaway) => Verdict::Deny {
            status: Some(Status::Walkaway),
            remove: end_on_walkaway,
        },
        // A login cookie whose session went back to in-progress: not an identity, but
        // nothing ended either.
        Ok(status @ (Status::Pending | Status::Identifying)) => Verdict::Deny {
            status: Some(*status),
            remove: false,
        },
        Ok(status) => Verdict::Deny {
            status: Some(*status),
            remove: true,
        },
        // IAMPASS does not know the session (404, 410): it is over. Every other 4xx (408,
        // 429, the application's own 401/403) is an outage below: it must not sign anyone out.
        Err(e) if e.ends_session() => Verdict::Deny {
            status: None,
            remove: true,
        },
        Err(e) if matches!(**e, Error::InvalidArgument(_)) => Verdict::Deny {
            status: None,
            remove: true,
        },
        // Outage, or an answer that could not be understood: the user's state is unknown.
        Err(e) => match (stale_grace, last_good_age) {
            (Some(grace), Some(age)) if age <= grace => Verdict::Allow { stale: true },
            _ => Verdict::Unavailable(e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn outage() -> Arc<Error> {
        Arc::new(Error::Timeout(Duration::from_secs(1)))
    }

    #[test]
    fn verdict_table() {
        const DENY: bool = false;
        const END_SESSION: bool = true;
        const CLOSED: Option<Duration> = None;
        let grace = Some(Duration::from_secs(60));
        let v = |a: Result<Status, Arc<Error>>, w, f, age| verdict(&a, w, f, age);
        assert_eq!(
            v(Ok(Status::Active), DENY, CLOSED, None),
            Verdict::Allow { stale: false }
        );
        assert_eq!(
            v(Ok(Status::Walkaway), DENY, CLOSED, None),
            Verdict::Deny {
                status: Some(Status::Walkaway),
                remove: false
            }
        );
        assert_eq!(
            v(Ok(Status::Walkaway), END_SESSION, CLOSED, None),
            Verdict::Deny {
                status: Some(Status::Walkaway),
                remove: true
            }
        );
        for s in [
            Status::Closed,
            Status::Failed,
            Status::Timeout,
            Status::Cancelled,
        ] {
            // A deny is never overridden, whatever the fail mode and history.
            assert_eq!(
                v(Ok(s), DENY, grace, Some(Duration::ZERO)),
                Verdict::Deny {
                    status: Some(s),
                    remove: true
                }
            );
        }
        assert!(matches!(
            v(Err(outage()), DENY, CLOSED, Some(Duration::ZERO)),
            Verdict::Unavailable(_)
        ));
        assert_eq!(
            v(Err(outage()), DENY, grace, Some(Duration::from_secs(59))),
            Verdict::Allow { stale: true }
        );
        assert!(matches!(
            v(Err(outage()), DENY, grace, Some(Duration::from_secs(61))),
            Verdict::Unavailable(_)
        ));
        assert!(matches!(
            v(Err(outage()), DENY, grace, None),
            Verdict::Unavailable(_)
        ));
        let http = |status| {
            Arc::new(Error::Http {
                status,
                body: String::new(),
                retry_after: None,
            })
        };
        assert!(matches!(
            v(Err(http(503)), DENY, CLOSED, None),
            Verdict::Unavailable(_)
        ));
        for ends in [404, 410] {
            assert_eq!(
                v(Err(http(ends)), DENY, grace, Some(Duration::ZERO)),
                Verdict::Deny {
                    status: None,
                    remove: true
                }
            );
        }
        // Not about the session: an outage under the fail mode, never a sign-out.
        for outage in [
            400, 401, 403, 405, 408, 409, 418, 429, 451, 500, 502, 503, 504,
        ] {
            assert!(
                matches!(
                    v(Err(http(outage)), DENY, CLOSED, None),
                    Verdict::Unavailable(_)
                ),
                "{outage}"
            );
            assert_eq!(
                v(Err(http(outage)), DENY, grace, Some(Duration::ZERO)),
                Verdict::Allow { stale: true },
                "{outage}"
            );
        }
    }

    // Current-thread runtime: the spawned tasks run whenever this task yields, so after the
    // yields below every one of them has reached its wait (no timers involved).
    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_calls_share_one_fetch() {
        let validator = Arc::new(Validator::new(None, None, Store::memory()));
        let calls = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let (release, gate) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (validator, calls, started, mut gate) = (
                validator.clone(),
                calls.clone(),
                started.clone(),
                gate.clone(),
            );
            tasks.push(tokio::spawn(async move {
                started.fetch_add(1, Ordering::SeqCst);
                validator
                    .status("tok", async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        gate.wait_for(|open| *open).await.unwrap();
                        Ok(Status::Active)
                    })
                    .await
                    .answer
            }));
        }
        // Bounded: until all 20 have started and the one fetch is in flight, then let the
        // others settle behind it.
        for _ in 0..10_000 {
            if started.load(Ordering::SeqCst) == 20 && calls.load(Ordering::SeqCst) >= 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert_eq!(started.load(Ordering::SeqCst), 20);
        release.send(true).unwrap();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), Status::Active);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Every-request mode: the next request asks again.
        let again = validator
            .status("tok", async { Ok(Status::Walkaway) })
            .await
            .answer
            .unwrap();
        assert_eq!(again, Status::Walkaway);
    }

    #[tokio::test]
    async fn revalidate_after_caches_and_errors_are_not_cached() {
        let validator = Validator::new(
            Some(Duration::from_secs(60)),
            Some(Duration::from_secs(60)),
            Store::memory(),
        );
        assert!(
            validator
                .status("a", async { Err(Error::Timeout(Duration::ZERO)) })
                .await
                .answer
                .is_err()
        );
        assert_eq!(validator.last_good_age("a").await, None);
        assert_eq!(
            validator
                .status("a", async { Ok(Status::Active) })
                .await
                .answer
                .unwrap(),
            Status::Active
        );
        assert_eq!(
            validator
                .status("a", async { Ok(Status::Closed) })
                .await
                .answer
                .unwrap(),
            Status::Active
        );
        assert!(validator.last_good_age("a").await.is_some());
        validator.forget("a").await;
        assert_eq!(
            validator
                .status("a", async { Ok(Status::Closed) })
                .await
                .answer
                .unwrap(),
            Status::Closed
        );
        assert_eq!(validator.last_good_age("a").await, None);
    }

    /// Starts a status call for `token` that answers `active` once `gate` is released (or
    /// never, if it is dropped), and lets it register its flight.
    async fn gated_call(
        validator: &Arc<Validator>,
        token: &'static str,
        gate: tokio::sync::oneshot::Receiver<()>,
    ) -> tokio::task::JoinHandle<Answer> {
        let call = tokio::spawn({
            let validator = validator.clone();
            async move {
                validator
                    .status(token, async move {
                        let _ = gate.await;
                        Ok(Status::Active)
                    })
                    .await
                    .answer
            }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(validator.flights.lock().unwrap().len(), 1, "in flight");
        call
    }

    // A call that hangs is not joined once it is older than the bound: a later request makes
    // its own call and gets IAMPASS's answer without waiting for the hung one.
    #[tokio::test(flavor = "current_thread")]
    async fn a_hung_call_is_not_joined_after_the_bound() {
        let mut validator = Validator::new(None, None, Store::memory());
        validator.join_age = Duration::ZERO;
        let validator = Arc::new(validator);
        let (_never, hang) = tokio::sync::oneshot::channel::<()>();
        let hung = gated_call(&validator, "tok", hang).await;
        let fresh = validator
            .status("tok", async { Ok(Status::Walkaway) })
            .await
            .answer
            .unwrap();
        assert_eq!(fresh, Status::Walkaway, "answered by its own call");
        assert!(!hung.is_finished());
        hung.abort();
    }

    #[tokio::test]
    async fn walkaway_and_return_are_reported_once() {
        let validator = Validator::new(None, None, Store::memory());
        let check = |status| {
            let validator = &validator;
            async move {
                validator
                    .status("t", async move { Ok(status) })
                    .await
                    .transition
            }
        };
        assert_eq!(check(Status::Active).await, None);
        assert_eq!(check(Status::Walkaway).await, Some(Transition::Walkaway));
        assert_eq!(check(Status::Walkaway).await, None, "only the change");
        assert_eq!(check(Status::Active).await, Some(Transition::Return));
        assert_eq!(check(Status::Active).await, None);
        assert_eq!(check(Status::Walkaway).await, Some(Transition::Walkaway));
        assert_eq!(check(Status::Closed).await, None, "ended, not back");
        assert_eq!(check(Status::Active).await, None);
    }

    #[tokio::test]
    async fn revoke_forgets_here_and_in_the_store() {
        let store = Store::memory();
        let validator = Validator::new(Some(Duration::from_secs(60)), None, store.clone());
        let _ = validator.status("t", async { Ok(Status::Active) }).await;
        assert_eq!(validator.cached("t").map(|(s, _)| s), Some(Status::Active));
        let before = validator.generation();
        validator.revoke("t", Duration::from_secs(60)).await;
        assert_ne!(validator.generation(), before, "the fast path is voided");
        assert_eq!(validator.cached("t"), None);
        assert!(store.is_revoked(&session_handle("t")).await.unwrap());
    }

    // A logout while the status call is in flight: its "active" answer is not cached, so a
    // replayed cookie asks IAMPASS again instead of riding a cache filled after the logout.
    #[tokio::test(flavor = "current_thread")]
    async fn an_answer_racing_a_forget_is_not_cached() {
        let validator = Arc::new(Validator::new(
            Some(Duration::from_secs(60)),
            None,
            Store::memory(),
        ));
        let (release, gate) = tokio::sync::oneshot::channel::<()>();
        let call = gated_call(&validator, "t", gate).await;
        validator.forget("t").await;
        release.send(()).unwrap();
        assert_eq!(call.await.unwrap().unwrap(), Status::Active);
        assert_eq!(validator.cached("t"), None);
    }
}

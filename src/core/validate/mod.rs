//! Session validation against IAMPASS, in one place:
//! - `flight`: one in-flight status call per session (request coalescing, never joining a
//!   call older than [`MAX_JOIN_AGE`]);
//! - here: the status cache of `revalidate_after` and the stale-if-error memory (local, or
//!   shared through the [`Store`]), revocation, and [`Validator::judge`], the one sequence
//!   (status → audit event → last good → verdict) every judge of a session follows;
//! - `verdict`: what an answer means ([`Verdict`], by the deployment's [`Policy`]) and the
//!   walkaway / return audit events;
//! - `fast_path`: the per-thread memory of cookies just validated `active`.
//!
//! It knows nothing of the configuration types: the builder hands it plain durations, the
//! policy and the store.

pub(crate) mod fast_path;
mod flight;
mod verdict;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use moka::sync::Cache;

pub(crate) use self::flight::Answer;
use self::flight::Flights;
pub(crate) use self::verdict::{Policy, Transition, Verdict};

use crate::core::log::{short_handle, text};
use crate::core::store::{CachedStatus, Store, session_handle};
use crate::metrics::{self, CacheResult};
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
    flights: Flights,
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
            flights: Flights::new(MAX_JOIN_AGE),
            id: VALIDATORS.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
        }
    }

    /// A fresh answer from this process's cache, without waiting, and when IAMPASS gave it:
    /// the fast path of `revalidate_after` with the memory store.
    pub(crate) fn cached(&self, token: &str) -> Option<(Status, Instant)> {
        let answer = self.answers.as_ref()?.get(token);
        if answer.is_some() {
            metrics::status_cache(CacheResult::Hit);
        }
        answer
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
    ///
    /// `fetch` makes the call only when this request starts it, and the shared store's calls
    /// here and in `remember` are boxed: both keep the future every validated request
    /// carries small (inline, they made it ~14 KB, copied and allocated per request).
    pub(crate) async fn status<F, Fut>(&self, token: &str, fetch: F) -> Checked
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Status, Error>> + Send + 'static,
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
            && let Ok(Some(cached)) = Box::pin(self.store.cached_status(handle)).await
        {
            metrics::status_cache(CacheResult::Hit);
            return Checked {
                answer: Ok(cached.status),
                transition: None,
                at: None,
            };
        }
        if self.revalidate_after.is_some() {
            metrics::status_cache(CacheResult::Miss);
        }
        let (flight, created) = self.flights.join_or_start(token, fetch);
        let answer = flight.answer().await;
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

    /// What IAMPASS says of the session now, and what it means: the one sequence every
    /// judge of a session follows (a request, a live stream's ticker). Its status (coalesced,
    /// cached; `fetch` asks IAMPASS, run only when no call is in flight) → the walkaway /
    /// return audit event (with `user` when known) → on an outage, how long ago it was last
    /// good → the verdict by `policy`.
    pub(crate) async fn judge<F, Fut>(
        &self,
        token: &str,
        user: Option<&str>,
        policy: Policy,
        fetch: F,
    ) -> Judged
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Status, Error>> + Send + 'static,
    {
        let checked = self.status(token, fetch).await;
        if let Some(transition) = checked.transition {
            transition.log(user, &short_handle(token));
        }
        let last_good = match &checked.answer {
            Err(_) => self.last_good_age(token).await,
            Ok(_) => None,
        };
        let verdict = policy.verdict(&checked.answer, last_good);
        if verdict == (Verdict::Allow { stale: true }) {
            metrics::status_cache(CacheResult::StaleUsed);
        }
        Judged {
            verdict,
            answer: checked.answer,
            last_good,
            at: checked.at,
        }
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
            if let Err(e) = Box::pin(self.store.put_status(handle, cached, ttl)).await {
                tracing::debug!(
                    error = text(&e),
                    "status not shared (the next instance asks IAMPASS)"
                );
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
            match Box::pin(self.store.set_last_good(handle, SystemTime::now(), *grace)).await {
                Ok(()) => entry.shared_at = Some(now),
                Err(e) => tracing::debug!(error = text(&e), "last good time not shared"),
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
        let at = Box::pin(self.store.last_good(&session_handle(token)))
            .await
            .ok()??;
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
                error = text(&e),
                handle = short_handle(token),
                "the revocation could not be shared with the other instances"
            );
        }
    }
}

/// A session judged: the verdict, and what it was made of.
#[derive(Debug)]
pub(crate) struct Judged {
    pub(crate) verdict: Verdict,
    pub(crate) answer: Answer,
    /// How long ago the session was last good, when the answer was an outage.
    pub(crate) last_good: Option<Duration>,
    /// See [`Checked::at`].
    pub(crate) at: Option<(Instant, u64)>,
}

impl Judged {
    /// The judgement of a fresh answer from this process's cache (given at `at`).
    pub(crate) fn cached(status: Status, at: Instant, generation: u64, policy: Policy) -> Self {
        let answer = Ok(status);
        Judged {
            verdict: policy.verdict(&answer, None),
            answer,
            last_good: None,
            at: Some((at, generation)),
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

#[cfg(test)]
mod tests;

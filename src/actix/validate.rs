//! Session validation against IAMPASS: one in-flight status call per session (request
//! coalescing), optional caching for `revalidate_after`, the stale-if-error store, and the
//! pure decision of what a status answer means for the request. It knows nothing of the
//! configuration types: the builder hands it plain durations and flags.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use moka::future::Cache;

use crate::{Error, Status};

/// Bound on the number of sessions remembered by each cache.
const CAPACITY: u64 = 100_000;

/// Coalesces and (optionally) caches status answers, keyed by session token.
pub(crate) struct Validator {
    answers: Cache<String, Status>,
    /// `revalidate_after` is set: answers are kept beyond their call.
    caching: bool,
    /// Last time IAMPASS said `active` per session; only with a stale-if-error grace.
    last_good: Option<Cache<String, Instant>>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("ttl", &self.answers.policy().time_to_live())
            .field("stale_if_error", &self.last_good.is_some())
            .finish()
    }
}

impl Validator {
    /// `revalidate_after: None` keeps answers only while a call is in flight (every request
    /// validates, concurrent requests share the call); `Some(d)` reuses an answer for `d`.
    /// `stale_grace`: how long a last good answer may stand in during an outage (`None`: it
    /// never does, and nothing is remembered).
    pub(crate) fn new(revalidate_after: Option<Duration>, stale_grace: Option<Duration>) -> Self {
        let answers = Cache::builder()
            .max_capacity(CAPACITY)
            .time_to_live(revalidate_after.unwrap_or(Duration::ZERO))
            .build();
        let last_good = stale_grace.map(|grace| {
            Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(grace.max(Duration::from_millis(1)))
                .build()
        });
        Validator {
            answers,
            caching: revalidate_after.is_some_and(|d| !d.is_zero()),
            last_good,
        }
    }

    /// The session's status: a fresh cached answer, the answer of a call already in flight
    /// for the same token, or the result of `fetch` (which then runs once for everyone).
    /// Errors are shared with the waiters but never cached.
    pub(crate) async fn status<F>(&self, token: &str, fetch: F) -> Result<Status, Arc<Error>>
    where
        F: Future<Output = Result<Status, Error>>,
    {
        // The hit path: no key to allocate, nothing to insert.
        if self.caching
            && let Some(status) = self.answers.get(token).await
        {
            return Ok(status);
        }
        let fetched = AtomicBool::new(false);
        let fetch = async {
            fetched.store(true, Ordering::Relaxed);
            fetch.await
        };
        let status = self.answers.try_get_with(token.to_owned(), fetch).await?;
        // Only an answer IAMPASS just gave is a "last good" one (not a cached or shared one).
        let fresh = fetched.load(Ordering::Relaxed);
        if let Some(last_good) = self
            .last_good
            .as_ref()
            .filter(|_| fresh && status == Status::Active)
        {
            last_good.insert(token.to_owned(), Instant::now()).await;
        }
        Ok(status)
    }

    /// How long ago IAMPASS last said `active` for this session, within the grace window.
    pub(crate) async fn last_good_age(&self, token: &str) -> Option<Duration> {
        let at = self.last_good.as_ref()?.get(token).await?;
        Some(at.elapsed())
    }

    /// Forgets everything about a session (after logout: a replayed cookie must ask IAMPASS).
    pub(crate) async fn forget(&self, token: &str) {
        self.answers.invalidate(token).await;
        if let Some(last_good) = &self.last_good {
            last_good.invalidate(token).await;
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
        let validator = Arc::new(Validator::new(None, None));
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
            .unwrap();
        assert_eq!(again, Status::Walkaway);
    }

    #[tokio::test]
    async fn revalidate_after_caches_and_errors_are_not_cached() {
        let validator =
            Validator::new(Some(Duration::from_secs(60)), Some(Duration::from_secs(60)));
        assert!(
            validator
                .status("a", async { Err(Error::Timeout(Duration::ZERO)) })
                .await
                .is_err()
        );
        assert_eq!(validator.last_good_age("a").await, None);
        assert_eq!(
            validator
                .status("a", async { Ok(Status::Active) })
                .await
                .unwrap(),
            Status::Active
        );
        assert_eq!(
            validator
                .status("a", async { Ok(Status::Closed) })
                .await
                .unwrap(),
            Status::Active
        );
        assert!(validator.last_good_age("a").await.is_some());
        validator.forget("a").await;
        assert_eq!(
            validator
                .status("a", async { Ok(Status::Closed) })
                .await
                .unwrap(),
            Status::Closed
        );
        assert_eq!(validator.last_good_age("a").await, None);
    }
}

//! The validator's tests: the verdict table, coalescing, caching, walkaway events, revocation.

use super::verdict::verdict;
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
                .status("tok", move || async move {
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
        .status("tok", || async { Ok(Status::Walkaway) })
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
            .status("a", || async { Err(Error::Timeout(Duration::ZERO)) })
            .await
            .answer
            .is_err()
    );
    assert_eq!(validator.last_good_age("a").await, None);
    assert_eq!(
        validator
            .status("a", || async { Ok(Status::Active) })
            .await
            .answer
            .unwrap(),
        Status::Active
    );
    assert_eq!(
        validator
            .status("a", || async { Ok(Status::Closed) })
            .await
            .answer
            .unwrap(),
        Status::Active
    );
    assert!(validator.last_good_age("a").await.is_some());
    validator.forget("a").await;
    assert_eq!(
        validator
            .status("a", || async { Ok(Status::Closed) })
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
                .status(token, move || async move {
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
    assert_eq!(validator.flights.len(), 1, "in flight");
    call
}

// A call that hangs is not joined once it is older than the bound: a later request makes
// its own call and gets IAMPASS's answer without waiting for the hung one.
#[tokio::test(flavor = "current_thread")]
async fn a_hung_call_is_not_joined_after_the_bound() {
    let mut validator = Validator::new(None, None, Store::memory());
    validator.flights.join_age = Duration::ZERO;
    let validator = Arc::new(validator);
    let (_never, hang) = tokio::sync::oneshot::channel::<()>();
    let hung = gated_call(&validator, "tok", hang).await;
    let fresh = validator
        .status("tok", || async { Ok(Status::Walkaway) })
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
                .status("t", move || async move { Ok(status) })
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
    let _ = validator.status("t", || async { Ok(Status::Active) }).await;
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

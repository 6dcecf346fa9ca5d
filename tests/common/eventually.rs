//! The one polling helper: awaits a state change, failing the test after a bound.

use std::future::Future;
use std::time::{Duration, Instant};

/// Longest any awaited state change may take before a test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// How often `check` is asked again.
const POLL: Duration = Duration::from_millis(10);

/// Polls `check` until it holds, failing the test after [`DEADLINE`].
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_within(DEADLINE, what, check).await;
}

/// Polls `check` until it holds, failing the test after `within`.
pub async fn eventually_within<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_some(within, what, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await;
}

/// Polls `check` until it answers `Some`, and answers its value; fails the test after
/// `within`.
pub async fn eventually_some<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < within,
            "timed out waiting for {what} (not within {within:?})"
        );
        tokio::time::sleep(POLL).await;
    }
}

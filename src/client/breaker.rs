//! The client's circuit breaker: after repeated server failures, fail at once instead of making
//! every caller wait for a timeout, and let one probe request at a time find out when IAMPASS
//! is back.
//!
//! ```text
//! Closed --N consecutive server failures--> Open{until = now + max(cool-down, Retry-After)}
//! Open   --until passed, next call--------> HalfOpen (that call is the one probe)
//! HalfOpen --probe answered---------------> Closed
//! HalfOpen --probe failed-----------------> Open again
//! HalfOpen --probe out for a cool-down----> HalfOpen (the next call is a new probe)
//! ```
//!
//! One probe at a time: while a probe is out, other calls fail at once. A probe still
//! unanswered after a cool-down is given up on (a black-holed IAMPASS holds it until the
//! request timeout), so a later call probes again and users are back within a cool-down of
//! IAMPASS returning rather than a request timeout. Any probe that is answered closes the
//! breaker; only the newest probe's failure opens it again.
//!
//! What counts as a failure is [`Error::is_server_failure`]: unreachable, timeout, `408`,
//! `429`, `5xx`. Any other answer (a `404`, a refusal, a `401`) shows the server is alive.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::Error;
use crate::metrics::{self, Circuit};

/// Consecutive server failures that open the breaker by default: enough that one slow request
/// or a blip does not cut users off, few enough that an outage is noticed within a second or so
/// of traffic.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 5;
/// How long an open breaker refuses calls by default before one probe: short, so users are
/// back within a second of IAMPASS recovering (at worst a cool-down plus one round trip), while
/// an outage costs under two probes per second.
pub const DEFAULT_COOL_DOWN: Duration = Duration::from_millis(750);
/// The longest `Retry-After` honoured: a broken or hostile header cannot switch the client off
/// for longer than this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Where the client's circuit breaker stands, for an application's health endpoint.
///
/// ```
/// use iampass::AuthenticationApi;
/// use iampass::client::CircuitState;
/// let api = AuthenticationApi::builder("app", "secret")
///     .server("http://127.0.0.1:9")
///     .build()?;
/// assert_eq!(api.circuit_state(), CircuitState::Closed);
/// # Ok::<(), iampass::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CircuitState {
    /// Calls go through (also the state of a client whose breaker is turned off).
    Closed,
    /// Calls fail at once with [`Error::CircuitOpen`] until `until`.
    Open {
        /// When the next call may go through as a probe.
        until: Instant,
    },
    /// One probe call decides: closed if it succeeds, open again if it fails. Other calls fail
    /// at once meanwhile; a probe unanswered for a whole cool-down is given up on and the next
    /// call probes again.
    HalfOpen,
}

impl CircuitState {
    /// A short name for logs and health answers: `closed`, `open` or `half-open`.
    ///
    /// ```
    /// assert_eq!(iampass::client::CircuitState::HalfOpen.as_str(), "half-open");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open { .. } => "open",
            CircuitState::HalfOpen => "half-open",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
        /// The longest `Retry-After` seen in the current run of failures.
        retry_after: Duration,
    },
    Open {
        until: Instant,
    },
    HalfOpen {
        /// The probe out now, if any.
        probe: Option<Probe>,
    },
}

/// One probe call: which one (so that a given-up probe's failure decides nothing) and when it
/// went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Probe {
    id: u64,
    since: Instant,
}

/// The breaker: a small state machine behind a mutex (held for a few instructions, never
/// across an await).
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cool_down: Duration,
    state: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// The id of the last probe let through.
    probes: u64,
}

/// How one call ended, as far as the breaker is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server answered (any answer that is not a server failure).
    Answered,
    /// A server failure, with the `Retry-After` it carried.
    Failed(Option<Duration>),
}

impl Outcome {
    pub(crate) fn of<T>(result: &Result<T, Error>) -> Outcome {
        match result {
            Err(e) if e.is_server_failure() => Outcome::Failed(e.retry_after()),
            _ => Outcome::Answered,
        }
    }
}

/// Permission for one call. Dropping it without [`Ticket::record`] (the call was cancelled,
/// or never sent) frees the probe slot without deciding anything.
#[must_use]
pub(crate) struct Ticket<'a> {
    breaker: &'a Breaker,
    /// The probe's id, when this call is one.
    probe: Option<u64>,
    recorded: bool,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cool_down: Duration) -> Self {
        metrics::circuit(Circuit::Closed);
        Breaker {
            threshold: threshold.max(1),
            cool_down,
            state: Mutex::new(Inner {
                state: State::Closed {
                    failures: 0,
                    retry_after: Duration::ZERO,
                },
                probes: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state is always consistent between statements; a panic elsewhere cannot tear it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state as a caller sees it now (an open breaker past its time reads as half-open).
    pub(crate) fn state(&self) -> CircuitState {
        match self.lock().state {
            State::Closed { .. } => CircuitState::Closed,
            State::Open { until } if Instant::now() < until => CircuitState::Open { until },
            State::Open { .. } | State::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Lets a call through, or refuses it at once with [`Error::CircuitOpen`].
    pub(crate) fn acquire(&self) -> Result<Ticket<'_>, Error> {
        let mut inner = self.lock();
        let now = Instant::now();
        match inner.state {
            State::Closed { .. } => {
                return Ok(Ticket {
                    breaker: self,
                    probe: None,
                    recorded: false,
                });
            }
            State::Open { until } if now < until => {
                return Err(Error::CircuitOpen {
                    retry_in: until - now,
                });
            }
            State::Open { .. } => {
                tracing::info!("IAMPASS circuit half-open: sending one probe request");
                metrics::circuit(Circuit::HalfOpen);
            }
            State::HalfOpen { probe: Some(probe) } => {
                let given_up_at = probe.since + self.cool_down;
                if now < given_up_at {
                    return Err(Error::CircuitOpen {
                        retry_in: given_up_at - now,
                    });
                }
                tracing::info!(
                    "IAMPASS circuit half-open: the probe request is unanswered after the \
                     cool-down; sending another"
                );
            }
            State::HalfOpen { probe: None } => {}
        }
        inner.probes += 1;
        let id = inner.probes;
        inner.state = State::HalfOpen {
            probe: Some(Probe { id, since: now }),
        };
        Ok(Ticket {
            breaker: self,
            probe: Some(id),
            recorded: false,
        })
    }

    fn open(&self, state: &mut State, retry_after: Duration, why: &str) {
        let wait = self.cool_down.max(retry_after.min(MAX_RETRY_AFTER));
        tracing::warn!(
            reason = why,
            retry_in_ms = wait.as_millis() as u64,
            "IAMPASS circuit open: failing calls at once"
        );
        metrics::circuit(Circuit::Open);
        *state = State::Open {
            until: Instant::now() + wait,
        };
    }
}

impl Ticket<'_> {
    /// Feeds the call's outcome to the breaker.
    pub(crate) fn record(mut self, outcome: Outcome) {
        self.recorded = true;
        let breaker = self.breaker;
        let mut inner = breaker.lock();
        let state = &mut inner.state;
        match (*state, outcome) {
            (State::Closed { .. }, Outcome::Answered) => {
                *state = State::Closed {
                    failures: 0,
                    retry_after: Duration::ZERO,
                };
            }
            (
                State::Closed {
                    failures,
                    retry_after,
                },
                Outcome::Failed(ra),
            ) => {
                let failures = failures.saturating_add(1);
                let retry_after = retry_after.max(ra.unwrap_or(Duration::ZERO));
                if failures >= breaker.threshold {
                    breaker.open(state, retry_after, "consecutive failures");
                } else {
                    *state = State::Closed {
                        failures,
                        retry_after,
                    };
                }
            }
            // Any probe answered, even one given up on: IAMPASS answers again.
            (State::HalfOpen { .. } | State::Open { .. }, Outcome::Answered)
                if self.probe.is_some() =>
            {
                tracing::info!("IAMPASS circuit closed: the probe request was answered");
                metrics::circuit(Circuit::Closed);
                *state = State::Closed {
                    failures: 0,
                    retry_after: Duration::ZERO,
                };
            }
            (
                State::HalfOpen {
                    probe: Some(current),
                },
                Outcome::Failed(ra),
            ) if self.probe == Some(current.id) => {
                breaker.open(state, ra.unwrap_or(Duration::ZERO), "probe failed");
            }
            // A call that started before the breaker opened and ended after, or the failure of
            // a probe given up on: the newest probe decides.
            _ => {}
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let (Some(id), false) = (self.probe, self.recorded) {
            let mut inner = self.breaker.lock();
            if let State::HalfOpen { probe: Some(p) } = inner.state
                && p.id == id
            {
                inner.state = State::HalfOpen { probe: None };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_secs(10);

    fn failed(b: &Breaker) {
        b.acquire().unwrap().record(Outcome::Failed(None));
    }

    fn open_breaker() -> Breaker {
        let b = Breaker::new(3, COOL);
        for _ in 0..3 {
            failed(&b);
        }
        b
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_consecutive_failures_only() {
        let b = Breaker::new(3, COOL);
        failed(&b);
        failed(&b);
        b.acquire().unwrap().record(Outcome::Answered); // resets the run
        failed(&b);
        failed(&b);
        assert_eq!(b.state(), CircuitState::Closed);
        failed(&b);
        assert!(matches!(b.state(), CircuitState::Open { .. }));
        match b.acquire() {
            Err(Error::CircuitOpen { retry_in }) => assert_eq!(retry_in, COOL),
            other => panic!("expected CircuitOpen, got {:?}", other.map(|_| ())),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_after_cool_down_lets_exactly_one_probe() {
        let b = open_breaker();
        tokio::time::advance(COOL - Duration::from_millis(1)).await;
        assert!(
            b.acquire().is_err(),
            "still open just before the cool-down ends"
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(b.state(), CircuitState::HalfOpen);
        let probe = b.acquire().expect("the first call is the probe");
        assert!(matches!(b.acquire(), Err(Error::CircuitOpen { .. })));
        assert!(matches!(b.acquire(), Err(Error::CircuitOpen { .. })));
        probe.record(Outcome::Answered);
        assert_eq!(b.state(), CircuitState::Closed);
        b.acquire().unwrap().record(Outcome::Answered);
        b.acquire().unwrap().record(Outcome::Answered);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_opens_again_for_a_full_cool_down() {
        let b = open_breaker();
        tokio::time::advance(COOL).await;
        b.acquire().unwrap().record(Outcome::Failed(None));
        match b.state() {
            CircuitState::Open { until } => assert_eq!(until, Instant::now() + COOL),
            other => panic!("{other:?}"),
        }
        assert!(b.acquire().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_probe_frees_the_slot_without_deciding() {
        let b = open_breaker();
        tokio::time::advance(COOL).await;
        drop(b.acquire().unwrap());
        assert_eq!(b.state(), CircuitState::HalfOpen);
        let probe = b.acquire().expect("another probe may go");
        assert!(b.acquire().is_err());
        probe.record(Outcome::Answered);
        assert_eq!(b.state(), CircuitState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_longer_than_the_cool_down_is_honoured_and_capped() {
        let b = Breaker::new(2, COOL);
        failed(&b);
        b.acquire()
            .unwrap()
            .record(Outcome::Failed(Some(Duration::from_secs(60))));
        let CircuitState::Open { until } = b.state() else {
            panic!("open")
        };
        assert_eq!(until, Instant::now() + Duration::from_secs(60));

        // A shorter Retry-After does not shorten the cool-down.
        let b = Breaker::new(1, COOL);
        b.acquire()
            .unwrap()
            .record(Outcome::Failed(Some(Duration::from_secs(1))));
        let CircuitState::Open { until } = b.state() else {
            panic!("open")
        };
        assert_eq!(until, Instant::now() + COOL);

        // An absurd one is capped.
        let b = Breaker::new(1, COOL);
        b.acquire()
            .unwrap()
            .record(Outcome::Failed(Some(Duration::from_secs(86_400))));
        let CircuitState::Open { until } = b.state() else {
            panic!("open")
        };
        assert_eq!(until, Instant::now() + MAX_RETRY_AFTER);

        // A failed probe honours its own Retry-After.
        tokio::time::advance(MAX_RETRY_AFTER).await;
        b.acquire()
            .unwrap()
            .record(Outcome::Failed(Some(Duration::from_secs(30))));
        let CircuitState::Open { until } = b.state() else {
            panic!("open")
        };
        assert_eq!(until, Instant::now() + Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn late_outcomes_of_calls_started_while_closed_do_not_decide() {
        let b = Breaker::new(1, COOL);
        let late = b.acquire().unwrap();
        failed(&b);
        tokio::time::advance(COOL).await;
        let probe = b.acquire().unwrap();
        late.record(Outcome::Answered);
        assert_eq!(b.state(), CircuitState::HalfOpen, "only the probe decides");
        probe.record(Outcome::Failed(None));
        assert!(matches!(b.state(), CircuitState::Open { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_unanswered_for_a_cool_down_is_given_up_and_the_next_call_probes() {
        let b = open_breaker();
        tokio::time::advance(COOL).await;
        let stuck = b.acquire().expect("the first probe");
        tokio::time::advance(COOL - Duration::from_millis(1)).await;
        match b.acquire() {
            Err(Error::CircuitOpen { retry_in }) => {
                assert_eq!(retry_in, Duration::from_millis(1))
            }
            other => panic!("expected CircuitOpen, got {:?}", other.map(|_| ())),
        }
        tokio::time::advance(Duration::from_millis(1)).await;
        let second = b
            .acquire()
            .expect("a second probe once the first is given up on");
        assert!(b.acquire().is_err(), "still one probe at a time");
        // The given-up probe's failure decides nothing; the newest probe does.
        stuck.record(Outcome::Failed(None));
        assert_eq!(b.state(), CircuitState::HalfOpen);
        second.record(Outcome::Answered);
        assert_eq!(b.state(), CircuitState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_given_up_probe_that_is_answered_still_closes_it() {
        let b = open_breaker();
        tokio::time::advance(COOL).await;
        let slow = b.acquire().unwrap();
        tokio::time::advance(COOL).await;
        let second = b.acquire().unwrap();
        second.record(Outcome::Failed(None));
        assert!(matches!(b.state(), CircuitState::Open { .. }));
        // A slow IAMPASS answers the first probe after all: it is alive.
        slow.record(Outcome::Answered);
        assert_eq!(b.state(), CircuitState::Closed);
        // Dropping a given-up probe frees nothing it no longer holds.
        let b = open_breaker();
        tokio::time::advance(COOL).await;
        let first = b.acquire().unwrap();
        tokio::time::advance(COOL).await;
        let _second = b.acquire().unwrap();
        drop(first);
        assert!(b.acquire().is_err(), "the second probe is still out");
    }

    #[test]
    fn outcome_classification_follows_the_error_rule() {
        let http = |status| -> Result<(), Error> {
            Err(Error::Http {
                status,
                body: String::new(),
                retry_after: Some(Duration::from_secs(4)),
            })
        };
        assert_eq!(
            Outcome::of(&http(429)),
            Outcome::Failed(Some(Duration::from_secs(4)))
        );
        assert!(matches!(Outcome::of(&http(503)), Outcome::Failed(_)));
        assert!(matches!(Outcome::of(&http(408)), Outcome::Failed(_)));
        for answered in [404, 410, 400, 401, 403] {
            assert_eq!(
                Outcome::of(&http(answered)),
                Outcome::Answered,
                "{answered}"
            );
        }
        assert_eq!(Outcome::of(&Ok(())), Outcome::Answered);
    }
}

//! Metrics an operator can alert on (feature `metrics`): counters, gauges and a histogram
//! recorded through the [`metrics`](https://docs.rs/metrics/0.24) facade. The crate records;
//! the application installs the recorder (an exporter such as
//! [`metrics-exporter-prometheus`](https://docs.rs/metrics-exporter-prometheus)). With no
//! recorder installed, recording one value costs an atomic load (acquire: a plain load on
//! x86) and a thread-local check; the hot path's keys are built at compile time.
//!
//! Names follow Prometheus conventions (`_total` counters, `_seconds` in base units), and every
//! label has a small fixed set of values: never a user name, an address or a token.
//!
//! | metric | type | labels | what it counts | alert on |
//! | --- | --- | --- | --- | --- |
//! | `iampass_logins_total` | counter | `outcome`: `started`, `approved`, `refused`, `timed_out`, `cancelled`, `rate_limited`, `unavailable`, `not_started` | sign-ins: each start attempt once (`started`, or why not), each started sign-in's end once | a spike of `refused` (push bombing, or users confused), `unavailable` above zero, `rate_limited` jumps (guessing) |
//! | `iampass_step_ups_total` | counter | `outcome`: as `iampass_logins_total` | step-ups ("sudo mode": a fresh approval of a signed-in user before a sensitive action), counted as sign-ins are | a spike of `refused` (someone else at a signed-in desk?) |
//! | `iampass_requests_total` | counter | `verdict`: `active`, `walkaway`, `closed`, `expired`, `unavailable`, `anonymous` | requests whose identity was asked for (an extractor, the guard, the events stream), once each | `unavailable` above zero (users locked out by an outage); `walkaway` as a trend |
//! | `iampass_upstream_requests_total` | counter | `call`: `status`, `authenticate`, `logout`, `management`; `outcome`: `ok`, `client_error`, `server_error`, `timeout`, `connect_error`, `circuit_open`, `saturated`, `invalid_answer`, `refused` | calls to IAMPASS (including those the breaker or the call cap refused without sending) | the share of `server_error`, `timeout`, `connect_error`, `circuit_open`, `saturated` over 5 % |
//! | `iampass_upstream_request_duration_seconds` | histogram | `call` | how long each call took, waiting for a free slot included (not recorded when the breaker refused at once) | the 99th percentile of `status` near the client's timeout (5 s) |
//! | `iampass_circuit_state` | gauge | none | the client's circuit breaker: `0` closed, `1` half-open (one probe out), `2` open (it stays `2` until the next call probes) | `> 0` for more than a minute |
//! | `iampass_status_cache_total` | counter | `result`: `hit`, `miss`, `stale_used` | the status cache of `Revalidate::After` (`hit`, `miss`), and the stale-if-error grace standing in for IAMPASS (`stale_used`) | `stale_used` above zero (an outage hidden by the grace); the hit ratio as a trend |
//! | `iampass_store_errors_total` | counter | `op`: `take`, `revoke`, `is_revoked`, `claim_once`, `cached_status`, `put_status`, `last_good`, `set_last_good` | failed calls to the shared store (Redis) | any increase (limits fall back to each instance, logouts and sign-in exchanges wait) |
//! | `iampass_event_streams` | gauge | none | the `{prefix}/events` streams open now | near the configured caps; steady growth (clients not going away) |
//!
//! Notes:
//! - `iampass_logins_total`: `not_started` is a start IAMPASS could not begin (an unknown user,
//!   no phone registered, IAMPASS refused, a request too large); in the public login mode the
//!   decoy that answers an unknown user is counted as `not_started` and its end is not counted.
//!   `unavailable` counts starts refused because IAMPASS could not be reached (a poll that
//!   cannot reach IAMPASS leaves the sign-in pending, so it is not an outcome). A started
//!   sign-in ends once as `approved` (the exchange for the signed-in cookie), `refused`,
//!   `timed_out` or `cancelled` (also a session closed before approval), on the instance that
//!   sees it end; one that is abandoned unpolled does not end here.
//! - `iampass_upstream_requests_total`: `server_error` is an HTTP answer showing IAMPASS
//!   struggling (`408`, `429`, `5xx`: what the breaker counts), `client_error` any other (a
//!   `404` from a status call: a session IAMPASS no longer knows; `401`/`403`: the
//!   application's credentials), `refused` an answer `{"status": false}`, `connect_error` also
//!   a connection reset or a TLS failure.
//! - `iampass_requests_total`: `expired` is a session that timed out at IAMPASS or a cookie
//!   past its lifetime; `closed` a session that IAMPASS ended or no longer knows; `anonymous`
//!   a request without a signed-in cookie (none, a pending sign-in, or one that did not open).
//!   A stale-if-error answer is `active` (and `stale_used` in the cache counter).
//! - `iampass_circuit_state` is one value per process: with several clients (say, an
//!   [`AuthenticationApi`](crate::AuthenticationApi) and a [`ManagementApi`](crate::ManagementApi)),
//!   it shows the breaker that changed state last.
//!
//! [`describe`] gives an installed recorder each metric's help text and unit (its example
//! installs a Prometheus exporter); [`UPSTREAM_DURATION_BUCKETS`] are buckets for the histogram
//! (Prometheus exporters render a summary without them).
//!
//! The login_page example serves them with `METRICS_BIND=127.0.0.1:9100`; the README's
//! "Metrics and alerts" has alert rules.
//!
//! Inside the crate, each function below records one fact and compiles to nothing without the
//! feature, so a call site is one line.

// Without `core` only the client's metrics are recorded; without `metrics`, nothing.
#![cfg_attr(not(all(feature = "core", feature = "metrics")), allow(dead_code))]

#[cfg(feature = "metrics")]
use ::metrics::{Key, Label, Level, Metadata};

use crate::Error;

/// `iampass_logins_total{outcome}`: sign-in starts and ends.
///
/// ```
/// assert_eq!(iampass::metrics::LOGINS_TOTAL, "iampass_logins_total");
/// ```
#[cfg(feature = "metrics")]
pub const LOGINS_TOTAL: &str = "iampass_logins_total";
/// `iampass_step_ups_total{outcome}`: step-up ("sudo mode") starts and ends, with the
/// outcomes of [`LOGINS_TOTAL`].
///
/// ```
/// assert_eq!(iampass::metrics::STEP_UPS_TOTAL, "iampass_step_ups_total");
/// ```
#[cfg(feature = "metrics")]
pub const STEP_UPS_TOTAL: &str = "iampass_step_ups_total";
/// `iampass_requests_total{verdict}`: requests whose identity was asked for.
///
/// ```
/// assert_eq!(iampass::metrics::REQUESTS_TOTAL, "iampass_requests_total");
/// ```
#[cfg(feature = "metrics")]
pub const REQUESTS_TOTAL: &str = "iampass_requests_total";
/// `iampass_upstream_requests_total{call, outcome}`: calls to IAMPASS.
///
/// ```
/// assert_eq!(iampass::metrics::UPSTREAM_REQUESTS_TOTAL, "iampass_upstream_requests_total");
/// ```
#[cfg(feature = "metrics")]
pub const UPSTREAM_REQUESTS_TOTAL: &str = "iampass_upstream_requests_total";
/// `iampass_upstream_request_duration_seconds{call}`: how long calls to IAMPASS took.
///
/// ```
/// use iampass::metrics::UPSTREAM_REQUEST_DURATION_SECONDS;
/// assert_eq!(UPSTREAM_REQUEST_DURATION_SECONDS, "iampass_upstream_request_duration_seconds");
/// ```
#[cfg(feature = "metrics")]
pub const UPSTREAM_REQUEST_DURATION_SECONDS: &str = "iampass_upstream_request_duration_seconds";
/// `iampass_circuit_state`: `0` closed, `1` half-open, `2` open.
///
/// ```
/// assert_eq!(iampass::metrics::CIRCUIT_STATE, "iampass_circuit_state");
/// ```
#[cfg(feature = "metrics")]
pub const CIRCUIT_STATE: &str = "iampass_circuit_state";
/// `iampass_status_cache_total{result}`: status cache hits, misses and stale answers used.
///
/// ```
/// assert_eq!(iampass::metrics::STATUS_CACHE_TOTAL, "iampass_status_cache_total");
/// ```
#[cfg(feature = "metrics")]
pub const STATUS_CACHE_TOTAL: &str = "iampass_status_cache_total";
/// `iampass_store_errors_total{op}`: failed calls to the shared store (Redis).
///
/// ```
/// assert_eq!(iampass::metrics::STORE_ERRORS_TOTAL, "iampass_store_errors_total");
/// ```
#[cfg(feature = "metrics")]
pub const STORE_ERRORS_TOTAL: &str = "iampass_store_errors_total";
/// `iampass_event_streams`: open `{prefix}/events` streams.
///
/// ```
/// assert_eq!(iampass::metrics::EVENT_STREAMS, "iampass_event_streams");
/// ```
#[cfg(feature = "metrics")]
pub const EVENT_STREAMS: &str = "iampass_event_streams";

/// Histogram buckets (seconds) for [`UPSTREAM_REQUEST_DURATION_SECONDS`]: from a fast
/// loopback answer to the default 5 s timeout and the 10 s of a client built alone.
///
/// ```
/// assert_eq!(iampass::metrics::UPSTREAM_DURATION_BUCKETS.last(), Some(&10.0));
/// ```
#[cfg(feature = "metrics")]
pub const UPSTREAM_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Gives the installed recorder each metric's help text and unit (the `# HELP` lines of a
/// Prometheus exporter). Call it once, after installing the recorder (without one it does
/// nothing).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
///
/// // Prometheus text at http://127.0.0.1:9100/metrics (inside a Tokio runtime).
/// PrometheusBuilder::new()
///     .with_http_listener(([127, 0, 0, 1], 9100))
///     .set_buckets_for_metric(
///         Matcher::Full(iampass::metrics::UPSTREAM_REQUEST_DURATION_SECONDS.into()),
///         iampass::metrics::UPSTREAM_DURATION_BUCKETS,
///     )?
///     .install()?;
/// iampass::metrics::describe();
/// # Ok(()) }
/// ```
#[cfg(feature = "metrics")]
pub fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        LOGINS_TOTAL,
        Unit::Count,
        "IAMPASS sign-ins by outcome: each start attempt once, each started sign-in's end once"
    );
    describe_counter!(
        STEP_UPS_TOTAL,
        Unit::Count,
        "IAMPASS step-ups (a fresh approval before a sensitive action) by outcome"
    );
    describe_counter!(
        REQUESTS_TOTAL,
        Unit::Count,
        "Requests whose IAMPASS identity was asked for, by verdict"
    );
    describe_counter!(
        UPSTREAM_REQUESTS_TOTAL,
        Unit::Count,
        "Calls to IAMPASS by kind and outcome"
    );
    describe_histogram!(
        UPSTREAM_REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "How long calls to IAMPASS took, by kind"
    );
    describe_gauge!(
        CIRCUIT_STATE,
        "The IAMPASS client's circuit breaker: 0 closed, 1 half-open, 2 open"
    );
    describe_counter!(
        STATUS_CACHE_TOTAL,
        Unit::Count,
        "IAMPASS status cache hits and misses, and stale answers used during outages"
    );
    describe_counter!(
        STORE_ERRORS_TOTAL,
        Unit::Count,
        "Failed calls to the shared store (Redis), by operation"
    );
    describe_gauge!(EVENT_STREAMS, "Open IAMPASS live event streams");
}

/// The metadata of every metric the crate records.
#[cfg(feature = "metrics")]
static METADATA: Metadata<'static> = Metadata::new("iampass", Level::INFO, Some("iampass"));

/// A static key with one label: built at compile time, so recording it hashes nothing.
#[cfg(feature = "metrics")]
macro_rules! static_key {
    ($name:expr, $label:literal => $value:literal) => {{
        static LABELS: [Label; 1] = [Label::from_static_parts($label, $value)];
        static KEY: Key = Key::from_static_parts($name, &LABELS);
        &KEY
    }};
}

/// Adds one to the counter `key`.
#[cfg(feature = "metrics")]
#[inline]
fn increment(key: &Key) {
    ::metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA).increment(1));
}

/// The flow an outcome belongs to: a sign-in or a step-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// A sign-in (`iampass_logins_total`).
    Login,
    /// A step-up of a signed-in user (`iampass_step_ups_total`).
    StepUp,
}

impl Flow {
    /// The counter of this flow's outcomes.
    #[cfg(feature = "metrics")]
    const fn metric(self) -> &'static str {
        match self {
            Flow::Login => LOGINS_TOTAL,
            Flow::StepUp => STEP_UPS_TOTAL,
        }
    }
}

/// How a sign-in attempt started or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginOutcome {
    /// IAMPASS started it: the phone was asked.
    Started,
    /// Approved and exchanged for the signed-in cookie.
    Approved,
    /// Denied on the phone (or IAMPASS failed it).
    Refused,
    /// Not answered in time.
    TimedOut,
    /// Cancelled on the phone, or closed before approval.
    Cancelled,
    /// Over the per-user or per-address start limit.
    RateLimited,
    /// IAMPASS could not be reached to start it.
    Unavailable,
    /// Could not start: unknown user, no phone, IAMPASS refused, too large.
    NotStarted,
}

impl LoginOutcome {
    /// The `outcome` label's value.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Started => "started",
            LoginOutcome::Approved => "approved",
            LoginOutcome::Refused => "refused",
            LoginOutcome::TimedOut => "timed_out",
            LoginOutcome::Cancelled => "cancelled",
            LoginOutcome::RateLimited => "rate_limited",
            LoginOutcome::Unavailable => "unavailable",
            LoginOutcome::NotStarted => "not_started",
        }
    }

    /// The end of a started sign-in, from its terminal status (`None`: not an end).
    pub(crate) fn of_end(status: crate::Status) -> Option<Self> {
        use crate::Status;
        match status {
            Status::Failed => Some(LoginOutcome::Refused),
            Status::Timeout => Some(LoginOutcome::TimedOut),
            Status::Cancelled | Status::Closed => Some(LoginOutcome::Cancelled),
            Status::Active | Status::Walkaway | Status::Pending | Status::Identifying => None,
        }
    }
}

/// Counts one sign-in outcome (`iampass_logins_total{outcome}`, or the flow's counter).
#[inline]
pub(crate) fn login(flow: Flow, outcome: LoginOutcome) {
    #[cfg(feature = "metrics")]
    {
        // A few per second at most: the key is built here.
        static LABELS: [[Label; 1]; 8] = [
            [Label::from_static_parts("outcome", "started")],
            [Label::from_static_parts("outcome", "approved")],
            [Label::from_static_parts("outcome", "refused")],
            [Label::from_static_parts("outcome", "timed_out")],
            [Label::from_static_parts("outcome", "cancelled")],
            [Label::from_static_parts("outcome", "rate_limited")],
            [Label::from_static_parts("outcome", "unavailable")],
            [Label::from_static_parts("outcome", "not_started")],
        ];
        let labels = &LABELS[outcome as usize];
        debug_assert_eq!(labels[0].value(), outcome.as_str());
        increment(&Key::from_static_labels(flow.metric(), labels));
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (flow, outcome);
}

/// What a judged request turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestVerdict {
    /// Signed in (or let in by the stale-if-error grace).
    Active,
    /// The phone walked away.
    Walkaway,
    /// IAMPASS ended the session or does not know it.
    Closed,
    /// The session timed out, or the cookie is past its lifetime.
    Expired,
    /// IAMPASS could not be asked and the fail mode refused.
    Unavailable,
    /// No signed-in cookie.
    Anonymous,
}

impl RequestVerdict {
    /// The `verdict` label's value.
    #[cfg(test)]
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            RequestVerdict::Active => "active",
            RequestVerdict::Walkaway => "walkaway",
            RequestVerdict::Closed => "closed",
            RequestVerdict::Expired => "expired",
            RequestVerdict::Unavailable => "unavailable",
            RequestVerdict::Anonymous => "anonymous",
        }
    }
}

/// Counts one judged request (`iampass_requests_total{verdict}`): the hot path, static keys.
#[inline]
pub(crate) fn request(verdict: RequestVerdict) {
    #[cfg(feature = "metrics")]
    increment(match verdict {
        RequestVerdict::Active => static_key!(REQUESTS_TOTAL, "verdict" => "active"),
        RequestVerdict::Walkaway => static_key!(REQUESTS_TOTAL, "verdict" => "walkaway"),
        RequestVerdict::Closed => static_key!(REQUESTS_TOTAL, "verdict" => "closed"),
        RequestVerdict::Expired => static_key!(REQUESTS_TOTAL, "verdict" => "expired"),
        RequestVerdict::Unavailable => static_key!(REQUESTS_TOTAL, "verdict" => "unavailable"),
        RequestVerdict::Anonymous => static_key!(REQUESTS_TOTAL, "verdict" => "anonymous"),
    });
    #[cfg(not(feature = "metrics"))]
    let _ = verdict;
}

/// What the status cache did for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheResult {
    /// A fresh answer stood in for a call.
    Hit,
    /// No fresh answer: IAMPASS was asked.
    Miss,
    /// IAMPASS could not answer; the last good answer stood in (stale-if-error).
    StaleUsed,
}

/// Counts one use of the status cache (`iampass_status_cache_total{result}`).
#[inline]
pub(crate) fn status_cache(result: CacheResult) {
    #[cfg(feature = "metrics")]
    increment(match result {
        CacheResult::Hit => static_key!(STATUS_CACHE_TOTAL, "result" => "hit"),
        CacheResult::Miss => static_key!(STATUS_CACHE_TOTAL, "result" => "miss"),
        CacheResult::StaleUsed => static_key!(STATUS_CACHE_TOTAL, "result" => "stale_used"),
    });
    #[cfg(not(feature = "metrics"))]
    let _ = result;
}

/// The kind of an IAMPASS call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpstreamCall {
    /// A session's status.
    Status,
    /// Starting an authentication.
    Authenticate,
    /// Ending a session.
    Logout,
    /// The management API (users, phones).
    Management,
}

impl UpstreamCall {
    /// The `call` label's value.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            UpstreamCall::Status => "status",
            UpstreamCall::Authenticate => "authenticate",
            UpstreamCall::Logout => "logout",
            UpstreamCall::Management => "management",
        }
    }
}

/// How an IAMPASS call ended: the `outcome` label of `iampass_upstream_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpstreamOutcome {
    Ok,
    /// 408, 429, 5xx: what the breaker counts.
    ServerError,
    ClientError,
    Timeout,
    ConnectError,
    CircuitOpen,
    Saturated,
    InvalidAnswer,
    Refused,
}

impl UpstreamOutcome {
    /// Every outcome, in declaration order (`outcome as usize` indexes it).
    #[cfg(feature = "metrics")]
    const ALL: [UpstreamOutcome; 9] = [
        UpstreamOutcome::Ok,
        UpstreamOutcome::ServerError,
        UpstreamOutcome::ClientError,
        UpstreamOutcome::Timeout,
        UpstreamOutcome::ConnectError,
        UpstreamOutcome::CircuitOpen,
        UpstreamOutcome::Saturated,
        UpstreamOutcome::InvalidAnswer,
        UpstreamOutcome::Refused,
    ];

    /// The `outcome` label's value.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            UpstreamOutcome::Ok => "ok",
            UpstreamOutcome::ServerError => "server_error",
            UpstreamOutcome::ClientError => "client_error",
            UpstreamOutcome::Timeout => "timeout",
            UpstreamOutcome::ConnectError => "connect_error",
            UpstreamOutcome::CircuitOpen => "circuit_open",
            UpstreamOutcome::Saturated => "saturated",
            UpstreamOutcome::InvalidAnswer => "invalid_answer",
            UpstreamOutcome::Refused => "refused",
        }
    }

    /// A call's outcome (`None`: nothing was attempted, e.g. a bad argument).
    pub(crate) fn of<T>(result: &Result<T, Error>) -> Option<UpstreamOutcome> {
        Some(match result {
            Ok(_) => UpstreamOutcome::Ok,
            Err(e @ Error::Http { .. }) if e.is_server_failure() => UpstreamOutcome::ServerError,
            Err(Error::Http { .. }) => UpstreamOutcome::ClientError,
            Err(Error::Timeout(_)) => UpstreamOutcome::Timeout,
            Err(Error::Connect(_) | Error::Transport(_)) => UpstreamOutcome::ConnectError,
            Err(Error::CircuitOpen { .. }) => UpstreamOutcome::CircuitOpen,
            Err(Error::Saturated { .. }) => UpstreamOutcome::Saturated,
            Err(Error::Protocol(_)) => UpstreamOutcome::InvalidAnswer,
            Err(Error::Refused { .. }) => UpstreamOutcome::Refused,
            Err(_) => return None,
        })
    }
}

/// The `outcome` label of a call's result (`None`: nothing was attempted, e.g. a bad argument).
#[cfg(test)]
pub(crate) fn upstream_outcome<T>(result: &Result<T, Error>) -> Option<&'static str> {
    UpstreamOutcome::of(result).map(UpstreamOutcome::as_str)
}

/// Every value of the `call` label, in [`UpstreamCall`]'s order.
#[cfg(feature = "metrics")]
const UPSTREAM_CALLS: [UpstreamCall; 4] = [
    UpstreamCall::Status,
    UpstreamCall::Authenticate,
    UpstreamCall::Logout,
    UpstreamCall::Management,
];

/// The keys of the upstream metrics, one per label combination, made on first use.
#[cfg(feature = "metrics")]
struct UpstreamKeys {
    /// `iampass_upstream_requests_total{call, outcome}`, by `call * outcomes + outcome`
    /// (the enums' declaration order).
    requests: Vec<Key>,
    /// `iampass_upstream_request_duration_seconds{call}`, by `call`.
    durations: Vec<Key>,
}

#[cfg(feature = "metrics")]
fn upstream_keys() -> &'static UpstreamKeys {
    static KEYS: std::sync::OnceLock<UpstreamKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| UpstreamKeys {
        requests: UPSTREAM_CALLS
            .iter()
            .flat_map(|call| {
                UpstreamOutcome::ALL.iter().map(move |outcome| {
                    Key::from_parts(
                        UPSTREAM_REQUESTS_TOTAL,
                        vec![
                            Label::from_static_parts("call", call.as_str()),
                            Label::from_static_parts("outcome", outcome.as_str()),
                        ],
                    )
                })
            })
            .collect(),
        durations: UPSTREAM_CALLS
            .iter()
            .map(|call| {
                Key::from_parts(
                    UPSTREAM_REQUEST_DURATION_SECONDS,
                    vec![Label::from_static_parts("call", call.as_str())],
                )
            })
            .collect(),
    })
}

/// Times one IAMPASS call: [`upstream_timer`] before it, [`UpstreamTimer::finish`] after.
/// Without the feature it is empty and reads no clock.
#[must_use]
pub(crate) struct UpstreamTimer {
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

/// Starts timing an IAMPASS call.
#[inline]
pub(crate) fn upstream_timer() -> UpstreamTimer {
    UpstreamTimer {
        #[cfg(feature = "metrics")]
        started: std::time::Instant::now(),
    }
}

impl UpstreamTimer {
    /// Counts the call by kind and outcome, and records its duration (not for a call the
    /// breaker refused at once, nor one refused before anything was attempted).
    #[inline]
    pub(crate) fn finish<T>(self, call: UpstreamCall, result: &Result<T, Error>) {
        #[cfg(feature = "metrics")]
        {
            let Some(outcome) = UpstreamOutcome::of(result) else {
                return;
            };
            // Keys made once: recording them allocates nothing, with or without a recorder.
            let keys = upstream_keys();
            increment(
                &keys.requests[call as usize * UpstreamOutcome::ALL.len() + outcome as usize],
            );
            if outcome != UpstreamOutcome::CircuitOpen {
                let seconds = self.started.elapsed().as_secs_f64();
                ::metrics::with_recorder(|recorder| {
                    recorder
                        .register_histogram(&keys.durations[call as usize], &METADATA)
                        .record(seconds)
                });
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (self, call, result);
    }
}

/// Runs one IAMPASS call of kind `call`, counted and timed (see [`UpstreamTimer::finish`]).
#[inline]
pub(crate) async fn upstream<T>(
    call: UpstreamCall,
    calling: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let timer = upstream_timer();
    let result = calling.await;
    timer.finish(call, &result);
    result
}

/// A circuit breaker's state, as `iampass_circuit_state` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Circuit {
    /// `0`: calls go through.
    Closed = 0,
    /// `1`: one probe decides.
    HalfOpen = 1,
    /// `2`: calls fail at once.
    Open = 2,
}

/// Sets `iampass_circuit_state`.
#[inline]
pub(crate) fn circuit(state: Circuit) {
    #[cfg(feature = "metrics")]
    ::metrics::gauge!(CIRCUIT_STATE).set(f64::from(state as u8));
    #[cfg(not(feature = "metrics"))]
    let _ = state;
}

/// Counts one failed call to the shared store (`iampass_store_errors_total{op}`); `op` is one
/// of the store's operation names (a fixed set).
#[inline]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn store_error(op: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(STORE_ERRORS_TOTAL, "op" => op).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = op;
}

/// One open event stream in `iampass_event_streams`: made by [`event_stream_opened`], it takes
/// the stream out of the gauge when dropped, however the stream ends.
#[must_use]
pub(crate) struct EventStreamGauge(());

/// Adds one open event stream to `iampass_event_streams`, until the returned value is dropped.
#[inline]
pub(crate) fn event_stream_opened() -> EventStreamGauge {
    #[cfg(feature = "metrics")]
    ::metrics::gauge!(EVENT_STREAMS).increment(1.0);
    EventStreamGauge(())
}

#[cfg(feature = "metrics")]
impl Drop for EventStreamGauge {
    fn drop(&mut self) {
        ::metrics::gauge!(EVENT_STREAMS).decrement(1.0);
    }
}

#[cfg(test)]
mod tests;

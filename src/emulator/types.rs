//! The public data types of the emulator's control API: what it lists (sessions, applications,
//! SMS, counters), what drives it (session actions, phone behaviours, faults), with their JSON
//! forms. They know nothing of HTTP or of the shared state.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{AuthenticationMethod, Status};

/// An action on a session: what the phone (or a test) does to it.
///
/// The legal transitions are those of the IAMPASS session state machine:
///
/// | action | from | to |
/// | --- | --- | --- |
/// | `Identify` | `pending` | `identifying` |
/// | `Approve` | `pending`, `identifying` | `active` |
/// | `Deny` | `pending`, `identifying` | `failed` |
/// | `Cancel` | `pending`, `identifying` | `cancelled` |
/// | `Timeout` | `pending`, `identifying` | `timeout` |
/// | `Walkaway` | `active` | `walkaway` |
/// | `Return` | `walkaway` | `active` |
/// | `Close` | any non-terminal status | `closed` |
///
/// ```
/// use iampass::Status;
/// use iampass::emulator::SessionAction;
/// assert_eq!(SessionAction::Approve.apply(Status::Pending), Some(Status::Active));
/// assert_eq!(SessionAction::Return.apply(Status::Active), None);
/// assert_eq!("walkaway".parse::<SessionAction>().unwrap(), SessionAction::Walkaway);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionAction {
    /// The phone starts collecting authentication data: `pending → identifying`.
    Identify,
    /// The user approves: `pending | identifying → active`.
    Approve,
    /// The user denies: `pending | identifying → failed`.
    Deny,
    /// The user cancels: `pending | identifying → cancelled`.
    Cancel,
    /// The request times out now: `pending | identifying → timeout`.
    Timeout,
    /// The phone leaves the area: `active → walkaway`.
    Walkaway,
    /// The phone comes back: `walkaway → active`.
    Return,
    /// The session ends (remote logout): any non-terminal status → `closed`.
    Close,
}

impl SessionAction {
    /// Every action, in the order of the table above.
    pub const ALL: [SessionAction; 8] = [
        SessionAction::Identify,
        SessionAction::Approve,
        SessionAction::Deny,
        SessionAction::Cancel,
        SessionAction::Timeout,
        SessionAction::Walkaway,
        SessionAction::Return,
        SessionAction::Close,
    ];

    /// The name used in the control API path (`"approve"`, `"return"`, ...).
    ///
    /// ```
    /// assert_eq!(iampass::emulator::SessionAction::Return.as_str(), "return");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SessionAction::Identify => "identify",
            SessionAction::Approve => "approve",
            SessionAction::Deny => "deny",
            SessionAction::Cancel => "cancel",
            SessionAction::Timeout => "timeout",
            SessionAction::Walkaway => "walkaway",
            SessionAction::Return => "return",
            SessionAction::Close => "close",
        }
    }

    /// The status this action leads to from `from`, or `None` if it is not allowed there.
    pub fn apply(self, from: Status) -> Option<Status> {
        use SessionAction as A;
        use Status as S;
        match (self, from) {
            (A::Identify, S::Pending) => Some(S::Identifying),
            (A::Approve, S::Pending | S::Identifying) => Some(S::Active),
            (A::Deny, S::Pending | S::Identifying) => Some(S::Failed),
            (A::Cancel, S::Pending | S::Identifying) => Some(S::Cancelled),
            (A::Timeout, S::Pending | S::Identifying) => Some(S::Timeout),
            (A::Walkaway, S::Active) => Some(S::Walkaway),
            (A::Return, S::Walkaway) => Some(S::Active),
            (A::Close, s) if !s.is_terminal() => Some(S::Closed),
            _ => None,
        }
    }
}

impl fmt::Display for SessionAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionAction {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, crate::Error> {
        SessionAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| crate::Error::InvalidArgument(format!("unknown session action {s:?}")))
    }
}

/// How the simulated phone of a user answers new authentication requests by itself.
///
/// ```
/// use std::time::Duration;
/// use iampass::emulator::Behaviour;
/// let b = Behaviour::Approve { after: Duration::from_millis(200) };
/// assert_eq!(b.after(), Duration::from_millis(200));
/// assert_eq!(Behaviour::Ignore.after(), Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Approve each new request after the delay.
    Approve {
        /// Time between the request and the answer.
        after: Duration,
    },
    /// Deny each new request after the delay.
    Deny {
        /// Time between the request and the answer.
        after: Duration,
    },
    /// Never answer (requests stay pending until they time out or someone acts on them):
    /// the default.
    Ignore,
}

impl Behaviour {
    /// The delay before the answer (zero for [`Behaviour::Ignore`]).
    pub fn after(self) -> Duration {
        match self {
            Behaviour::Approve { after } | Behaviour::Deny { after } => after,
            Behaviour::Ignore => Duration::ZERO,
        }
    }

    /// The control API's `respond` value: `"approve"`, `"deny"` or `"ignore"`.
    ///
    /// ```
    /// use iampass::emulator::Behaviour;
    /// assert_eq!(Behaviour::Deny { after: Default::default() }.respond(), "deny");
    /// ```
    pub fn respond(self) -> &'static str {
        match self {
            Behaviour::Approve { .. } => "approve",
            Behaviour::Deny { .. } => "deny",
            Behaviour::Ignore => "ignore",
        }
    }

    /// Builds a behaviour from the control API's `respond` and `after_ms`.
    pub(crate) fn from_wire(respond: &str, after_ms: u64) -> Option<Behaviour> {
        let after = Duration::from_millis(after_ms);
        match respond {
            "approve" => Some(Behaviour::Approve { after }),
            "deny" => Some(Behaviour::Deny { after }),
            "ignore" => Some(Behaviour::Ignore),
            _ => None,
        }
    }
}

/// One SMS in the emulator's outbox (`send_registration_sms` never reaches a real phone).
///
/// ```no_run
/// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
/// let management = emulator.management_api("app-1")?;
/// management.send_registration_sms("alice", None, "+15551234567", Some("Hi!")).await?;
/// let sms = emulator.sms().await?.pop().unwrap();
/// assert_eq!(sms.message, format!("Hi! {}", sms.register_url));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sms {
    /// The application that sent it.
    pub app_id: String,
    /// The user it registers.
    pub user: String,
    /// Where it was addressed.
    pub phone_number: String,
    /// The full text: the caller's message (or a default one) with the link appended.
    pub message: String,
    /// The registration link it carries.
    pub register_url: String,
    /// When it was sent, in Unix seconds.
    pub at: u64,
}

/// A session as the control API lists it (`GET /_emulator/sessions`).
///
/// ```
/// use iampass::emulator::EmulatorSession;
/// use iampass::{AuthenticationMethod, Status};
/// let s: EmulatorSession = serde_json::from_str(r#"{"session_token": "t", "app_id": "app-1",
///     "user": "alice", "session_status": "pending", "methods": ["acceptance"]}"#).unwrap();
/// assert_eq!(s.session_status, Status::Pending);
/// assert_eq!(s.methods, [AuthenticationMethod::Acceptance]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmulatorSession {
    /// The session token (the id of the session).
    pub session_token: String,
    /// The application that started it.
    pub app_id: String,
    /// The user it authenticates.
    pub user: String,
    /// Its current status.
    pub session_status: Status,
    /// The authentication methods requested.
    pub methods: Vec<AuthenticationMethod>,
}

/// One application as `GET /_emulator/applications` lists it (no secret).
///
/// ```
/// use iampass::emulator::Application;
/// let apps: Vec<Application> =
///     serde_json::from_str(r#"[{"app_id": "app-1", "users": 2}]"#).unwrap();
/// assert_eq!(apps[0].users, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// The application id.
    pub app_id: String,
    /// How many users it has.
    pub users: usize,
}

/// Faults injected into the wire API routes (never into the control API or the phone page).
///
/// ```
/// use std::time::Duration;
/// use iampass::emulator::Faults;
/// let none = Faults::default();
/// assert_eq!((none.latency, none.error_rate, none.error_status), (Duration::ZERO, 0.0, 503));
/// assert_eq!(none.retry_after, None);
/// let flaky = Faults { error_rate: 0.5, ..Faults::default() };
/// assert!(flaky.is_active());
/// // An overloaded IAMPASS that asks its clients to come back in 3 s.
/// let overloaded = Faults {
///     error_rate: 1.0,
///     retry_after: Some(Duration::from_secs(3)),
///     ..Faults::default()
/// };
/// assert!(overloaded.is_active());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// Added before each answer.
    pub latency: Duration,
    /// Share of requests (0.0–1.0) answered with `error_status` instead.
    pub error_rate: f64,
    /// The status of injected errors (default 503).
    pub error_status: u16,
    /// Sent as `Retry-After: <seconds>` with every injected error (default none), so that a
    /// client's back-off and circuit breaker can be tested against a real server that asks to
    /// be left alone. Whole seconds on the wire: a fraction is dropped; at most one day.
    pub retry_after: Option<Duration>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency: Duration::ZERO,
            error_rate: 0.0,
            error_status: 503,
            retry_after: None,
        }
    }
}

impl Faults {
    /// `true` if any fault is configured.
    pub fn is_active(&self) -> bool {
        !self.latency.is_zero() || self.error_rate > 0.0
    }

    /// The control API's JSON form.
    pub(crate) fn to_wire(self) -> FaultsWire {
        FaultsWire {
            latency_ms: u64::try_from(self.latency.as_millis()).unwrap_or(u64::MAX),
            error_rate: self.error_rate,
            error_status: self.error_status,
            retry_after_secs: self.retry_after.map(|d| d.as_secs()),
        }
    }
}

/// `{"latency_ms": N, "error_rate": 0.0–1.0, "error_status": 503, "retry_after_secs": N}`;
/// absent fields take the defaults (no latency, no errors, 503, no `Retry-After`; `null` is
/// also none).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct FaultsWire {
    #[serde(default)]
    pub(crate) latency_ms: u64,
    #[serde(default)]
    pub(crate) error_rate: f64,
    #[serde(default = "default_status")]
    pub(crate) error_status: u16,
    #[serde(default, deserialize_with = "retry_after_secs")]
    pub(crate) retry_after_secs: Option<u64>,
}

/// `retry_after_secs`: a whole number of seconds or `null`; anything else is refused with a
/// message that names the field (serde's own would only say "expected u64").
fn retry_after_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Option::<u64>::deserialize(d).map_err(|_| serde::de::Error::custom(RETRY_AFTER_RANGE))
}

/// What a refused `retry_after_secs` is told.
const RETRY_AFTER_RANGE: &str =
    "retry_after_secs must be whole seconds between 0 and 86400, or null";

fn default_status() -> u16 {
    503
}

/// Longest injectable latency (keeps a typo from hanging a test run for days).
pub(crate) const MAX_LATENCY: Duration = Duration::from_secs(600);

/// Longest injectable `Retry-After`: far beyond what any client honours (the crate's own caps
/// it at 5 min, which a test may want to exceed), short of values that only typos produce.
pub(crate) const MAX_RETRY_AFTER_SECS: u64 = 86_400;

impl FaultsWire {
    /// Validates the JSON form: rate within 0–1, a real HTTP status, latency ≤ 10 min,
    /// `Retry-After` ≤ one day.
    pub(crate) fn validate(self) -> Result<Faults, String> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err("error_rate must be between 0.0 and 1.0".into());
        }
        if !(200..=999).contains(&self.error_status) {
            return Err("error_status must be an HTTP status between 200 and 999".into());
        }
        let latency = Duration::from_millis(self.latency_ms);
        if latency > MAX_LATENCY {
            return Err("latency_ms must be at most 600000".into());
        }
        if self
            .retry_after_secs
            .is_some_and(|secs| secs > MAX_RETRY_AFTER_SECS)
        {
            return Err(RETRY_AFTER_RANGE.into());
        }
        Ok(Faults {
            latency,
            error_rate: self.error_rate,
            error_status: self.error_status,
            retry_after: self.retry_after_secs.map(Duration::from_secs),
        })
    }
}

/// How `authenticate_user` answers for a user the application does not have.
///
/// The reference client expects the emulator's default; IAMPASS's public documentation answers
/// unknown users elsewhere with `404` and a plain-text `User <id> not found`. Either way the
/// caller learns nothing it could not learn from `has_registered_mobile_device`.
///
/// ```
/// use iampass::emulator::{Emulator, UnknownUserAnswer};
/// assert_eq!(UnknownUserAnswer::default(), UnknownUserAnswer::Reason);
/// let builder = Emulator::builder().unknown_user_answer(UnknownUserAnswer::NotFound);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnknownUserAnswer {
    /// `200` with `authenticated: false` and `reason: "UNKNOWN_USER"` (the default).
    #[default]
    Reason,
    /// `404` with the plain-text body `User <id> not found`.
    NotFound,
}

/// The counted routes and their names in [`Stats::routes`].
///
/// | name | route |
/// | --- | --- |
/// | `add_users` | `POST /management/add_users/{app_id}` |
/// | `delete_users` | `POST /management/delete_users/{app_id}` |
/// | `device_registration_link` | `GET /management/device_registration_link/{app_id}/{user}` |
/// | `send_registration_sms` | `POST /management/send_registration_sms/{app_id}/{user}` |
/// | `has_registered_mobile_device` | `GET /management/has_registered_mobile_device/{app_id}/{user}` |
/// | `lost_user_mobile_device` | `GET /management/lost_user_mobile_device/{app_id}/{user}` |
/// | `authenticate_user` | `POST /authentication/authenticate_user/{app_id}/{user}` |
/// | `status` | `GET /authentication/status/{session_token}` |
/// | `logout` | `POST /authentication/logout/{session_token}` |
///
/// Every request that reaches a route is counted, whatever its answer (refused signatures and
/// injected faults included).
///
/// ```
/// assert!(iampass::emulator::ROUTES.contains(&"status"));
/// ```
pub const ROUTES: [&str; 9] = [
    "add_users",
    "delete_users",
    "device_registration_link",
    "send_registration_sms",
    "has_registered_mobile_device",
    "lost_user_mobile_device",
    "authenticate_user",
    "status",
    "logout",
];

/// Request counts per wire API route (`GET /_emulator/stats`):
/// `{"routes": {"status": 12, "authenticate_user": 3, ...}}`. Names: [`ROUTES`].
///
/// ```
/// use iampass::emulator::Stats;
/// let stats: Stats = serde_json::from_str(r#"{"routes": {"status": 12}}"#).unwrap();
/// assert_eq!(stats.route_count("status"), 12);
/// assert_eq!(stats.route_count("logout"), 0);
/// assert_eq!(stats.total(), 12);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests per route name.
    pub routes: BTreeMap<String, u64>,
}

impl Stats {
    /// Requests that reached the named route (0 for an unknown name).
    pub fn route_count(&self, route: &str) -> u64 {
        self.routes.get(route).copied().unwrap_or(0)
    }

    /// Requests over all routes.
    pub fn total(&self) -> u64 {
        self.routes.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_follows_the_table() {
        use SessionAction as A;
        use Status as S;
        let legal = [
            (A::Identify, S::Pending, S::Identifying),
            (A::Approve, S::Pending, S::Active),
            (A::Approve, S::Identifying, S::Active),
            (A::Deny, S::Pending, S::Failed),
            (A::Deny, S::Identifying, S::Failed),
            (A::Cancel, S::Pending, S::Cancelled),
            (A::Cancel, S::Identifying, S::Cancelled),
            (A::Timeout, S::Pending, S::Timeout),
            (A::Timeout, S::Identifying, S::Timeout),
            (A::Walkaway, S::Active, S::Walkaway),
            (A::Return, S::Walkaway, S::Active),
            (A::Close, S::Pending, S::Closed),
            (A::Close, S::Identifying, S::Closed),
            (A::Close, S::Active, S::Closed),
            (A::Close, S::Walkaway, S::Closed),
        ];
        for action in A::ALL {
            for from in S::ALL {
                let expected = legal
                    .iter()
                    .find(|(a, f, _)| *a == action && *f == from)
                    .map(|(_, _, to)| *to);
                assert_eq!(action.apply(from), expected, "{action} from {from}");
            }
            assert_eq!(action.as_str().parse::<A>().unwrap(), action);
        }
        assert!("dance".parse::<A>().is_err());
    }

    #[test]
    fn validation() {
        let ok = FaultsWire {
            latency_ms: 5,
            error_rate: 1.0,
            error_status: 500,
            retry_after_secs: Some(MAX_RETRY_AFTER_SECS),
        };
        let faults = ok.validate().unwrap();
        assert_eq!(faults.latency, Duration::from_millis(5));
        assert_eq!(faults.retry_after, Some(Duration::from_secs(86_400)));
        assert_eq!(faults.to_wire().retry_after_secs, Some(86_400));
        let none = FaultsWire {
            retry_after_secs: None,
            ..ok
        };
        assert_eq!(none.validate().unwrap().retry_after, None);
        for bad in [
            FaultsWire {
                error_rate: 1.5,
                ..ok
            },
            FaultsWire {
                error_rate: f64::NAN,
                ..ok
            },
            FaultsWire {
                error_status: 42,
                ..ok
            },
            FaultsWire {
                latency_ms: u64::MAX,
                ..ok
            },
            FaultsWire {
                retry_after_secs: Some(MAX_RETRY_AFTER_SECS + 1),
                ..ok
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn retry_after_secs_is_whole_seconds_or_null() {
        let parse = |json: &str| serde_json::from_str::<FaultsWire>(json);
        assert_eq!(parse("{}").unwrap().retry_after_secs, None);
        assert_eq!(
            parse(r#"{"retry_after_secs": null}"#)
                .unwrap()
                .retry_after_secs,
            None
        );
        assert_eq!(
            parse(r#"{"retry_after_secs": 3}"#)
                .unwrap()
                .retry_after_secs,
            Some(3)
        );
        for bad in ["-1", "1.5", "\"3\"", "true"] {
            let err = parse(&format!(r#"{{"retry_after_secs": {bad}}}"#)).unwrap_err();
            assert!(err.to_string().contains(RETRY_AFTER_RANGE), "{bad}: {err}");
        }
        assert!(RETRY_AFTER_RANGE.contains(&MAX_RETRY_AFTER_SECS.to_string()));
    }
}

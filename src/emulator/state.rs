//! The emulator's in-memory world: applications, users, phones, registration links,
//! authentication sessions and the SMS outbox, with the session state machine.
//!
//! Everything here is plain data driven by explicit `now` instants, so it is tested without
//! HTTP or real time. Time-based transitions (an unanswered request timing out, a session
//! reaching its `duration_seconds`, a scripted phone answering) are evaluated lazily whenever a
//! session is read, which nobody can tell apart from a background timer.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{AuthenticationMethod, Secret, Status};

/// Most sessions kept; beyond it the oldest finished (terminal) sessions are forgotten.
const MAX_SESSIONS: usize = 100_000;
/// Most unused registration links kept; beyond it the oldest are forgotten.
const MAX_REGISTRATIONS: usize = 100_000;
/// Most SMS kept per application; beyond it the oldest are dropped.
const MAX_SMS_PER_APP: usize = 1_000;

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

/// Settings of the world that the HTTP layer does not care about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Unanswered (`pending`/`identifying`) requests become `timeout` after this.
    pub(crate) pending_timeout: Duration,
    /// Session lifetime when the request names no `duration_seconds`.
    pub(crate) default_duration: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            pending_timeout: Duration::from_secs(60),
            default_duration: Duration::from_secs(3600),
        }
    }
}

/// Why a state operation did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StateError {
    /// No such application.
    UnknownApp,
    /// No such user in the application.
    UnknownUser,
    /// No session with that token.
    UnknownSession,
    /// The action is not allowed from the session's current status.
    Illegal(Status),
    /// No such registration link.
    UnknownLink,
    /// The registration link was used or revoked.
    UsedLink,
}

/// A registered phone.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub(crate) id: u64,
    pub(crate) display_name: Option<String>,
    pub(crate) registered_at: u64,
}

#[derive(Debug, Default)]
struct User {
    device: Option<Device>,
}

struct App {
    secret: Secret,
    users: BTreeMap<String, User>,
    behaviours: HashMap<String, Behaviour>,
    /// The outbox, with a world-wide sequence number to merge outboxes in sending order.
    sms: Vec<(u64, Sms)>,
}

/// A session as the state machine keeps it.
struct SessionRec {
    token: String,
    secret: Secret,
    app_id: String,
    user: String,
    device_id: u64,
    status: Status,
    methods: Vec<AuthenticationMethod>,
    /// Unanswered requests time out at this instant.
    pending_deadline: Instant,
    /// The session closes at this instant (`duration_seconds`).
    expires_at: Instant,
    /// A scripted answer of the phone and when it comes.
    auto: Option<(Behaviour, Instant)>,
}

enum Due {
    Auto(Status),
    PendingTimeout,
    Expiry,
}

impl SessionRec {
    /// Applies every time-based transition due at `now`, in time order.
    fn refresh(&mut self, now: Instant) {
        loop {
            let mut next: Option<(Instant, Due)> = None;
            let mut consider = |at: Instant, due: Due| {
                if at <= now && next.as_ref().is_none_or(|(t, _)| at < *t) {
                    next = Some((at, due));
                }
            };
            if self.status.is_in_progress() {
                if let Some((behaviour, at)) = self.auto {
                    match behaviour {
                        Behaviour::Approve { .. } => consider(at, Due::Auto(Status::Active)),
                        Behaviour::Deny { .. } => consider(at, Due::Auto(Status::Failed)),
                        Behaviour::Ignore => {}
                    }
                }
                consider(self.pending_deadline, Due::PendingTimeout);
            }
            if !self.status.is_terminal() {
                consider(self.expires_at, Due::Expiry);
            }
            match next {
                None => return,
                Some((_, Due::Auto(status))) => {
                    self.auto = None;
                    self.status = status;
                }
                Some((_, Due::PendingTimeout)) => self.status = Status::Timeout,
                Some((_, Due::Expiry)) => self.status = Status::Closed,
            }
        }
    }

    fn close(&mut self) {
        if !self.status.is_terminal() {
            self.status = Status::Closed;
        }
    }

    fn view(&self) -> EmulatorSession {
        EmulatorSession {
            session_token: self.token.clone(),
            app_id: self.app_id.clone(),
            user: self.user.clone(),
            session_status: self.status,
            methods: self.methods.clone(),
        }
    }
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

/// A device as the phone page lists it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DeviceView {
    pub(crate) app_id: String,
    pub(crate) user: String,
    pub(crate) device_id: u64,
    pub(crate) display_name: Option<String>,
    pub(crate) registered_at: u64,
}

/// An unused registration link.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub(crate) app_id: String,
    pub(crate) user: String,
    pub(crate) display_name: Option<String>,
    seq: u64,
    used: bool,
}

/// The outcome of `authenticate_user`.
#[derive(Debug, Clone)]
pub(crate) enum Start {
    /// A request was sent to the phone.
    Started {
        token: String,
        secret: Secret,
        status: Status,
    },
    /// It did not start (`UNKNOWN_USER`, `NO_MOBILE_DEVICE`).
    NotStarted { reason: &'static str },
}

/// Reason given when the user does not exist.
pub(crate) const UNKNOWN_USER: &str = "UNKNOWN_USER";
/// Reason given when the user has no registered phone.
pub(crate) const NO_MOBILE_DEVICE: &str = "NO_MOBILE_DEVICE";

/// The whole world.
pub(crate) struct World {
    timing: Timing,
    apps: BTreeMap<String, App>,
    /// Sessions by creation order (oldest first).
    sessions: BTreeMap<u64, SessionRec>,
    by_token: HashMap<String, u64>,
    registrations: HashMap<String, Registration>,
    seq: u64,
}

/// `now + d`, or a century later when that overflows (`duration_seconds` is unbounded).
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

fn random_hex(bytes: usize) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        let _ = write!(out, "{:02x}", rand::random::<u8>());
    }
    out
}

fn random_secret() -> Secret {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl World {
    pub(crate) fn new(timing: Timing) -> Self {
        World {
            timing,
            apps: BTreeMap::new(),
            sessions: BTreeMap::new(),
            by_token: HashMap::new(),
            registrations: HashMap::new(),
            seq: 0,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Adds an application, or replaces its secret. `true` if it is new.
    pub(crate) fn add_application(&mut self, app_id: &str, secret: Secret) -> bool {
        match self.apps.get_mut(app_id) {
            Some(app) => {
                app.secret = secret;
                false
            }
            None => {
                self.apps.insert(
                    app_id.to_owned(),
                    App {
                        secret,
                        users: BTreeMap::new(),
                        behaviours: HashMap::new(),
                        sms: Vec::new(),
                    },
                );
                true
            }
        }
    }

    /// The applications and their user counts.
    pub(crate) fn applications(&self) -> Vec<(String, usize)> {
        self.apps
            .iter()
            .map(|(id, app)| (id.clone(), app.users.len()))
            .collect()
    }

    /// The application's secret, to verify a signature.
    pub(crate) fn app_secret(&self, app_id: &str) -> Option<Secret> {
        self.apps.get(app_id).map(|a| a.secret.clone())
    }

    /// The session's secret, to verify a signature.
    pub(crate) fn session_secret(&self, token: &str) -> Option<Secret> {
        let seq = self.by_token.get(token)?;
        self.sessions.get(seq).map(|s| s.secret.clone())
    }

    fn app_mut(&mut self, app_id: &str) -> Result<&mut App, StateError> {
        self.apps.get_mut(app_id).ok_or(StateError::UnknownApp)
    }

    fn app(&self, app_id: &str) -> Result<&App, StateError> {
        self.apps.get(app_id).ok_or(StateError::UnknownApp)
    }

    /// `true` if the user exists in the (existing) application.
    pub(crate) fn user_exists(&self, app_id: &str, user: &str) -> Result<bool, StateError> {
        Ok(self.app(app_id)?.users.contains_key(user))
    }

    /// Adds users; answers (created, existing), in request order, without duplicates.
    pub(crate) fn add_users(
        &mut self,
        app_id: &str,
        users: &[String],
    ) -> Result<(Vec<String>, Vec<String>), StateError> {
        let app = self.app_mut(app_id)?;
        let (mut created, mut existing) = (Vec::new(), Vec::new());
        for user in users {
            if created.contains(user) || existing.contains(user) {
                continue;
            }
            if app.users.contains_key(user) {
                existing.push(user.clone());
            } else {
                app.users.insert(user.clone(), User::default());
                created.push(user.clone());
            }
        }
        Ok((created, existing))
    }

    /// Deletes users (unknown ones are ignored); their sessions close and their links die.
    pub(crate) fn delete_users(
        &mut self,
        app_id: &str,
        users: &[String],
        now: Instant,
    ) -> Result<(), StateError> {
        let app = self.app_mut(app_id)?;
        for user in users {
            app.users.remove(user);
        }
        for user in users {
            self.close_sessions_of(app_id, user, None, now);
            self.revoke_links(app_id, user);
        }
        Ok(())
    }

    /// Closes the user's live sessions (only those of `device` if given).
    fn close_sessions_of(&mut self, app_id: &str, user: &str, device: Option<u64>, now: Instant) {
        for s in self.sessions.values_mut() {
            if s.app_id == app_id && s.user == user && device.is_none_or(|d| d == s.device_id) {
                s.refresh(now);
                s.close();
            }
        }
    }

    fn revoke_links(&mut self, app_id: &str, user: &str) {
        for r in self.registrations.values_mut() {
            if r.app_id == app_id && r.user == user {
                r.used = true;
            }
        }
    }

    /// A new single-use registration link token for an existing user.
    pub(crate) fn registration_link(
        &mut self,
        app_id: &str,
        user: &str,
        display_name: Option<&str>,
    ) -> Result<String, StateError> {
        if !self.user_exists(app_id, user)? {
            return Err(StateError::UnknownUser);
        }
        Ok(self.new_link(app_id, user, display_name))
    }

    fn new_link(&mut self, app_id: &str, user: &str, display_name: Option<&str>) -> String {
        if self.registrations.len() >= MAX_REGISTRATIONS {
            // Forget used links first, then the oldest.
            self.registrations.retain(|_, r| !r.used);
            let oldest = self
                .registrations
                .iter()
                .min_by_key(|(_, r)| r.seq)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest.filter(|_| self.registrations.len() >= MAX_REGISTRATIONS) {
                self.registrations.remove(&oldest);
            }
        }
        let token = random_hex(16);
        let seq = self.next_seq();
        self.registrations.insert(
            token.clone(),
            Registration {
                app_id: app_id.to_owned(),
                user: user.to_owned(),
                display_name: display_name.map(str::to_owned),
                seq,
                used: false,
            },
        );
        token
    }

    /// The registration link behind a token, used or not.
    pub(crate) fn registration(&self, token: &str) -> Result<(Registration, bool), StateError> {
        let r = self
            .registrations
            .get(token)
            .ok_or(StateError::UnknownLink)?;
        Ok((r.clone(), r.used))
    }

    /// Uses a registration link: registers a phone for its user (creating the user if it was
    /// deleted meanwhile). A link works once.
    pub(crate) fn use_registration(
        &mut self,
        token: &str,
        now: Instant,
    ) -> Result<Registration, StateError> {
        let r = self
            .registrations
            .get_mut(token)
            .ok_or(StateError::UnknownLink)?;
        if r.used {
            return Err(StateError::UsedLink);
        }
        r.used = true;
        let r = r.clone();
        self.register_device(&r.app_id, &r.user, r.display_name.as_deref(), now)?;
        Ok(r)
    }

    /// Registers a phone for the user, creating the user if needed. A phone the user had
    /// before is replaced (its sessions close). Answers the new device id.
    pub(crate) fn register_device(
        &mut self,
        app_id: &str,
        user: &str,
        display_name: Option<&str>,
        now: Instant,
    ) -> Result<u64, StateError> {
        let id = self.next_seq();
        let app = self.app_mut(app_id)?;
        let entry = app.users.entry(user.to_owned()).or_default();
        let old = entry.device.replace(Device {
            id,
            display_name: display_name.map(str::to_owned),
            registered_at: crate::signing::unix_now(),
        });
        if let Some(old) = old {
            self.close_sessions_of(app_id, user, Some(old.id), now);
        }
        Ok(id)
    }

    /// `true` if the user has a registered phone.
    pub(crate) fn has_device(&self, app_id: &str, user: &str) -> Result<bool, StateError> {
        let app = self.app(app_id)?;
        let user = app.users.get(user).ok_or(StateError::UnknownUser)?;
        Ok(user.device.is_some())
    }

    /// The phone is lost: it is disabled (its sessions close), older links die, and a new
    /// link token is issued.
    pub(crate) fn lost_device(
        &mut self,
        app_id: &str,
        user: &str,
        now: Instant,
    ) -> Result<String, StateError> {
        let app = self.app_mut(app_id)?;
        let u = app.users.get_mut(user).ok_or(StateError::UnknownUser)?;
        let display_name = u.device.as_ref().and_then(|d| d.display_name.clone());
        if let Some(old) = u.device.take() {
            self.close_sessions_of(app_id, user, Some(old.id), now);
        }
        self.revoke_links(app_id, user);
        Ok(self.new_link(app_id, user, display_name.as_deref()))
    }

    /// Stores an SMS in the application's outbox.
    pub(crate) fn push_sms(&mut self, sms: Sms) -> Result<(), StateError> {
        self.app(&sms.app_id)?;
        let seq = self.next_seq();
        let app = self.app_mut(&sms.app_id)?;
        if app.sms.len() >= MAX_SMS_PER_APP {
            app.sms.remove(0);
        }
        app.sms.push((seq, sms));
        Ok(())
    }

    /// The outbox (optionally of one application and/or user), oldest first.
    pub(crate) fn sms(&self, app_id: Option<&str>, user: Option<&str>) -> Vec<Sms> {
        let mut all: Vec<&(u64, Sms)> = self
            .apps
            .iter()
            .filter(|(id, _)| app_id.is_none_or(|a| a == id.as_str()))
            .flat_map(|(_, app)| app.sms.iter())
            .filter(|(_, s)| user.is_none_or(|u| u == s.user))
            .collect();
        all.sort_by_key(|(seq, _)| *seq);
        all.into_iter().map(|(_, s)| s.clone()).collect()
    }

    /// Sets how the user's phone answers new requests (the user need not exist yet).
    pub(crate) fn set_behaviour(
        &mut self,
        app_id: &str,
        user: &str,
        behaviour: Behaviour,
    ) -> Result<(), StateError> {
        let app = self.app_mut(app_id)?;
        app.behaviours.insert(user.to_owned(), behaviour);
        Ok(())
    }

    /// How the user's phone answers new requests ([`Behaviour::Ignore`] unless set).
    pub(crate) fn behaviour(&self, app_id: &str, user: &str) -> Result<Behaviour, StateError> {
        Ok(self
            .app(app_id)?
            .behaviours
            .get(user)
            .copied()
            .unwrap_or(Behaviour::Ignore))
    }

    /// Starts an authentication request.
    pub(crate) fn authenticate(
        &mut self,
        app_id: &str,
        user: &str,
        methods: Vec<AuthenticationMethod>,
        duration: Option<Duration>,
        now: Instant,
    ) -> Result<Start, StateError> {
        let timing = self.timing;
        let app = self.app(app_id)?;
        let Some(u) = app.users.get(user) else {
            return Ok(Start::NotStarted {
                reason: UNKNOWN_USER,
            });
        };
        let Some(device) = &u.device else {
            return Ok(Start::NotStarted {
                reason: NO_MOBILE_DEVICE,
            });
        };
        let device_id = device.id;
        let auto = app
            .behaviours
            .get(user)
            .filter(|b| **b != Behaviour::Ignore)
            .map(|b| (*b, later(now, b.after())));
        let methods = if methods.is_empty() {
            vec![AuthenticationMethod::Acceptance]
        } else {
            methods
        };
        let token = random_hex(16);
        let secret = random_secret();
        let seq = self.next_seq();
        let mut rec = SessionRec {
            token: token.clone(),
            secret: secret.clone(),
            app_id: app_id.to_owned(),
            user: user.to_owned(),
            device_id,
            status: Status::Pending,
            methods,
            pending_deadline: later(now, timing.pending_timeout),
            expires_at: later(now, duration.unwrap_or(timing.default_duration)),
            auto,
        };
        // A zero delay answers at once.
        rec.refresh(now);
        let status = rec.status;
        self.prune_sessions(now);
        self.by_token.insert(token.clone(), seq);
        self.sessions.insert(seq, rec);
        Ok(Start::Started {
            token,
            secret,
            status,
        })
    }

    fn prune_sessions(&mut self, now: Instant) {
        if self.sessions.len() < MAX_SESSIONS {
            return;
        }
        let mut finished = Vec::new();
        for (seq, s) in self.sessions.iter_mut() {
            s.refresh(now);
            if s.status.is_terminal() {
                finished.push(*seq);
                if finished.len() >= MAX_SESSIONS / 10 {
                    break;
                }
            }
        }
        if finished.is_empty() {
            // Everything is live: forget the oldest anyway rather than grow without bound.
            finished.extend(self.sessions.keys().take(MAX_SESSIONS / 10).copied());
        }
        for seq in finished {
            if let Some(s) = self.sessions.remove(&seq) {
                self.by_token.remove(&s.token);
            }
        }
    }

    fn session_mut(&mut self, token: &str, now: Instant) -> Result<&mut SessionRec, StateError> {
        let seq = self.by_token.get(token).ok_or(StateError::UnknownSession)?;
        let s = self
            .sessions
            .get_mut(seq)
            .ok_or(StateError::UnknownSession)?;
        s.refresh(now);
        Ok(s)
    }

    /// The session's status now.
    pub(crate) fn status(&mut self, token: &str, now: Instant) -> Result<Status, StateError> {
        Ok(self.session_mut(token, now)?.status)
    }

    /// One session as listed by the control API.
    pub(crate) fn session(
        &mut self,
        token: &str,
        now: Instant,
    ) -> Result<EmulatorSession, StateError> {
        Ok(self.session_mut(token, now)?.view())
    }

    /// Logout: a live session closes; a finished one stays as it is. Answers the status after.
    pub(crate) fn logout(&mut self, token: &str, now: Instant) -> Result<Status, StateError> {
        let s = self.session_mut(token, now)?;
        s.close();
        Ok(s.status)
    }

    /// Applies an action of the phone (or a test) to a session.
    pub(crate) fn act(
        &mut self,
        token: &str,
        action: SessionAction,
        now: Instant,
    ) -> Result<Status, StateError> {
        let s = self.session_mut(token, now)?;
        let next = action
            .apply(s.status)
            .ok_or(StateError::Illegal(s.status))?;
        s.status = next;
        if !next.is_in_progress() {
            s.auto = None;
        }
        Ok(next)
    }

    /// Sessions, oldest first, optionally of one application and/or user.
    pub(crate) fn sessions(
        &mut self,
        app_id: Option<&str>,
        user: Option<&str>,
        now: Instant,
    ) -> Vec<EmulatorSession> {
        self.sessions
            .values_mut()
            .filter(|s| app_id.is_none_or(|a| a == s.app_id) && user.is_none_or(|u| u == s.user))
            .map(|s| {
                s.refresh(now);
                s.view()
            })
            .collect()
    }

    /// Registered phones, optionally of one application and/or user.
    pub(crate) fn devices(&self, app_id: Option<&str>, user: Option<&str>) -> Vec<DeviceView> {
        let mut out = Vec::new();
        for (id, app) in &self.apps {
            if app_id.is_some_and(|a| a != id) {
                continue;
            }
            for (name, u) in &app.users {
                if user.is_some_and(|x| x != name) {
                    continue;
                }
                if let Some(d) = &u.device {
                    out.push(DeviceView {
                        app_id: id.clone(),
                        user: name.clone(),
                        device_id: d.id,
                        display_name: d.display_name.clone(),
                        registered_at: d.registered_at,
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        let mut w = World::new(Timing {
            pending_timeout: Duration::from_secs(60),
            default_duration: Duration::from_secs(3600),
        });
        w.add_application("app", Secret::new("secret"));
        w
    }

    fn start(w: &mut World, user: &str, now: Instant) -> String {
        match w.authenticate("app", user, vec![], None, now).unwrap() {
            Start::Started { token, .. } => token,
            Start::NotStarted { reason } => panic!("not started: {reason}"),
        }
    }

    fn with_phone(w: &mut World, user: &str, now: Instant) {
        w.add_users("app", &[user.to_owned()]).unwrap();
        w.register_device("app", user, None, now).unwrap();
    }

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
    fn unknown_user_and_missing_phone_do_not_start() {
        let now = Instant::now();
        let mut w = world();
        assert!(matches!(
            w.authenticate("app", "nobody", vec![], None, now).unwrap(),
            Start::NotStarted {
                reason: UNKNOWN_USER
            }
        ));
        w.add_users("app", &["alice".into()]).unwrap();
        assert!(matches!(
            w.authenticate("app", "alice", vec![], None, now).unwrap(),
            Start::NotStarted {
                reason: NO_MOBILE_DEVICE
            }
        ));
        assert_eq!(
            w.authenticate("nope", "alice", vec![], None, now)
                .unwrap_err(),
            StateError::UnknownApp
        );
    }

    #[test]
    fn approve_walkaway_return_logout() {
        let now = Instant::now();
        let mut w = world();
        with_phone(&mut w, "alice", now);
        let t = start(&mut w, "alice", now);
        assert_eq!(w.status(&t, now).unwrap(), Status::Pending);
        assert_eq!(
            w.act(&t, SessionAction::Identify, now).unwrap(),
            Status::Identifying
        );
        assert_eq!(
            w.act(&t, SessionAction::Approve, now).unwrap(),
            Status::Active
        );
        assert_eq!(
            w.act(&t, SessionAction::Approve, now).unwrap_err(),
            StateError::Illegal(Status::Active)
        );
        assert_eq!(
            w.act(&t, SessionAction::Walkaway, now).unwrap(),
            Status::Walkaway
        );
        assert_eq!(
            w.act(&t, SessionAction::Return, now).unwrap(),
            Status::Active
        );
        assert_eq!(w.logout(&t, now).unwrap(), Status::Closed);
        // Logging out twice is harmless.
        assert_eq!(w.logout(&t, now).unwrap(), Status::Closed);
        assert_eq!(
            w.status("unknown", now).unwrap_err(),
            StateError::UnknownSession
        );
    }

    #[test]
    fn unanswered_requests_time_out_and_sessions_expire() {
        let now = Instant::now();
        let mut w = world();
        with_phone(&mut w, "alice", now);
        let t = start(&mut w, "alice", now);
        assert_eq!(
            w.status(&t, now + Duration::from_secs(59)).unwrap(),
            Status::Pending
        );
        assert_eq!(
            w.status(&t, now + Duration::from_secs(60)).unwrap(),
            Status::Timeout
        );
        // A terminal status never changes again.
        assert_eq!(
            w.status(&t, now + Duration::from_secs(7200)).unwrap(),
            Status::Timeout
        );

        let t = match w
            .authenticate(
                "app",
                "alice",
                vec![AuthenticationMethod::Facial],
                Some(Duration::from_secs(10)),
                now,
            )
            .unwrap()
        {
            Start::Started { token, .. } => token,
            _ => unreachable!(),
        };
        w.act(&t, SessionAction::Approve, now).unwrap();
        assert_eq!(
            w.status(&t, now + Duration::from_secs(9)).unwrap(),
            Status::Active
        );
        assert_eq!(
            w.status(&t, now + Duration::from_secs(10)).unwrap(),
            Status::Closed
        );
        let view = w.session(&t, now).unwrap();
        assert_eq!(view.methods, vec![AuthenticationMethod::Facial]);
    }

    #[test]
    fn expiry_before_the_pending_timeout_closes() {
        let now = Instant::now();
        let mut w = world();
        with_phone(&mut w, "alice", now);
        let forever = w
            .authenticate("app", "alice", vec![], Some(Duration::MAX), now)
            .unwrap();
        assert!(matches!(forever, Start::Started { .. }));
        let t = match w
            .authenticate("app", "alice", vec![], Some(Duration::from_secs(5)), now)
            .unwrap()
        {
            Start::Started { token, .. } => token,
            _ => unreachable!(),
        };
        assert_eq!(
            w.status(&t, now + Duration::from_secs(100)).unwrap(),
            Status::Closed
        );
    }

    #[test]
    fn behaviour_answers_by_itself_in_time_order() {
        let now = Instant::now();
        let mut w = world();
        with_phone(&mut w, "alice", now);
        with_phone(&mut w, "bob", now);
        w.set_behaviour(
            "app",
            "alice",
            Behaviour::Approve {
                after: Duration::from_millis(500),
            },
        )
        .unwrap();
        w.set_behaviour(
            "app",
            "bob",
            Behaviour::Deny {
                after: Duration::from_secs(120),
            },
        )
        .unwrap();
        let a = start(&mut w, "alice", now);
        let b = start(&mut w, "bob", now);
        assert_eq!(
            w.status(&a, now + Duration::from_millis(499)).unwrap(),
            Status::Pending
        );
        assert_eq!(
            w.status(&a, now + Duration::from_millis(500)).unwrap(),
            Status::Active
        );
        // Bob's phone would answer after the timeout: the timeout comes first.
        assert_eq!(
            w.status(&b, now + Duration::from_secs(200)).unwrap(),
            Status::Timeout
        );
        w.set_behaviour(
            "app",
            "bob",
            Behaviour::Deny {
                after: Duration::ZERO,
            },
        )
        .unwrap();
        let b = start(&mut w, "bob", now);
        assert_eq!(w.status(&b, now).unwrap(), Status::Failed);
    }

    #[test]
    fn deleting_users_and_losing_phones_close_sessions() {
        let now = Instant::now();
        let mut w = world();
        with_phone(&mut w, "alice", now);
        with_phone(&mut w, "bob", now);
        let a = start(&mut w, "alice", now);
        w.act(&a, SessionAction::Approve, now).unwrap();
        let b = start(&mut w, "bob", now);
        w.delete_users("app", &["alice".into(), "ghost".into()], now)
            .unwrap();
        assert_eq!(w.status(&a, now).unwrap(), Status::Closed);
        assert_eq!(w.status(&b, now).unwrap(), Status::Pending);
        assert!(!w.user_exists("app", "alice").unwrap());

        let link = w.lost_device("app", "bob", now).unwrap();
        assert_eq!(w.status(&b, now).unwrap(), Status::Closed);
        assert!(!w.has_device("app", "bob").unwrap());
        assert_eq!(
            w.lost_device("app", "ghost", now),
            Err(StateError::UnknownUser)
        );
        // The new link registers a phone again, once.
        w.use_registration(&link, now).unwrap();
        assert!(w.has_device("app", "bob").unwrap());
        assert_eq!(
            w.use_registration(&link, now).unwrap_err(),
            StateError::UsedLink
        );
        assert_eq!(
            w.use_registration("nope", now).unwrap_err(),
            StateError::UnknownLink
        );
    }

    #[test]
    fn links_register_and_die_with_lost_phones() {
        let now = Instant::now();
        let mut w = world();
        w.add_users("app", &["carol".into()]).unwrap();
        assert_eq!(
            w.registration_link("app", "nobody", None).unwrap_err(),
            StateError::UnknownUser
        );
        let old = w.registration_link("app", "carol", Some("Carol")).unwrap();
        let (r, used) = w.registration(&old).unwrap();
        assert_eq!(
            (r.user.as_str(), r.display_name.as_deref(), used),
            ("carol", Some("Carol"), false)
        );
        let new = w.lost_device("app", "carol", now).unwrap();
        assert_eq!(
            w.use_registration(&old, now).unwrap_err(),
            StateError::UsedLink
        );
        // The user was deleted meanwhile: the link recreates them.
        w.delete_users("app", &["carol".into()], now).unwrap();
        assert_eq!(
            w.use_registration(&new, now).unwrap_err(),
            StateError::UsedLink
        );
        let again = w.new_link("app", "carol", None);
        w.use_registration(&again, now).unwrap();
        assert!(w.has_device("app", "carol").unwrap());
        assert_eq!(w.devices(Some("app"), None).len(), 1);
    }

    #[test]
    fn a_new_phone_replaces_the_old_one() {
        let now = Instant::now();
        let mut w = world();
        with_phone(&mut w, "dave", now);
        let t = start(&mut w, "dave", now);
        w.register_device("app", "dave", None, now).unwrap();
        assert_eq!(w.status(&t, now).unwrap(), Status::Closed);
        let t = start(&mut w, "dave", now);
        assert_eq!(w.status(&t, now).unwrap(), Status::Pending);
    }

    #[test]
    fn applications_are_isolated() {
        let now = Instant::now();
        let mut w = world();
        w.add_application("other", Secret::new("s2"));
        with_phone(&mut w, "alice", now);
        assert_eq!(w.user_exists("other", "alice"), Ok(false));
        assert!(matches!(
            w.authenticate("other", "alice", vec![], None, now).unwrap(),
            Start::NotStarted { .. }
        ));
        let (created, existing) = w
            .add_users("other", &["alice".into(), "alice".into()])
            .unwrap();
        assert_eq!((created.len(), existing.len()), (1, 0));
        let (created, existing) = w.add_users("app", &["alice".into()]).unwrap();
        assert_eq!((created.len(), existing.len()), (0, 1));
        start(&mut w, "alice", now);
        assert_eq!(w.sessions(Some("other"), None, now).len(), 0);
        assert_eq!(w.sessions(Some("app"), Some("alice"), now).len(), 1);
        assert_eq!(
            w.applications(),
            vec![("app".to_owned(), 1), ("other".to_owned(), 1)]
        );
        // Outboxes are per application, merged in sending order.
        for (app, n) in [("other", 1), ("app", 2), ("other", 3)] {
            w.push_sms(Sms {
                app_id: app.into(),
                user: "alice".into(),
                phone_number: "+15551234567".into(),
                message: n.to_string(),
                register_url: String::new(),
                at: 0,
            })
            .unwrap();
        }
        let order = |app: Option<&str>| -> Vec<String> {
            w.sms(app, None).into_iter().map(|s| s.message).collect()
        };
        assert_eq!(order(None), ["1", "2", "3"]);
        assert_eq!(order(Some("other")), ["1", "3"]);
        assert!(w.sms(None, Some("bob")).is_empty());
        let mut unknown = w.sms(None, None)[0].clone();
        unknown.app_id = "nope".into();
        assert_eq!(w.push_sms(unknown), Err(StateError::UnknownApp));
    }
}

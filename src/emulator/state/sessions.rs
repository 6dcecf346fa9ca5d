//! The session machine: authentication sessions, their statuses and every time-based
//! transition (an unanswered request timing out, a session reaching its `duration_seconds`, a
//! scripted phone answering).
//!
//! Time is an explicit `now`, so it is tested without HTTP or real time. Time-based
//! transitions are evaluated lazily whenever a session is read, which nobody can tell apart
//! from a background timer; [`Sessions::next_change`] tells a watcher when to look again.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::error::StateError;
use super::session::{SessionRec, later};
use crate::emulator::types::{Behaviour, EmulatorSession, SessionAction};
use crate::{AuthenticationMethod, Secret, Status};

/// Most sessions kept; beyond it the oldest finished (terminal) sessions are forgotten.
const MAX_SESSIONS: usize = 100_000;

/// Settings of the session machine.
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

/// What a new authentication request needs to know besides its application and user.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The phone the request goes to.
    pub(crate) device_id: u64,
    /// How that phone answers by itself.
    pub(crate) behaviour: Behaviour,
    /// Requested methods; empty means `acceptance`.
    pub(crate) methods: Vec<AuthenticationMethod>,
    /// `duration_seconds`, if the request names one.
    pub(crate) duration: Option<Duration>,
}

/// A started session, as `authenticate_user` answers it.
#[derive(Debug, Clone)]
pub(crate) struct Started {
    pub(crate) token: String,
    pub(crate) secret: Secret,
    pub(crate) status: Status,
}

/// Every session, oldest first.
pub(crate) struct Sessions {
    timing: Timing,
    by_seq: BTreeMap<u64, SessionRec>,
    by_token: HashMap<String, u64>,
    seq: u64,
    /// Bumped on every change anyone could see.
    revision: u64,
}

/// `bytes` random bytes in lowercase hex: tokens of sessions and registration links.
pub(crate) fn random_hex(bytes: usize) -> String {
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

impl Sessions {
    pub(crate) fn new(timing: Timing) -> Self {
        Sessions {
            timing,
            by_seq: BTreeMap::new(),
            by_token: HashMap::new(),
            seq: 0,
            revision: 0,
        }
    }

    /// Changes so far (compared by watchers to notice a change).
    pub(crate) fn revision(&self) -> u64 {
        self.revision
    }

    fn changed(&mut self, changed: bool) {
        if changed {
            self.revision += 1;
        }
    }

    /// Starts a session: a request sent to the user's phone.
    pub(crate) fn start(
        &mut self,
        app_id: &str,
        user: &str,
        request: Request,
        now: Instant,
    ) -> Started {
        let auto = Some(request.behaviour)
            .filter(|b| *b != Behaviour::Ignore)
            .map(|b| (b, later(now, b.after())));
        let methods = if request.methods.is_empty() {
            vec![AuthenticationMethod::Acceptance]
        } else {
            request.methods
        };
        let token = random_hex(16);
        let secret = random_secret();
        let mut rec = SessionRec {
            token: token.clone(),
            secret: secret.clone(),
            app_id: app_id.to_owned(),
            user: user.to_owned(),
            device_id: request.device_id,
            status: Status::Pending,
            methods,
            pending_deadline: later(now, self.timing.pending_timeout),
            expires_at: later(
                now,
                request.duration.unwrap_or(self.timing.default_duration),
            ),
            auto,
        };
        // A zero delay answers at once.
        rec.refresh(now);
        let status = rec.status;
        self.prune(now);
        self.seq += 1;
        self.by_token.insert(token.clone(), self.seq);
        self.by_seq.insert(self.seq, rec);
        self.changed(true);
        Started {
            token,
            secret,
            status,
        }
    }

    fn prune(&mut self, now: Instant) {
        if self.by_seq.len() < MAX_SESSIONS {
            return;
        }
        let mut finished = Vec::new();
        for (seq, s) in self.by_seq.iter_mut() {
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
            finished.extend(self.by_seq.keys().take(MAX_SESSIONS / 10).copied());
        }
        for seq in finished {
            if let Some(s) = self.by_seq.remove(&seq) {
                self.by_token.remove(&s.token);
            }
        }
    }

    fn get_mut(&mut self, token: &str, now: Instant) -> Result<&mut SessionRec, StateError> {
        let seq = *self.by_token.get(token).ok_or(StateError::UnknownSession)?;
        let s = self
            .by_seq
            .get_mut(&seq)
            .ok_or(StateError::UnknownSession)?;
        if s.refresh(now) {
            self.revision += 1;
        }
        Ok(s)
    }

    /// The session's secret, to verify a signature.
    pub(crate) fn secret(&self, token: &str) -> Option<Secret> {
        let seq = self.by_token.get(token)?;
        self.by_seq.get(seq).map(|s| s.secret.clone())
    }

    /// The application that started the session.
    pub(crate) fn app_of(&self, token: &str) -> Option<String> {
        let seq = self.by_token.get(token)?;
        self.by_seq.get(seq).map(|s| s.app_id.clone())
    }

    /// The session's status now.
    pub(crate) fn status(&mut self, token: &str, now: Instant) -> Result<Status, StateError> {
        Ok(self.get_mut(token, now)?.status)
    }

    /// One session as listed by the control API.
    pub(crate) fn session(
        &mut self,
        token: &str,
        now: Instant,
    ) -> Result<EmulatorSession, StateError> {
        Ok(self.get_mut(token, now)?.view())
    }

    /// Logout: a live session closes; a finished one stays as it is. Answers the status after.
    pub(crate) fn logout(&mut self, token: &str, now: Instant) -> Result<Status, StateError> {
        let s = self.get_mut(token, now)?;
        let changed = s.close();
        let status = s.status;
        self.changed(changed);
        Ok(status)
    }

    /// Applies an action of the phone (or a test) to a session.
    pub(crate) fn act(
        &mut self,
        token: &str,
        action: SessionAction,
        now: Instant,
    ) -> Result<Status, StateError> {
        let s = self.get_mut(token, now)?;
        let next = action
            .apply(s.status)
            .ok_or(StateError::Illegal(s.status))?;
        s.status = next;
        if !next.is_in_progress() {
            s.auto = None;
        }
        self.changed(true);
        Ok(next)
    }

    /// Closes the user's live sessions (only those of `device` if given).
    pub(crate) fn close_of(&mut self, app_id: &str, user: &str, device: Option<u64>, now: Instant) {
        let mut changed = false;
        for s in self.by_seq.values_mut() {
            if s.matches(Some(app_id), Some(user)) && device.is_none_or(|d| d == s.device_id) {
                changed |= s.refresh(now);
                changed |= s.close();
            }
        }
        self.changed(changed);
    }

    /// Sessions, oldest first, optionally of one application and/or user.
    pub(crate) fn list(
        &mut self,
        app_id: Option<&str>,
        user: Option<&str>,
        now: Instant,
    ) -> Vec<EmulatorSession> {
        let mut changed = false;
        let list = self
            .by_seq
            .values_mut()
            .filter(|s| s.matches(app_id, user))
            .map(|s| {
                changed |= s.refresh(now);
                s.view()
            })
            .collect();
        self.changed(changed);
        list
    }

    /// When the next time-based transition of the matching sessions is due, if any.
    pub(crate) fn next_change(&self, app_id: Option<&str>, user: Option<&str>) -> Option<Instant> {
        self.by_seq
            .values()
            .filter(|s| s.matches(app_id, user))
            .filter_map(|s| s.next_due().map(|(at, _)| at))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions() -> Sessions {
        Sessions::new(Timing::default())
    }

    fn request(behaviour: Behaviour, duration: Option<Duration>) -> Request {
        Request {
            device_id: 1,
            behaviour,
            methods: vec![],
            duration,
        }
    }

    fn start(s: &mut Sessions, user: &str, behaviour: Behaviour, now: Instant) -> String {
        s.start("app", user, request(behaviour, None), now).token
    }

    #[test]
    fn approve_walkaway_return_logout() {
        let now = Instant::now();
        let mut s = sessions();
        let t = start(&mut s, "alice", Behaviour::Ignore, now);
        assert_eq!(s.status(&t, now).unwrap(), Status::Pending);
        for (action, to) in [
            (SessionAction::Identify, Status::Identifying),
            (SessionAction::Approve, Status::Active),
            (SessionAction::Walkaway, Status::Walkaway),
            (SessionAction::Return, Status::Active),
        ] {
            assert_eq!(s.act(&t, action, now).unwrap(), to);
        }
        assert_eq!(
            s.act(&t, SessionAction::Approve, now).unwrap_err(),
            StateError::Illegal(Status::Active)
        );
        assert_eq!(s.logout(&t, now).unwrap(), Status::Closed);
        // Logging out twice is harmless.
        assert_eq!(s.logout(&t, now).unwrap(), Status::Closed);
        assert_eq!(
            s.status("unknown", now).unwrap_err(),
            StateError::UnknownSession
        );
        assert_eq!(s.app_of(&t).as_deref(), Some("app"));
    }

    #[test]
    fn unanswered_requests_time_out_and_sessions_expire() {
        let now = Instant::now();
        let mut s = sessions();
        let t = start(&mut s, "alice", Behaviour::Ignore, now);
        let secs = |n| now + Duration::from_secs(n);
        assert_eq!(s.next_change(None, None), Some(secs(60)));
        assert_eq!(s.status(&t, secs(59)).unwrap(), Status::Pending);
        assert_eq!(s.status(&t, secs(60)).unwrap(), Status::Timeout);
        // A terminal status never changes again.
        assert_eq!(s.status(&t, secs(7200)).unwrap(), Status::Timeout);
        assert_eq!(s.next_change(None, None), None);

        let mut facial = request(Behaviour::Ignore, Some(Duration::from_secs(10)));
        facial.methods = vec![AuthenticationMethod::Facial];
        let t = s.start("app", "alice", facial, now).token;
        s.act(&t, SessionAction::Approve, now).unwrap();
        assert_eq!(s.next_change(None, Some("alice")), Some(secs(10)));
        assert_eq!(s.next_change(None, Some("bob")), None);
        assert_eq!(s.status(&t, secs(9)).unwrap(), Status::Active);
        assert_eq!(s.status(&t, secs(10)).unwrap(), Status::Closed);
        let view = s.session(&t, now).unwrap();
        assert_eq!(view.methods, vec![AuthenticationMethod::Facial]);
    }

    #[test]
    fn expiry_before_the_pending_timeout_closes() {
        let now = Instant::now();
        let mut s = sessions();
        s.start(
            "app",
            "a",
            request(Behaviour::Ignore, Some(Duration::MAX)),
            now,
        );
        let t = s
            .start(
                "app",
                "a",
                request(Behaviour::Ignore, Some(Duration::from_secs(5))),
                now,
            )
            .token;
        assert_eq!(
            s.status(&t, now + Duration::from_secs(100)).unwrap(),
            Status::Closed
        );
    }

    #[test]
    fn behaviour_answers_by_itself_in_time_order() {
        let now = Instant::now();
        let mut s = sessions();
        let approve = Behaviour::Approve {
            after: Duration::from_millis(500),
        };
        let a = start(&mut s, "alice", approve, now);
        let slow_deny = Behaviour::Deny {
            after: Duration::from_secs(120),
        };
        let b = start(&mut s, "bob", slow_deny, now);
        assert_eq!(
            s.next_change(None, Some("alice")),
            Some(now + Duration::from_millis(500))
        );
        let ms = |n| now + Duration::from_millis(n);
        assert_eq!(s.status(&a, ms(499)).unwrap(), Status::Pending);
        assert_eq!(s.status(&a, ms(500)).unwrap(), Status::Active);
        // Bob's phone would answer after the timeout: the timeout comes first.
        assert_eq!(s.status(&b, ms(200_000)).unwrap(), Status::Timeout);
        let deny_now = Behaviour::Deny {
            after: Duration::ZERO,
        };
        let b = start(&mut s, "bob", deny_now, now);
        assert_eq!(s.status(&b, now).unwrap(), Status::Failed);
    }

    #[test]
    fn revisions_count_visible_changes_only() {
        let now = Instant::now();
        let mut s = sessions();
        let t = start(&mut s, "alice", Behaviour::Ignore, now);
        let r = s.revision();
        s.status(&t, now).unwrap();
        s.list(None, None, now);
        assert_eq!(s.revision(), r, "reads change nothing");
        s.status(&t, now + Duration::from_secs(61)).unwrap();
        assert_eq!(s.revision(), r + 1, "a timeout is a change");
        s.logout(&t, now).unwrap();
        assert_eq!(
            s.revision(),
            r + 1,
            "closing a finished session changes nothing"
        );
        let t = start(&mut s, "alice", Behaviour::Ignore, now);
        s.close_of("app", "alice", Some(2), now);
        assert_eq!(
            s.status(&t, now).unwrap(),
            Status::Pending,
            "another device"
        );
        s.close_of("app", "alice", Some(1), now);
        assert_eq!(s.status(&t, now).unwrap(), Status::Closed);
    }
}

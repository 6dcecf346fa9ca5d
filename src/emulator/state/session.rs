//! One session as the machine keeps it: its status and the time-based transitions it takes
//! by itself (a scripted phone answering, an unanswered request timing out, the session
//! reaching its `duration_seconds`), applied in time order.

use std::time::{Duration, Instant};

use crate::emulator::types::{Behaviour, EmulatorSession};
use crate::{AuthenticationMethod, Secret, Status};

/// A session as the machine keeps it.
pub(crate) struct SessionRec {
    pub(crate) token: String,
    pub(crate) secret: Secret,
    pub(crate) app_id: String,
    pub(crate) user: String,
    pub(crate) device_id: u64,
    pub(crate) status: Status,
    pub(crate) methods: Vec<AuthenticationMethod>,
    /// Unanswered requests time out at this instant.
    pub(crate) pending_deadline: Instant,
    /// The session closes at this instant (`duration_seconds`).
    pub(crate) expires_at: Instant,
    /// A scripted answer of the phone and when it comes.
    pub(crate) auto: Option<(Behaviour, Instant)>,
}

pub(crate) enum Due {
    Auto(Status),
    PendingTimeout,
    Expiry,
}

impl SessionRec {
    /// The next time-based transition and when it is due, if any.
    pub(crate) fn next_due(&self) -> Option<(Instant, Due)> {
        let mut next: Option<(Instant, Due)> = None;
        let mut consider = |at: Instant, due: Due| {
            if next.as_ref().is_none_or(|(t, _)| at < *t) {
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
        next
    }

    /// Applies every time-based transition due at `now`, in time order; `true` if the
    /// status changed.
    pub(crate) fn refresh(&mut self, now: Instant) -> bool {
        let before = self.status;
        while let Some((at, due)) = self.next_due() {
            if at > now {
                break;
            }
            match due {
                Due::Auto(status) => {
                    self.auto = None;
                    self.status = status;
                }
                Due::PendingTimeout => self.status = Status::Timeout,
                Due::Expiry => self.status = Status::Closed,
            }
        }
        self.status != before
    }

    pub(crate) fn close(&mut self) -> bool {
        if self.status.is_terminal() {
            return false;
        }
        self.status = Status::Closed;
        true
    }

    pub(crate) fn matches(&self, app_id: Option<&str>, user: Option<&str>) -> bool {
        app_id.is_none_or(|a| a == self.app_id) && user.is_none_or(|u| u == self.user)
    }

    pub(crate) fn view(&self) -> EmulatorSession {
        EmulatorSession {
            session_token: self.token.clone(),
            app_id: self.app_id.clone(),
            user: self.user.clone(),
            session_status: self.status,
            methods: self.methods.clone(),
        }
    }
}

/// `now + d`, or a century later when that overflows (`duration_seconds` is unbounded).
pub(crate) fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

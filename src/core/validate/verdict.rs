//! What a status answer means: the [`Verdict`] for a request (by the deployment's [`Policy`]),
//! and the audit events of a session's walkaway and return ([`Transition`]).

use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Status};

/// What the deployment's settings say a status answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// `walkaway` ends the login (the cookie is removed) instead of only denying.
    pub(crate) end_on_walkaway: bool,
    /// How long a last good answer may stand in during an outage (`None`: never).
    pub(crate) stale_grace: Option<Duration>,
}

impl Policy {
    /// The verdict on `answer` (see [`verdict`]).
    pub(crate) fn verdict(
        self,
        answer: &Result<Status, Arc<Error>>,
        last_good_age: Option<Duration>,
    ) -> Verdict {
        verdict(
            answer,
            self.end_on_walkaway,
            self.stale_grace,
            last_good_age,
        )
    }
}

/// A change of presence worth an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// The session went to `walkaway` (first seen so on this instance).
    Walkaway,
    /// A walked-away session is `active` again.
    Return,
}

impl Transition {
    /// The audit event, with the session's user (when known: a live stream's ticker only has
    /// the session) and short handle; a request's span adds the client address and path.
    pub(crate) fn log(self, user: Option<&str>, handle: &str) {
        match self {
            Transition::Walkaway => tracing::info!(
                user,
                handle,
                "IAMPASS walkaway: the user's phone left; access is locked"
            ),
            Transition::Return => tracing::info!(
                user,
                handle,
                "IAMPASS return: the user's phone is back; access is restored"
            ),
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

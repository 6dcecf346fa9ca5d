//! What the poll and the wait pages share about a pending approval, a login's or a
//! step-up's: whose it is ([`Flow`]) and how it stands ([`Progress`]).

use cookie::Cookie;

use crate::Status;
use crate::core::cookie::SessionCookie;

/// Whose pending approval a poll or wait page follows.
pub(super) enum Flow {
    /// A login: its pending cookie becomes the signed-in one.
    Login,
    /// A step-up of this signed-in cookie: re-sealed with the new approval once approved;
    /// the pending approval is in the step-up cookie.
    StepUp(Box<SessionCookie>),
}

impl Flow {
    /// The counter this flow's outcomes go to.
    pub(super) fn metric(&self) -> crate::metrics::Flow {
        match self {
            Flow::Login => crate::metrics::Flow::Login,
            Flow::StepUp(_) => crate::metrics::Flow::StepUp,
        }
    }
}

/// How a pending login stands after asking IAMPASS.
pub(super) enum Progress {
    /// Signed in: the authenticated cookie to set and where to go.
    Active(Cookie<'static>, String),
    /// Still waiting; the updated payload and its cookie when the stored status changed.
    Waiting(Status, Option<(Box<SessionCookie>, Cookie<'static>)>),
    /// Ended without success; the cookie is to be removed.
    Ended(Status, String),
    /// IAMPASS cannot be asked; why (for the log).
    Unavailable(String),
    /// Approved, but this pending cookie was already exchanged for a signed-in one.
    Exchanged,
    /// Approved, but the store cannot say whether another instance exchanged it; why.
    StoreUnavailable(String),
}

/// How a step-up that ended without approval reads (the user is still signed in).
pub(super) fn step_up_text(status: Status) -> &'static str {
    match status {
        Status::Failed => {
            "Not confirmed: the request was refused on the phone. You are still signed in."
        }
        Status::Timeout => {
            "Not confirmed: the request on the phone timed out. You are still signed in."
        }
        Status::Cancelled => "Not confirmed: the request was cancelled. You are still signed in.",
        Status::Closed => "Not confirmed: the request was ended. You are still signed in.",
        Status::Walkaway => "Your phone seems to be away; bring it back nearby.",
        Status::Pending => "Check your phone and approve the request.",
        Status::Identifying => "Your phone is confirming it is you.",
        Status::Active => "Confirmed.",
    }
}

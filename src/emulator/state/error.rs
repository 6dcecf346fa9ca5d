//! Why a state operation did nothing.

use crate::Status;

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

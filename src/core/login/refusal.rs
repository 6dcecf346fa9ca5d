//! [`Refusal`]: why a login or a step-up could not start, and how to answer it.

use http::StatusCode;
use serde_json::json;

use crate::Error;
use crate::core::denial::UNAVAILABLE_MESSAGE;
use crate::core::log::{OutageLog, Without, text};

/// Why a login could not start, and how to answer it.
pub(super) struct Refusal {
    pub(super) status: StatusCode,
    pub(super) body: serde_json::Value,
    /// Shown on the HTML form.
    pub(super) message: String,
    pub(super) retry_after: Option<u64>,
}

impl Refusal {
    pub(super) fn bad_request(status: StatusCode, message: impl Into<String>) -> Self {
        let message = message.into();
        Refusal {
            status,
            body: json!({"error": "bad_request", "message": message}),
            message,
            retry_after: None,
        }
    }

    pub(super) fn failed(
        status: StatusCode,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let message = message.into();
        Refusal {
            status,
            body: json!({"status": "failed", "reason": reason.into(), "message": message}),
            message,
            retry_after: None,
        }
    }

    pub(super) fn unknown_user() -> Self {
        Refusal::failed(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNKNOWN_USER",
            "This user name is not known.",
        )
    }

    /// IAMPASS cannot be reached: logged as part of the outage (see [`OutageLog`]).
    pub(super) fn unavailable(error: &Error, outage: &OutageLog) -> Self {
        let error = text(error);
        outage.went_without(Without::Refused, &error);
        tracing::debug!(error, "IAMPASS unavailable during login");
        Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: json!({"error": "iampass_unavailable", "message": UNAVAILABLE_MESSAGE}),
            message: "IAMPASS cannot be reached right now; please try again in a moment.".into(),
            retry_after: Some(5),
        }
    }
}

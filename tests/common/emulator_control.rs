//! Driving the emulator through its control API, shared by the `actix` and `emulator` tests:
//! what the phone does to a session, and the faults of the wire API.

use std::time::Duration;

use iampass::emulator::{Faults, RunningEmulator, SessionAction};

/// The phone does `action` to the session `token`; the test fails if the transition is refused.
pub async fn session_action(emulator: &RunningEmulator, token: &str, action: SessionAction) {
    emulator.session_action(token, action).await.unwrap();
}

/// Faults under which every wire-API call is answered with `status`.
pub fn every_call_fails_with(status: u16) -> Faults {
    Faults {
        error_rate: 1.0,
        error_status: status,
        ..Faults::default()
    }
}

/// Faults under which every wire-API call is answered only after `latency`.
pub fn every_call_delayed_by(latency: Duration) -> Faults {
    Faults {
        latency,
        ..Faults::default()
    }
}

//! What the phone page shows, for the page, its event stream and `GET /_emulator/phone`.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::Serialize;

use super::reply::{Reject, Reply, json, query, query_param};
use crate::emulator::state::{DeviceView, Shared};
use crate::emulator::types::{EmulatorSession, Sms};

/// What the phone shows; also the JSON of `GET /_emulator/phone`.
#[derive(Serialize, Default)]
pub(crate) struct PhoneState {
    pub(crate) devices: Vec<DeviceView>,
    /// `pending` and `identifying` sessions, oldest first.
    pub(crate) pending: Vec<EmulatorSession>,
    /// `active` and `walkaway` sessions, oldest first.
    pub(crate) sessions: Vec<EmulatorSession>,
    /// The tokens of the pending requests whose user already has an active (or walked-away)
    /// session of the same application: a step-up, "confirm again" (the wire protocol has
    /// no such field; this is what the phone can see).
    pub(crate) step_ups: Vec<String>,
    /// The outbox, newest first.
    pub(crate) sms: Vec<Sms>,
}

/// The phone's state now, optionally of one application and/or user.
pub(crate) fn state_of(shared: &Shared, app_id: Option<&str>, user: Option<&str>) -> PhoneState {
    let mut world = shared.world();
    let (pending, sessions): (Vec<EmulatorSession>, Vec<EmulatorSession>) = world
        .sessions
        .list(app_id, user, Instant::now())
        .into_iter()
        .filter(|s| !s.session_status.is_terminal())
        .partition(|s| s.session_status.is_in_progress());
    let mut sms = world.outbox.list(app_id, user);
    sms.reverse();
    let step_ups = pending
        .iter()
        .filter(|p| {
            sessions
                .iter()
                .any(|s| s.app_id == p.app_id && s.user == p.user)
        })
        .map(|p| p.session_token.clone())
        .collect();
    PhoneState {
        devices: world.directory.devices(app_id, user),
        pending,
        sessions,
        step_ups,
        sms,
    }
}

/// `GET /_emulator/phone[?app_id][&user]`: what the phone page shows, as JSON.
pub(crate) async fn snapshot(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let pairs = query(&req).map_err(Reject::into_json)?;
    let app_id = query_param(&pairs, "app_id").filter(|s| !s.is_empty());
    let user = query_param(&pairs, "user").filter(|s| !s.is_empty());
    let state = state_of(&shared, app_id.as_deref(), user.as_deref());
    Ok(json(StatusCode::OK, &state))
}

//! The emulator's HTTP face: assembles the wire API, the control API and the phone page on one
//! actix-web application over the shared state.

mod control;
mod guard;
mod log;
mod phone;
mod phone_events;
mod phone_state;
mod reply;
mod signature;
mod wire;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};

use super::state::Shared;
pub(crate) use guard::{Access, LocalAddr, guard};
pub(crate) use log::log_request;
use reply::{Reject, Reply};

/// Largest accepted request body; a larger one is answered `413`.
const BODY_LIMIT: usize = 64 * 1024;

/// Registers every route of the emulator on an actix-web application.
pub(crate) fn configure(
    shared: web::Data<Shared>,
    access: web::Data<Access>,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(shared)
            .app_data(access)
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .configure(wire::configure)
            .configure(control::configure)
            .configure(phone::configure)
            .default_service(web::to(not_found));
    }
}

async fn not_found(req: HttpRequest) -> Reply {
    if req.path().starts_with("/_emulator/") {
        Err(Reject::text(StatusCode::NOT_FOUND, "no such control API route").into_json())
    } else {
        Err(Reject::not_found("not found"))
    }
}

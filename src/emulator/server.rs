//! The state every worker shares, and the actix-web application that serves it.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::faults::{self, Faults};
use super::reply::{Reject, Reply};
use super::state::{Timing, World};
use super::stats::{Counters, Route};
use super::verify::NonceStore;
use super::{api, control, phone};

/// Largest accepted request body; a larger one is answered `413`.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// Everything the HTTP workers share. Locks are never held across an `.await`.
pub(crate) struct Shared {
    world: Mutex<World>,
    nonces: Mutex<NonceStore>,
    faults: RwLock<Faults>,
    pub(crate) counters: Counters,
    pub(crate) signature_window: Duration,
}

impl Shared {
    pub(crate) fn new(timing: Timing, signature_window: Duration, nonce_capacity: usize) -> Self {
        Shared {
            world: Mutex::new(World::new(timing)),
            nonces: Mutex::new(NonceStore::new(nonce_capacity)),
            faults: RwLock::new(Faults::default()),
            counters: Counters::default(),
            signature_window,
        }
    }

    /// The world, locked (a panic elsewhere never makes it unusable).
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn nonces(&self) -> MutexGuard<'_, NonceStore> {
        self.nonces.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn faults(&self) -> Faults {
        *self.faults.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *self.faults.write().unwrap_or_else(PoisonError::into_inner) = faults;
    }

    /// Counts a wire API request and applies injected faults: `Err` is the injected answer.
    pub(crate) async fn enter(&self, route: Route) -> Result<(), HttpResponse> {
        self.counters.hit(route);
        let faults = self.faults();
        if !faults.is_active() {
            return Ok(());
        }
        match faults::inject(faults).await {
            Some(response) => Err(response),
            None => Ok(()),
        }
    }
}

/// `scheme://host` the request was sent to: the base of the URLs the emulator hands out.
pub(crate) fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// Registers every route of the emulator on an actix-web application.
pub(crate) fn configure(shared: web::Data<Shared>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(shared)
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .configure(api::configure)
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

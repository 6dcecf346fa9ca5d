//! The emulator's HTTP face: assembles the wire API, the control API and the phone page on one
//! actix-web application over the shared state, and logs one line per request.

mod control;
mod phone;
mod reply;
mod signature;
mod wire;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};

use super::state::Shared;
use reply::{Reject, Reply};

/// Largest accepted request body; a larger one is answered `413`.
const BODY_LIMIT: usize = 64 * 1024;

/// The application a wire API request acted for, put in the request's extensions by the
/// wire routes for the request log.
#[derive(Debug, Clone)]
struct ForApplication(String);

/// Registers every route of the emulator on an actix-web application.
pub(crate) fn configure(shared: web::Data<Shared>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(shared)
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .configure(wire::configure)
            .configure(control::configure)
            .configure(phone::configure)
            .default_service(web::to(not_found));
    }
}

/// One `INFO` line per request (target `iampass::emulator`): method, path, status, latency
/// and the application it acted for (`-` outside the wire API). Wrap it around the
/// application with `actix_web::middleware::from_fn`.
pub(crate) async fn log_request<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let response = next.call(req).await?;
    let app = response
        .request()
        .extensions()
        .get::<ForApplication>()
        .map(|a| a.0.clone());
    tracing::info!(
        target: "iampass::emulator",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0),
        app = app.as_deref().unwrap_or("-"),
        "request"
    );
    Ok(response)
}

/// `scheme://host` the request was sent to: the base of the URLs the emulator hands out.
fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

async fn not_found(req: HttpRequest) -> Reply {
    if req.path().starts_with("/_emulator/") {
        Err(Reject::text(StatusCode::NOT_FOUND, "no such control API route").into_json())
    } else {
        Err(Reject::not_found("not found"))
    }
}

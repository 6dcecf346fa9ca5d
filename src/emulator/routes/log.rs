//! The request log: one line per request, through `tracing`.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// The application a wire API request acted for, put in the request's extensions by the
/// wire routes for the request log.
#[derive(Debug, Clone)]
pub(crate) struct ForApplication(pub(crate) String);

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
        app = %app.as_deref().unwrap_or("-"),
        "request"
    );
    Ok(response)
}

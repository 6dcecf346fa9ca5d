//! `METRICS_BIND`: the crate's metrics (feature `metrics`) as Prometheus text at
//! `http://METRICS_BIND/metrics`, on an address of its own (not the app's: keep it off the
//! public network), served by `metrics-exporter-prometheus`. Unset: no exporter.

use std::net::SocketAddr;

/// The commands that build the examples with metrics, for the error when they are missing.
const WITH_METRICS: &str = "`cargo run --example login_page --features emulator,metrics` \
     (axum: `cargo run --example axum_login_page --features axum,emulator,metrics`)";

/// `METRICS_BIND` (`None` when unset), checked before anything starts.
pub fn bind_from_env() -> Result<Option<SocketAddr>, String> {
    let Some(raw) = std::env::var("METRICS_BIND")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    if !cfg!(feature = "metrics") {
        return Err(format!(
            "METRICS_BIND is set, but this build records no metrics (feature `metrics` is off); \
             run {WITH_METRICS}"
        ));
    }
    let addr: SocketAddr = raw.trim().parse().map_err(|e| {
        format!("METRICS_BIND {raw:?} is not an address with a port (e.g. 127.0.0.1:9100): {e}")
    })?;
    if addr.port() == 0 {
        return Err(format!(
            "METRICS_BIND {raw:?} needs a fixed port, for Prometheus to scrape (e.g. 127.0.0.1:9100)"
        ));
    }
    Ok(Some(addr))
}

/// Installs the Prometheus recorder and serves it on `addr` (inside the runtime), with the
/// histogram's buckets and each metric's help text.
pub fn serve(addr: SocketAddr) -> Result<(), String> {
    #[cfg(feature = "metrics")]
    {
        use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
        PrometheusBuilder::new()
            .with_http_listener(addr)
            .set_buckets_for_metric(
                Matcher::Full(iampass::metrics::UPSTREAM_REQUEST_DURATION_SECONDS.into()),
                iampass::metrics::UPSTREAM_DURATION_BUCKETS,
            )
            .and_then(|builder| builder.install())
            .map_err(|e| format!("cannot serve metrics on METRICS_BIND {addr}: {e}"))?;
        iampass::metrics::describe();
        Ok(())
    }
    #[cfg(not(feature = "metrics"))]
    Err(format!(
        "cannot serve metrics on {addr}: run {WITH_METRICS}"
    ))
}

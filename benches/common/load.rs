//! The bounded in-process load generator of the load benchmarks, and their knobs.
//!
//! Each of `concurrency` tasks has its own keep-alive HTTP client and sends requests in a loop
//! over loopback until the time is up, so a run always stops by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A knob from the environment (`IAMPASS_BENCH_*`), or its default.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How one timed run went.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Requests answered with a 2xx (body read).
    pub ok: u64,
    /// Requests that failed or answered anything else.
    pub errors: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Run {
    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// Sends `request(task, client)` from `concurrency` tasks until `duration` has passed.
pub async fn drive<F>(concurrency: usize, duration: Duration, request: F) -> Run
where
    F: Fn(usize, &reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .expect("HTTP client");
        let (request, ok, errors) = (request.clone(), ok.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let good = match request(task, &http).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let counter = if good { &ok } else { &errors };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.expect("load task");
    }
    Run {
        ok: ok.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    }
}

/// The median of some rates (the middle one after sorting).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

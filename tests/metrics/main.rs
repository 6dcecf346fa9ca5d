//! Feature `metrics` read back through a real recorder (metrics-exporter-prometheus's, rendered
//! as Prometheus text): sign-ins by outcome, judged requests by verdict and the status cache
//! (`flows`); an IAMPASS outage, the breaker and a dead port, and Redis killed under the store
//! (`outages`); event streams opening and closing (`streams`). Real servers on loopback: the
//! emulator, the actix app of `tests/common/`, and a `redis-server` (feature `redis`).
//!
//! The recorder is global to this test binary: every test holds [`serial`] for its whole run,
//! and compares values before and after what it drives.

#[path = "../common/mod.rs"]
mod common;
// Only `start`, `url` and `stop` of the store suite's server are used here.
#[cfg(feature = "redis")]
#[path = "../store/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;

mod flows;
mod outages;
mod streams;

use std::sync::OnceLock;

use iampass::metrics::{UPSTREAM_DURATION_BUCKETS, UPSTREAM_REQUEST_DURATION_SECONDS};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// What every test file imports: the shared fixtures and the readings.
mod harness {
    pub use crate::common::actix_app::*;
    pub use crate::common::emulator::*;
    pub use crate::common::emulator_control::*;
    pub use crate::common::eventually::eventually;
    pub use crate::{Reading, serial};
}

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Installs the recorder (once) and runs the test alone: hold the guard until the end.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    let guard = SERIAL.lock().await;
    RECORDER.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(UPSTREAM_REQUEST_DURATION_SECONDS.into()),
                UPSTREAM_DURATION_BUCKETS,
            )
            .unwrap()
            .install_recorder()
            .expect("the only recorder of this test binary");
        iampass::metrics::describe();
        handle
    });
    guard
}

/// The recorder's values at one moment, as its Prometheus text.
pub struct Reading(String);

impl Reading {
    /// Reads every value now.
    pub fn now() -> Reading {
        Reading(
            RECORDER
                .get()
                .expect("serial() installs the recorder")
                .render(),
        )
    }

    /// The sum of the series of `name` with all of `labels` (0 when there is none).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (metric, rest) = match series.split_once('{') {
                    Some((metric, rest)) => (metric, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                let matches = metric == name
                    && labels
                        .iter()
                        .all(|(k, v)| rest.split(',').any(|l| l == format!("{k}=\"{v}\"")));
                matches.then(|| value.parse::<f64>().expect("a number"))
            })
            .sum()
    }

    /// How much the series grew since `before`.
    pub fn since(&self, before: &Reading, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels) - before.get(name, labels)
    }

    /// The Prometheus text (for failure messages).
    pub fn text(&self) -> &str {
        &self.0
    }
}

#[test]
fn readings_parse_the_prometheus_text() {
    let reading = Reading(
        "# TYPE x counter\nx{a=\"1\",b=\"2\"} 3\nx{a=\"1\",b=\"3\"} 4\ny 5\nx_count{a=\"1\"} 9\n"
            .into(),
    );
    assert_eq!(reading.get("x", &[("a", "1")]), 7.0);
    assert_eq!(reading.get("x", &[("b", "3")]), 4.0);
    assert_eq!(reading.get("y", &[]), 5.0);
    assert_eq!(reading.get("z", &[]), 0.0);
}

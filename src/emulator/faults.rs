//! Fault injection on the wire API (`/management/*`, `/authentication/*`): added latency and
//! a share of requests answered with an error status, for reliability tests.

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};

/// Faults injected into the wire API routes (never into the control API or the phone page).
///
/// ```
/// use std::time::Duration;
/// use iampass::emulator::Faults;
/// let none = Faults::default();
/// assert_eq!((none.latency, none.error_rate, none.error_status), (Duration::ZERO, 0.0, 503));
/// let flaky = Faults { error_rate: 0.5, ..Faults::default() };
/// assert!(flaky.is_active());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// Added before each answer.
    pub latency: Duration,
    /// Share of requests (0.0–1.0) answered with `error_status` instead.
    pub error_rate: f64,
    /// The status of injected errors (default 503).
    pub error_status: u16,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency: Duration::ZERO,
            error_rate: 0.0,
            error_status: 503,
        }
    }
}

impl Faults {
    /// `true` if any fault is configured.
    pub fn is_active(&self) -> bool {
        !self.latency.is_zero() || self.error_rate > 0.0
    }

    /// The control API's JSON form.
    pub(crate) fn to_wire(self) -> FaultsWire {
        FaultsWire {
            latency_ms: u64::try_from(self.latency.as_millis()).unwrap_or(u64::MAX),
            error_rate: self.error_rate,
            error_status: self.error_status,
        }
    }
}

/// `{"latency_ms": N, "error_rate": 0.0–1.0, "error_status": 503}`; absent fields take the
/// defaults (no latency, no errors, 503).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct FaultsWire {
    #[serde(default)]
    pub(crate) latency_ms: u64,
    #[serde(default)]
    pub(crate) error_rate: f64,
    #[serde(default = "default_status")]
    pub(crate) error_status: u16,
}

fn default_status() -> u16 {
    503
}

/// Longest injectable latency (keeps a typo from hanging a test run for days).
pub(crate) const MAX_LATENCY: Duration = Duration::from_secs(600);

impl FaultsWire {
    /// Validates the JSON form: rate within 0–1, a real HTTP status, latency ≤ 10 min.
    pub(crate) fn validate(self) -> Result<Faults, String> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err("error_rate must be between 0.0 and 1.0".into());
        }
        if StatusCode::from_u16(self.error_status).is_err() || self.error_status < 200 {
            return Err("error_status must be an HTTP status between 200 and 999".into());
        }
        let latency = Duration::from_millis(self.latency_ms);
        if latency > MAX_LATENCY {
            return Err("latency_ms must be at most 600000".into());
        }
        Ok(Faults {
            latency,
            error_rate: self.error_rate,
            error_status: self.error_status,
        })
    }
}

/// Waits the configured latency, then answers an injected error for a share of requests.
pub(crate) async fn inject(faults: Faults) -> Option<HttpResponse> {
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if faults.error_rate > 0.0 && rand::random::<f64>() < faults.error_rate {
        let status =
            StatusCode::from_u16(faults.error_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Some(
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body("injected fault (iampass emulator)"),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let ok = FaultsWire {
            latency_ms: 5,
            error_rate: 1.0,
            error_status: 500,
        };
        assert_eq!(ok.validate().unwrap().latency, Duration::from_millis(5));
        for bad in [
            FaultsWire {
                error_rate: 1.5,
                ..ok
            },
            FaultsWire {
                error_rate: f64::NAN,
                ..ok
            },
            FaultsWire {
                error_status: 42,
                ..ok
            },
            FaultsWire {
                latency_ms: u64::MAX,
                ..ok
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}

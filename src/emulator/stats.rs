//! Per-route request counters of the wire API, read by tests and benchmarks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The counted routes and their names in [`Stats::routes`].
///
/// | name | route |
/// | --- | --- |
/// | `add_users` | `POST /management/add_users/{app_id}` |
/// | `delete_users` | `POST /management/delete_users/{app_id}` |
/// | `device_registration_link` | `GET /management/device_registration_link/{app_id}/{user}` |
/// | `send_registration_sms` | `POST /management/send_registration_sms/{app_id}/{user}` |
/// | `has_registered_mobile_device` | `GET /management/has_registered_mobile_device/{app_id}/{user}` |
/// | `lost_user_mobile_device` | `GET /management/lost_user_mobile_device/{app_id}/{user}` |
/// | `authenticate_user` | `POST /authentication/authenticate_user/{app_id}/{user}` |
/// | `status` | `GET /authentication/status/{session_token}` |
/// | `logout` | `POST /authentication/logout/{session_token}` |
///
/// Every request that reaches a route is counted, whatever its answer (refused signatures and
/// injected faults included).
///
/// ```
/// assert!(iampass::emulator::ROUTES.contains(&"status"));
/// ```
pub const ROUTES: [&str; 9] = [
    "add_users",
    "delete_users",
    "device_registration_link",
    "send_registration_sms",
    "has_registered_mobile_device",
    "lost_user_mobile_device",
    "authenticate_user",
    "status",
    "logout",
];

/// A wire API route, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    AddUsers,
    DeleteUsers,
    DeviceRegistrationLink,
    SendRegistrationSms,
    HasRegisteredMobileDevice,
    LostUserMobileDevice,
    AuthenticateUser,
    Status,
    Logout,
}

impl Route {
    fn index(self) -> usize {
        self as usize
    }
}

/// Lock-free counters, one per route.
#[derive(Default)]
pub(crate) struct Counters {
    counts: [AtomicU64; ROUTES.len()],
}

impl Counters {
    pub(crate) fn hit(&self, route: Route) {
        self.counts[route.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reset(&self) {
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            routes: ROUTES
                .iter()
                .zip(&self.counts)
                .map(|(name, c)| ((*name).to_owned(), c.load(Ordering::Relaxed)))
                .collect(),
        }
    }
}

/// Request counts per wire API route (`GET /_emulator/stats`):
/// `{"routes": {"status": 12, "authenticate_user": 3, ...}}`. Names: [`ROUTES`].
///
/// ```
/// use iampass::emulator::Stats;
/// let stats: Stats = serde_json::from_str(r#"{"routes": {"status": 12}}"#).unwrap();
/// assert_eq!(stats.route_count("status"), 12);
/// assert_eq!(stats.route_count("logout"), 0);
/// assert_eq!(stats.total(), 12);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests per route name.
    pub routes: BTreeMap<String, u64>,
}

impl Stats {
    /// Requests that reached the named route (0 for an unknown name).
    pub fn route_count(&self, route: &str) -> u64 {
        self.routes.get(route).copied().unwrap_or(0)
    }

    /// Requests over all routes.
    pub fn total(&self) -> u64 {
        self.routes.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_names_line_up() {
        let c = Counters::default();
        for (route, name) in [
            (Route::AddUsers, "add_users"),
            (Route::DeleteUsers, "delete_users"),
            (Route::DeviceRegistrationLink, "device_registration_link"),
            (Route::SendRegistrationSms, "send_registration_sms"),
            (
                Route::HasRegisteredMobileDevice,
                "has_registered_mobile_device",
            ),
            (Route::LostUserMobileDevice, "lost_user_mobile_device"),
            (Route::AuthenticateUser, "authenticate_user"),
            (Route::Status, "status"),
            (Route::Logout, "logout"),
        ] {
            c.hit(route);
            assert_eq!(c.snapshot().route_count(name), 1, "{name}");
        }
        assert_eq!(c.snapshot().total(), 9);
        c.reset();
        assert_eq!(c.snapshot().total(), 0);
    }
}

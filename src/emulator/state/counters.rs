//! Per-route request counters of the wire API, read by tests and benchmarks.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::emulator::types::{ROUTES, Stats};

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

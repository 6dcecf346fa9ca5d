//! The live state of a deployment, made once from its [`Settings`](crate::core::settings):
//! the status validator (coalesced calls, caches), the login rate limits, the pending logins
//! and the event streams' tickers. Settings never change; this does, request by request.

use crate::core::live::LiveHub;
use crate::core::log::OutageLog;
use crate::core::login::pending::PendingLogins;
use crate::core::security::rate_limit::LoginLimits;
use crate::core::settings::Settings;
use crate::core::validate::Validator;

/// What changes while the application runs, shared by every worker.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) validator: Validator,
    pub(crate) limits: LoginLimits,
    /// The application's first-factor attempts (passwords).
    pub(crate) first_factor: LoginLimits,
    pub(crate) pending: PendingLogins,
    pub(crate) live: LiveHub,
    /// IAMPASS outages, logged once and summed up (not once per refused request).
    pub(crate) outage: OutageLog,
}

impl State {
    /// Fresh state for `settings` (empty caches, full allowances).
    pub(crate) fn new(settings: &Settings) -> Self {
        State {
            validator: Validator::new(
                settings.revalidate.ttl(),
                settings.fail_mode.stale_grace(),
                settings.store.clone(),
            ),
            limits: LoginLimits::new(
                settings.per_user,
                settings.per_address,
                settings.store.clone(),
            ),
            first_factor: LoginLimits::new(
                settings.first_factor.0,
                settings.first_factor.1,
                settings.store.clone(),
            )
            .scoped("first-factor"),
            pending: PendingLogins::new(),
            live: LiveHub::default(),
            outage: OutageLog::default(),
        }
    }
}

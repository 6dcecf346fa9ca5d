//! Settings: [`IampassBuilder`] (and [`Iampass::from_env`](crate::core::Iampass::from_env))
//! checked once by `build()` into [`Settings`], which never change afterwards. The live state
//! (caches, limits, pending logins, streams) is made from them apart, in
//! [`state`](crate::core::state).
//!
//! - `builder`: the knobs; `build`: the checks of `build()`;
//! - [`defaults`]: the default of every knob;
//! - `policy`: [`FailMode`], [`WalkawayPolicy`], [`Revalidate`];
//! - `login`, `events`, `branding`: the knobs of the login handlers, the event stream and
//!   the pages;
//! - `env`: the environment variable names and `from_env`.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use self::defaults::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_DECOY_DELAY, DEFAULT_EVENTS_HEARTBEAT, DEFAULT_EVENTS_INTERVAL,
    DEFAULT_EVENTS_PER_ADDRESS, DEFAULT_EVENTS_PER_SESSION, DEFAULT_POLLS_PER_ADDRESS,
    DEFAULT_POLLS_PER_LOGIN, DEFAULT_STEP_UP_WINDOW,
};

use crate::AuthenticationMethod;
use crate::core::cookie::CookieCodec;
use crate::core::security::client_addr::TrustedProxies;
use crate::core::store::Store;
use crate::core::validate::Policy;
use crate::{AuthenticationApi, Error};

mod branding;
mod build;
mod builder;
pub mod defaults;
pub mod env;
mod events;
mod login;
mod policy;
mod step_up;

pub(crate) use branding::Branding;
pub use branding::{ColorScheme, Page};
pub use builder::IampassBuilder;
pub use policy::{FailMode, Revalidate, WalkawayPolicy};

/// The configured user resolver: typed user name → IAMPASS user id.
pub(crate) type Resolver =
    Arc<dyn Fn(String) -> BoxFuture<'static, Result<String, Error>> + Send + Sync + 'static>;

/// The settings of one deployment, checked by [`IampassBuilder::build`]; read-only after.
pub(crate) struct Settings {
    pub(crate) api: AuthenticationApi,
    pub(crate) codec: CookieCodec,
    /// The codec of the short-lived cookie of a step-up in progress (its own name).
    pub(crate) step_up_codec: CookieCodec,
    pub(crate) revalidate: Revalidate,
    pub(crate) fail_mode: FailMode,
    pub(crate) walkaway: WalkawayPolicy,
    pub(crate) routes_prefix: String,
    pub(crate) login_path: String,
    pub(crate) after_logout_path: String,
    pub(crate) session_max_age: Duration,
    pub(crate) per_user: Option<crate::core::store::Rate>,
    pub(crate) per_address: Option<crate::core::store::Rate>,
    /// The first-factor limits: per user name, per client address.
    pub(crate) first_factor: (
        Option<crate::core::store::Rate>,
        Option<crate::core::store::Rate>,
    ),
    pub(crate) resolver: Resolver,
    pub(crate) login: LoginSettings,
    pub(crate) events: EventsSettings,
    pub(crate) store: Store,
    pub(crate) branding: Branding,
    #[cfg_attr(not(feature = "actix"), allow(dead_code))]
    pub(crate) extensions: Extensions,
}

impl Settings {
    /// What a status answer means for this deployment.
    pub(crate) fn policy(&self) -> Policy {
        Policy {
            end_on_walkaway: self.walkaway == WalkawayPolicy::EndSession,
            stale_grace: self.fail_mode.stale_grace(),
        }
    }

    /// The IAMPASS user id for a typed user name (the configured resolver).
    pub(crate) fn resolve_user(&self, user: String) -> BoxFuture<'static, Result<String, Error>> {
        (self.resolver)(user)
    }
}

/// What the login handlers read from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct LoginSettings {
    /// Sent with every login; empty: IAMPASS chooses.
    pub(crate) methods: Vec<AuthenticationMethod>,
    /// Methods a browser's `"methods"` may choose among; empty: the browser's choice is ignored.
    pub(crate) browser_methods: Vec<AuthenticationMethod>,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) polls_per_login: usize,
    pub(crate) polls_per_address: usize,
    pub(crate) body_timeout: Duration,
    pub(crate) security_headers: bool,
    /// Whether `POST {prefix}/login` may start a login from a user name alone.
    pub(crate) public_login: bool,
    /// How long a public-mode decoy stays pending: a random time in this range.
    pub(crate) decoy_delay: (Duration, Duration),
    /// The default requirement of a recent approval (step-up).
    pub(crate) step_up: StepUpSettings,
}

/// The default requirement of a recent approval: how long an approval counts as fresh, and
/// the methods it must have asked for (also the methods a step-up asks for by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StepUpSettings {
    pub(crate) window: Duration,
    pub(crate) methods: Vec<AuthenticationMethod>,
}

impl Default for StepUpSettings {
    fn default() -> Self {
        StepUpSettings {
            window: DEFAULT_STEP_UP_WINDOW,
            methods: Vec::new(),
        }
    }
}

impl Default for LoginSettings {
    fn default() -> Self {
        LoginSettings {
            methods: Vec::new(),
            browser_methods: Vec::new(),
            trusted_proxies: TrustedProxies::none(),
            polls_per_login: DEFAULT_POLLS_PER_LOGIN,
            polls_per_address: DEFAULT_POLLS_PER_ADDRESS,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            security_headers: true,
            public_login: true,
            decoy_delay: DEFAULT_DECOY_DELAY,
            step_up: StepUpSettings::default(),
        }
    }
}

impl LoginSettings {
    /// The methods to ask IAMPASS for, given what the browser asked for: the browser's
    /// choice only when every method in it is allowed, else the application's.
    pub(crate) fn methods_for(
        &self,
        requested: &[AuthenticationMethod],
    ) -> Vec<AuthenticationMethod> {
        if !requested.is_empty() && requested.iter().all(|m| self.browser_methods.contains(m)) {
            requested.to_vec()
        } else {
            if !requested.is_empty() {
                tracing::debug!(
                    ?requested,
                    "authentication methods from the browser ignored (not allowed by the policy)"
                );
            }
            self.methods.clone()
        }
    }
}

/// The event stream's knobs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventsSettings {
    pub(crate) interval: Duration,
    pub(crate) heartbeat: Duration,
    pub(crate) per_session: usize,
    pub(crate) per_address: usize,
}

impl Default for EventsSettings {
    fn default() -> Self {
        EventsSettings {
            interval: DEFAULT_EVENTS_INTERVAL,
            heartbeat: DEFAULT_EVENTS_HEARTBEAT,
            per_session: DEFAULT_EVENTS_PER_SESSION,
            per_address: DEFAULT_EVENTS_PER_ADDRESS,
        }
    }
}

/// Settings that only one adapter reads (e.g. actix's unauthenticated responder, which takes
/// actix types): kept by type, so the core needs to know none of them.
#[derive(Clone, Default)]
#[cfg_attr(not(feature = "actix"), allow(dead_code))]
pub(crate) struct Extensions(Vec<Arc<dyn Any + Send + Sync>>);

#[cfg_attr(not(feature = "actix"), allow(dead_code))]
impl Extensions {
    /// Keeps `value`, replacing one of the same type.
    pub(crate) fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        self.0.retain(|v| !v.is::<T>());
        self.0.push(Arc::new(value));
    }

    /// The value of type `T`, if one was kept.
    pub(crate) fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.iter().find_map(|v| v.downcast_ref::<T>())
    }
}

//! The defaults of every knob (with the reasons in the crate docs, "How the defaults were
//! chosen") and the fixed limits of the integration.

use std::time::Duration;

use crate::core::store::Rate;

pub use crate::core::cookie::MAX_SET_COOKIE_LEN;
pub use crate::core::login::{MAX_POLL_WAIT, MAX_USER_LEN};

/// Minimum cookie key length in bytes (the cookie crate derives its AES-256 key from it).
///
/// ```
/// assert!(iampass::core::Iampass::builder("a", "s").cookie_key(&[1; iampass::core::defaults::MIN_KEY_LEN - 1]).build().is_err());
/// ```
pub const MIN_KEY_LEN: usize = 64;
/// Default cookie name (`__Host-iampass` with [`IampassBuilder::cookie_host_prefix`](crate::core::IampassBuilder::cookie_host_prefix)).
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_COOKIE_NAME, "iampass");
/// ```
pub const DEFAULT_COOKIE_NAME: &str = "iampass";
/// Time allowed for one IAMPASS call by the client the builder makes from credentials (a
/// client given to [`IampassBuilder::client`](crate::core::IampassBuilder::client) keeps its own).
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_REQUEST_TIMEOUT.as_secs(), 5);
/// ```
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Default absolute lifetime of a login (also sent to IAMPASS as `duration_seconds`).
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_SESSION_MAX_AGE.as_secs(), 3600);
/// ```
pub const DEFAULT_SESSION_MAX_AGE: Duration = Duration::from_secs(3600);
/// Default prefix of the login routes (see [`IampassBuilder::routes_prefix`](crate::core::IampassBuilder::routes_prefix)).
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_ROUTES_PREFIX, "/auth");
/// ```
pub const DEFAULT_ROUTES_PREFIX: &str = "/auth";
/// Default login path: `{DEFAULT_ROUTES_PREFIX}/login`.
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_LOGIN_PATH, "/auth/login");
/// ```
pub const DEFAULT_LOGIN_PATH: &str = "/auth/login";
/// Default login starts per IAMPASS user: 5 per minute.
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_RATE_PER_USER, iampass::core::store::Rate::per_minute(5));
/// ```
pub const DEFAULT_RATE_PER_USER: Rate = Rate::per_minute(5);
/// Default first-factor attempts (e.g. passwords, through
/// [`Iampass::limit_first_factor`](crate::core::Iampass::limit_first_factor)) per user name:
/// 10 per minute.
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_FIRST_FACTOR_PER_USER, iampass::core::store::Rate::per_minute(10));
/// ```
pub const DEFAULT_FIRST_FACTOR_PER_USER: Rate = Rate::per_minute(10);
/// Default first-factor attempts per client address: 30 per minute.
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_FIRST_FACTOR_PER_ADDRESS, iampass::core::store::Rate::per_minute(30));
/// ```
pub const DEFAULT_FIRST_FACTOR_PER_ADDRESS: Rate = Rate::per_minute(30);
/// Default login starts per client address: 20 per minute.
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_RATE_PER_ADDRESS, iampass::core::store::Rate::per_minute(20));
/// ```
pub const DEFAULT_RATE_PER_ADDRESS: Rate = Rate::per_minute(20);
/// Default interval between a session's status checks for `GET {prefix}/events` (shared by
/// every stream of the session).
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_EVENTS_INTERVAL.as_secs(), 2);
/// ```
pub const DEFAULT_EVENTS_INTERVAL: Duration = Duration::from_secs(2);
/// Default interval between heartbeats on an event stream (keeps proxies from closing it).
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_EVENTS_HEARTBEAT.as_secs(), 15);
/// ```
pub const DEFAULT_EVENTS_HEARTBEAT: Duration = Duration::from_secs(15);
/// Default cap on concurrent event streams of one session (tabs).
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_EVENTS_PER_SESSION, 8);
/// ```
pub const DEFAULT_EVENTS_PER_SESSION: usize = 8;
/// Default cap on concurrent event streams from one client address.
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_EVENTS_PER_ADDRESS, 64);
/// ```
pub const DEFAULT_EVENTS_PER_ADDRESS: usize = 64;
/// Default cap on concurrent polls of one pending login.
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_POLLS_PER_LOGIN, 4);
/// ```
pub const DEFAULT_POLLS_PER_LOGIN: usize = 4;
/// Default cap on concurrent polls from one client address.
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_POLLS_PER_ADDRESS, 32);
/// ```
pub const DEFAULT_POLLS_PER_ADDRESS: usize = 32;
/// Default time allowed to send a login or logout request body.
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_BODY_TIMEOUT.as_secs(), 5);
/// ```
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// Default range of how long a public-mode decoy login stays pending before it fails (see
/// [`IampassBuilder::public_login_decoy_delay`](crate::core::IampassBuilder::public_login_decoy_delay)).
///
/// ```
/// let (min, max) = iampass::core::defaults::DEFAULT_DECOY_DELAY;
/// assert_eq!((min.as_secs(), max.as_secs()), (6, 40));
/// ```
pub const DEFAULT_DECOY_DELAY: (Duration, Duration) =
    (Duration::from_secs(6), Duration::from_secs(40));
/// Default window of a recent approval (a step-up): how long a phone approval counts as
/// fresh for [`IampassBuilder::step_up_window`](crate::core::IampassBuilder::step_up_window).
///
/// ```
/// assert_eq!(iampass::core::defaults::DEFAULT_STEP_UP_WINDOW.as_secs(), 300);
/// ```
pub const DEFAULT_STEP_UP_WINDOW: Duration = Duration::from_secs(300);

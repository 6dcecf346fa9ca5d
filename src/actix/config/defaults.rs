//! The defaults of every knob, with the reasons in the crate docs ("How the defaults were
//! chosen").

use std::time::Duration;

use crate::store::Rate;

/// Minimum cookie key length in bytes (the cookie crate derives its AES-256 key from it).
///
/// ```
/// assert!(iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; iampass::actix::MIN_KEY_LEN - 1]).build().is_err());
/// ```
pub const MIN_KEY_LEN: usize = 64;
/// Default cookie name (`__Host-iampass` with [`IampassBuilder::cookie_host_prefix`](super::IampassBuilder::cookie_host_prefix)).
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_COOKIE_NAME, "iampass");
/// ```
pub const DEFAULT_COOKIE_NAME: &str = "iampass";
/// Time allowed for one IAMPASS call by the client the builder makes from credentials (a
/// client given to [`IampassBuilder::client`](super::IampassBuilder::client) keeps its own).
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_REQUEST_TIMEOUT.as_secs(), 5);
/// ```
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Default absolute lifetime of a login (also sent to IAMPASS as `duration_seconds`).
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_SESSION_MAX_AGE.as_secs(), 3600);
/// ```
pub const DEFAULT_SESSION_MAX_AGE: Duration = Duration::from_secs(3600);
/// Default prefix of the login routes (see [`IampassBuilder::routes_prefix`](super::IampassBuilder::routes_prefix)).
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_ROUTES_PREFIX, "/auth");
/// ```
pub const DEFAULT_ROUTES_PREFIX: &str = "/auth";
/// Default login path: `{DEFAULT_ROUTES_PREFIX}/login`.
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_LOGIN_PATH, "/auth/login");
/// ```
pub const DEFAULT_LOGIN_PATH: &str = "/auth/login";
/// Default login starts per IAMPASS user: 5 per minute.
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_RATE_PER_USER, iampass::actix::Rate::per_minute(5));
/// ```
pub const DEFAULT_RATE_PER_USER: Rate = Rate::per_minute(5);
/// Default login starts per client address: 20 per minute.
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_RATE_PER_ADDRESS, iampass::actix::Rate::per_minute(20));
/// ```
pub const DEFAULT_RATE_PER_ADDRESS: Rate = Rate::per_minute(20);
/// Default interval between a session's status checks for `GET {prefix}/events` (shared by
/// every stream of the session).
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_EVENTS_INTERVAL.as_secs(), 2);
/// ```
pub const DEFAULT_EVENTS_INTERVAL: Duration = Duration::from_secs(2);
/// Default interval between heartbeats on an event stream (keeps proxies from closing it).
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_EVENTS_HEARTBEAT.as_secs(), 15);
/// ```
pub const DEFAULT_EVENTS_HEARTBEAT: Duration = Duration::from_secs(15);
/// Default cap on concurrent event streams of one session (tabs).
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_EVENTS_PER_SESSION, 8);
/// ```
pub const DEFAULT_EVENTS_PER_SESSION: usize = 8;
/// Default cap on concurrent event streams from one client address.
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_EVENTS_PER_ADDRESS, 64);
/// ```
pub const DEFAULT_EVENTS_PER_ADDRESS: usize = 64;

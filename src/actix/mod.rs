//! The actix-web integration (feature `actix`, on by default): a middleware that keeps the
//! IAMPASS [`Session`](crate::Session) in an encrypted, authenticated cookie and re-validates
//! it against IAMPASS, the [`IampassIdentity`] and [`RequireIampass`] extractors (and
//! [`IampassExt`]), a scope guard, and ready login / poll / logout handlers with a login page.
//!
//! ```no_run
//! use std::time::Duration;
//! use actix_web::{App, HttpServer, web};
//! use iampass::actix::{FailMode, Iampass, IampassIdentity, RequireIampass, Revalidate, WalkawayPolicy};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let key = [42u8; 64]; // in real life: 64 random bytes from configuration
//!     let iampass = Iampass::builder("app-id", "app-secret")
//!         .server("http://127.0.0.1:8765")
//!         .cookie_key(&key)
//!         .cookie_secure(false) // plain-HTTP development only
//!         .revalidate(Revalidate::After(Duration::from_secs(5)))
//!         .fail_mode(FailMode::StaleIfError(Duration::from_secs(30)))
//!         .walkaway_policy(WalkawayPolicy::Deny)
//!         .build()
//!         .expect("IAMPASS configuration");
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(iampass.middleware())
//!             .configure(iampass.routes()) // under /auth: see IampassBuilder::routes_prefix
//!             .route("/dashboard", web::get().to(|who: RequireIampass| async move {
//!                 format!("hi {}", who.user())
//!             }))
//!             .route("/", web::get().to(|who: Option<IampassIdentity>| async move {
//!                 who.map_or("welcome; sign in at /auth/login".to_owned(), |w| format!("hello {}", w.user()))
//!             }))
//!             .service(web::scope("/admin").wrap(iampass.require())
//!                 .route("", web::get().to(|| async { "admin area" })))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! ## How a request is judged
//! The first time the request's identity is needed, by an extractor or the scope guard, the
//! middleware opens the cookie (a tampered, truncated, foreign-key, other deployment's,
//! oversized, expired or garbage cookie is anonymous and removed, never a `5xx`; so is one
//! whose IAMPASS URLs are not on the configured server, which is never called) and asks
//! IAMPASS for the session's status, sharing one in-flight call among concurrent requests of
//! the same session (and, with [`Revalidate::After`], reusing an answer for a while).
//! Routes that never ask (public pages, static files) cost no decryption and no IAMPASS call.
//!
//! | IAMPASS says | request | cookie |
//! | --- | --- | --- |
//! | `active` | [`IampassIdentity`] | kept (re-sealed if an old key opened it) |
//! | `walkaway` | anonymous | kept ([`WalkawayPolicy::Deny`]) or removed ([`WalkawayPolicy::EndSession`]) |
//! | `closed`, `failed`, `timeout`, `cancelled`, unknown session | anonymous | removed |
//! | unreachable / timeout / 5xx | [`FailMode::Closed`]: `503`; [`FailMode::StaleIfError`]: last good `active` within the grace | kept |
//!
//! Pending-login cookies are never identities; only the poll handler and the wait page use
//! them. `Option<IampassIdentity>` is `None` for anonymous requests and while IAMPASS is
//! unavailable; `Result<IampassIdentity, Denial>` says which.
//!
//! ## Security defaults
//! Cookie `HttpOnly`, `Secure` (off only through [`IampassBuilder::cookie_secure`]),
//! `SameSite=Lax`, `Path=/`, optional `__Host-` prefix, under 4 KiB, AES-256-GCM with a key
//! ring, each key bound to this application id and IAMPASS server (HKDF), so deployments that
//! share a key do not accept each other's cookies; `next` limited to same-site paths; cross-site `POST`s to the login and logout
//! handlers refused with `403` (`Sec-Fetch-Site`, `Origin`); login starts rate-limited per
//! user and per client address (`429` + `Retry-After`).
//!
//! ## Modules
//! `config` (builder, policies, defaults, environment) · `context` (the one reader of the
//! cookie) · `validate` (shared IAMPASS calls, the verdict) · `identity` · `extract` ·
//! `denial` · `respond` (every answer) · `middleware` · `handlers` · `security` · `pages` ·
//! `cookie`.

mod config;
mod context;
mod cookie;
mod denial;
mod extract;
mod handlers;
mod identity;
mod live;
mod middleware;
mod pages;
mod pending;
mod presence;
mod respond;
mod security;
mod validate;

pub use config::{
    APPLICATION_ID_ENV, APPLICATION_SECRET_ENV, COOKIE_KEY_ENV, COOKIE_OLD_KEYS_ENV, ColorScheme,
    DEFAULT_BODY_TIMEOUT, DEFAULT_COOKIE_NAME, DEFAULT_DECOY_DELAY, DEFAULT_EVENTS_HEARTBEAT,
    DEFAULT_EVENTS_INTERVAL, DEFAULT_EVENTS_PER_ADDRESS, DEFAULT_EVENTS_PER_SESSION,
    DEFAULT_LOGIN_PATH, DEFAULT_POLLS_PER_ADDRESS, DEFAULT_POLLS_PER_LOGIN,
    DEFAULT_RATE_PER_ADDRESS, DEFAULT_RATE_PER_USER, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_ROUTES_PREFIX, DEFAULT_SESSION_MAX_AGE, FailMode, Iampass, IampassBuilder, MIN_KEY_LEN,
    Page, Revalidate, WalkawayPolicy,
};
pub use cookie::{CookieState, MAX_SET_COOKIE_LEN, SessionCookie};
pub use denial::{Denial, Rejection};
pub use extract::{IampassExt, RequireIampass};
pub use handlers::{LoginError, LoginStarted, MAX_POLL_WAIT, MAX_USER_LEN, SecondFactor};
pub use identity::IampassIdentity;
pub use middleware::require::{RequireIampassMiddleware, RequireIampassService};
pub use middleware::session::{IampassMiddleware, IampassMiddlewareService};
pub use presence::Presence;
pub use respond::accepts_html;
pub use security::client_addr::TrustedProxies;
pub use security::origin::is_same_origin;
pub use security::rate_limit::Rate;
pub use security::redirect::is_safe_redirect;

//! The actix-web integration (feature `actix`): a middleware that keeps the IAMPASS
//! [`Session`](crate::Session) in an encrypted, authenticated cookie and re-validates it
//! against IAMPASS, the [`RequireIampass`] and [`IampassIdentity`] extractors, a scope guard,
//! and ready login / poll / logout handlers with a login page.
//!
//! ```no_run
//! use std::time::Duration;
//! use actix_web::{App, HttpServer, web};
//! use iampass::actix::{FailMode, Iampass, IampassIdentity, RequireIampass, WalkawayPolicy};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let key = [42u8; 64]; // in real life: 64 random bytes from configuration
//!     let iampass = Iampass::builder("app-id", "app-secret")
//!         .server("http://127.0.0.1:8765")
//!         .cookie_key(&key)
//!         .secure_cookie(false) // plain-HTTP development only
//!         .revalidate_after(Duration::from_secs(5))
//!         .fail_mode(FailMode::StaleIfError(Duration::from_secs(30)))
//!         .walkaway_policy(WalkawayPolicy::Deny)
//!         .build()
//!         .expect("IAMPASS configuration");
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(iampass.middleware())
//!             .configure(iampass.routes("/auth"))
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
//! The middleware opens the cookie once per request (a tampered, truncated, foreign-key,
//! oversized, expired or garbage cookie is anonymous and removed, never a `5xx`). The first
//! time the request's identity is needed, by an extractor or the scope guard, it asks
//! IAMPASS for the session's status, sharing one in-flight call among concurrent requests of
//! the same session (and, with [`IampassBuilder::revalidate_after`], reusing an answer for a
//! while). Routes that never ask (public pages, static files) cost no IAMPASS call.
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
//! unavailable.
//!
//! ## Security defaults
//! Cookie `HttpOnly`, `Secure` (off only through [`IampassBuilder::secure_cookie`]),
//! `SameSite=Lax`, `Path=/`, optional `__Host-` prefix, under 4 KiB, AES-256-GCM with a key
//! ring; `next` limited to same-site paths; cross-site `POST`s to the login and logout
//! handlers refused with `403` (`Sec-Fetch-Site`, `Origin`); login starts rate-limited per
//! user and per client address (`429` + `Retry-After`).

mod client_addr;
mod config;
mod cookie;
mod handlers;
mod identity;
mod login_page;
mod middleware;
mod origin;
mod rate_limit;
mod redirect;
mod validator;

pub use client_addr::TrustedProxies;
pub use config::{
    APPLICATION_ID_ENV, APPLICATION_SECRET_ENV, COOKIE_KEY_ENV, COOKIE_OLD_KEYS_ENV,
    DEFAULT_COOKIE_NAME, DEFAULT_LOGIN_PATH, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SESSION_MAX_AGE,
    FailMode, Iampass, IampassBuilder, MIN_KEY_LEN, WalkawayPolicy,
};
pub use cookie::{CookieState, MAX_SET_COOKIE_LEN, SessionCookie};
pub use handlers::{MAX_POLL_WAIT, MAX_USER_LEN};
pub use identity::{
    Denial, IampassIdentity, RequireIampass, RequireIampassMiddleware, RequireIampassService,
    accepts_html,
};
pub use middleware::{IampassMiddleware, IampassMiddlewareService};
pub use origin::is_same_origin;
pub use redirect::is_safe_redirect;

//! The actix-web integration (feature `actix`, on by default): a middleware that keeps the
//! IAMPASS [`Session`](crate::Session) in an encrypted, authenticated cookie and re-validates
//! it against IAMPASS, the [`IampassIdentity`] and [`RequireIampass`] extractors (and
//! [`Presence`]), a scope guard, and ready login / poll / logout handlers with a login page.
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
//! ## No enumeration in the public mode
//! With [`IampassBuilder::public_login`] on (the default), `POST {prefix}/login` answers an
//! unknown user name and a user without a phone exactly as a real one (`202` + `poll_url`, or
//! `303` to the wait page, with a sealed pending cookie): a *decoy*, which the poll reports
//! `pending` for a random while ([`IampassBuilder::public_login_decoy_delay`]) without asking
//! IAMPASS, then ends as `{"status": "failed", "reason": "not_approved", "message": "Sign-in
//! was not approved."}`, the one answer every unsuccessful end gets in that mode. Decoys count
//! against the rate limits. [`Iampass::start_login`] (the application-driven mode) keeps the
//! precise reasons, and with `public_login(false)` the poll reports the precise status.
//!
//! ## Branding, or no crate pages at all
//! The login and wait pages take the application's name, a link home, CSS custom properties
//! and a colour scheme ([`IampassBuilder::app_name`], [`IampassBuilder::home_link`],
//! [`IampassBuilder::page_style`], [`IampassBuilder::color_scheme`]), or are replaced by the
//! application's own HTML ([`IampassBuilder::page_renderer`]).
//!
//! A single-page app needs none of them: every handler answers JSON when the request asks for
//! it (`Accept: application/json`, which wins even over a form body) or neither accepts HTML
//! nor posts a form (`Content-Type: application/json`).
//!
//! 1. start: `POST {prefix}/login` with `{"user": "…", "next": "/app"}` (public mode), or the
//!    application's own endpoint calling [`Iampass::start_login`] after its first factor →
//!    `202 {"status": "pending", "poll_url": "{prefix}/poll"}` and the pending cookie (send
//!    requests with `credentials: "same-origin"`);
//! 2. poll: `GET {prefix}/poll?wait=20` (long-poll) until `{"status": "active", "redirect"}`
//!    (the session cookie is now set) or a failure with `reason` and `message`;
//! 3. while signed in: `GET {prefix}/events` (Server-Sent Events) for walkaway and close, and
//!    the application's API answers `401`/`503` JSON ([`Denial`]) when the session is gone;
//! 4. logout: `POST {prefix}/logout` → `{"status": "closed"}`.
//!
//! Point [`IampassBuilder::login_path`] at the SPA's own route so HTML navigations without a
//! session land there rather than on the crate's page.
//!
//! ## IAMPASS as the second factor
//! After the application's own first factor (a password, SSO), its handler starts the phone
//! approval with [`Iampass::start_login`] and answers what the crate's `POST {prefix}/login`
//! would (`202` + `poll_url` for a `fetch`, `303` to the wait page for a form). Take an
//! attempt with [`Iampass::limit_first_factor`] *before* checking the password, so that
//! guessing is limited whether it succeeds or not; end a session with [`Iampass::logout`].
//!
//! ```no_run
//! use actix_web::{HttpRequest, HttpResponse, Responder, web};
//! use iampass::actix::{Iampass, SecondFactor};
//!
//! #[derive(serde::Deserialize)]
//! struct SignIn { user: String, password: String }
//!
//! fn password_ok(_user: &str, _password: &str) -> bool { true } // the application's check
//!
//! async fn sign_in(req: HttpRequest, form: web::Form<SignIn>, iampass: web::Data<Iampass>) -> HttpResponse {
//!     if let Err(limited) = iampass.limit_first_factor(&req, &form.user).await {
//!         return HttpResponse::TooManyRequests().body(limited.message().to_owned());
//!     }
//!     if !password_ok(&form.user, &form.password) {
//!         return HttpResponse::Unauthorized().body("wrong user name or password");
//!     }
//!     match iampass.start_login(&req, SecondFactor::new(&form.user).next("/dashboard")).await {
//!         Ok(started) => started.into_http_response(), // the phone rings; the wait page polls
//!         Err(e) => HttpResponse::ServiceUnavailable().body(e.message().to_owned()),
//!     }
//! }
//!
//! async fn sign_out(req: HttpRequest, iampass: web::Data<Iampass>) -> impl Responder {
//!     iampass.logout(&req).await // 303 to the after-logout path, or JSON
//! }
//! # let _ = (sign_in, sign_out);
//! ```
//!
//! ## Asking for the identity: three ways
//! - [`RequireIampass`]: the handler runs only for a signed-in user; everyone else gets the
//!   default (or the configured) answer. Use it for pages and API routes that need a user;
//!   [`Iampass::require`] does the same for a whole scope.
//! - [`IampassIdentity`] as `Option<IampassIdentity>` (never refuses) or
//!   `Result<IampassIdentity, Denial>` (the handler sees why): for pages that serve everyone
//!   and differ for a signed-in user.
//! - [`Presence`]: signed in, away (the phone walked away), IAMPASS unavailable, or
//!   anonymous: for pages that say "locked: your phone is away" rather than treating the
//!   user as a stranger.
//!
//! Outside a handler (a custom middleware or guard), any of them can be extracted from a
//! request with actix's `FromRequest::extract(&req)`.
//!
//! ## Layout
//! This module is the actix-web adapter over the framework-free [`core`](crate::core): the
//! middleware (`middleware`: the `Transform` and its hidden service), the scope guard, the
//! extractors (`extract`), the routes (`routes`), the application's unauthenticated responder
//! (`responder`), and the conversions of the core's request and answer types (`request`,
//! `response`). Settings, defaults ([`defaults`]) and everything else live in the core and
//! are the same for every adapter.

mod extract;
mod middleware;
mod request;
mod responder;
mod response;
mod routes;

pub use crate::core::{
    ColorScheme, CookieState, Denial, Factors, FailMode, ForwardedHeader, Iampass, IampassBuilder,
    IampassIdentity, LoginError, LoginStarted, Page, Presence, RecentApproval, Revalidate,
    SecondFactor, SessionCookie, TrustedProxies, WalkawayPolicy, defaults, env,
};
pub use extract::{Rejection, RequireIampass};
pub use middleware::recent::RequireRecentMiddleware;
pub use middleware::require::RequireIampassMiddleware;
pub use middleware::session::IampassMiddleware;

//! # iampass
//!
//! [IAMPASS](https://iampass.com) multifactor identity and presence verification for Rust
//! and actix-web: a user signs in by approving a request on their phone, and the session
//! stays valid only while IAMPASS says so (a remote logout, or the phone walking away, ends
//! it on the next request).
//!
//! ## In an actix-web app
//!
//! [`actix::Iampass`] makes a middleware that keeps the IAMPASS session in an encrypted
//! cookie and re-validates it, extractors ([`actix::IampassIdentity`],
//! [`actix::RequireIampass`]), a scope guard, and ready login / poll / logout handlers with a
//! login page:
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use iampass::actix::{Iampass, IampassIdentity, RequireIampass};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     // IAMPASS_APPLICATION_ID, IAMPASS_APPLICATION_SECRET, IAMPASS_COOKIE_KEY (base64, >= 64 bytes)
//!     let iampass = Iampass::from_env().and_then(|b| b.build()).expect("IAMPASS configuration");
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(iampass.middleware())
//!             .configure(iampass.routes()) // /auth/login, /auth/poll, /auth/logout
//!             .route("/", web::get().to(|who: Option<IampassIdentity>| async move {
//!                 who.map_or("hello, stranger".to_owned(), |w| format!("hello {}", w.user()))
//!             }))
//!             .route("/dashboard", web::get().to(|who: RequireIampass| async move {
//!                 format!("signed in as {}", who.user())
//!             }))
//!             .service(web::scope("/admin").wrap(iampass.require())
//!                 .route("", web::get().to(|| async { "admin" })))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! See [`actix`] for how a request is judged and [`actix::IampassBuilder`] for every knob.
//!
//! ## The client alone
//!
//! - [`ManagementApi`], [`AuthenticationApi`] and [`Session`]: an async client with the
//!   reference Python client's semantics, typed errors, timeouts and redacted secrets.
//! - [`signing`]: the request-signing scheme, shared by the client and the emulator.
//!
//! ```no_run
//! # async fn run() -> Result<(), iampass::Error> {
//! use iampass::{AuthenticationApi, ManagementApi};
//!
//! // IAMPASS_SERVER may point at an emulator; the default is https://iam-api.com.
//! let management = ManagementApi::new("app-id", "app-secret")?;
//! management.add_user("alice").await?;
//! println!("register alice's phone: {}", management.get_registration_link("alice", None).await?);
//!
//! let auth = AuthenticationApi::new("app-id", "app-secret")?;
//! let mut session = auth.authenticate_user("alice").await?;
//! while session.in_progress() {
//!     tokio::time::sleep(std::time::Duration::from_secs(1)).await;
//!     session.get_status().await?; // an outage is an Err, never "failed"
//! }
//! if session.active() {
//!     println!("alice is signed in; session JSON: {}", session.to_json());
//! }
//! # Ok(()) }
//! ```
//!
//! ## Feature flags
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `actix` | yes | the actix-web adapter ([`actix`]): middleware, scope guard, extractors and login routes (enables `core`) |
//! | `core` | with `actix` | the framework-free core ([`core`]): settings, cookie, validator, login state machine, pages, store |
//! | `redis` | no | the [`Store`](core::store::Store) in Redis, for several instances (enables `core`) |
//! | `emulator` | no | an IAMPASS-compatible server with a simulated phone (`emulator` module and the `iampass-emulator` binary), for tests and demos |
//! | `cli` | no | the `iampass` command-line tool (users, phones, logins) |
//! | `metrics` | no | counters, gauges and a histogram through the `metrics` facade: sign-ins, verdicts, IAMPASS calls, the breaker, the status cache, Redis errors, open streams (see [`metrics`] for the table of names and what to alert on) |
//!
//! The client ([`ManagementApi`], [`AuthenticationApi`], [`Session`], [`signing`]) is always
//! there; `default-features = false` gives the client alone.
//!
//! ## Layout
//! One framework-free [`core`] (it imports no web framework), and adapters over it:
//! [`actix`] implements the core's [`RequestHead`](core::RequestHead) for actix-web's request,
//! writes its [`Reply`](core::Reply) as a response, and adds the middleware, the extractors and
//! the routes. The client ([`client`]) is below both.
//!
//! ## How the defaults were chosen
//!
//! - **Re-validate on every request** ([`Revalidate::EveryRequest`](actix::Revalidate)):
//!   presence is the point of IAMPASS, so a walkaway or a remote logout takes effect on the
//!   next request. Concurrent requests of one session share one IAMPASS call; routes that
//!   never ask for the identity cost none. `Revalidate::After(d)` trades that for fewer calls.
//! - **Fail closed** ([`FailMode::Closed`](actix::FailMode)): when IAMPASS cannot be asked,
//!   requests that need an identity get `503`, never a stale "yes" nobody opted into, and
//!   never "signed out" (the cookie is kept). `StaleIfError(grace)` is the explicit opt-in.
//! - **Walkaway denies but keeps the login** ([`WalkawayPolicy::Deny`](actix::WalkawayPolicy)):
//!   the phone coming back restores access without signing in again.
//! - **5 s per IAMPASS call** ([`DEFAULT_REQUEST_TIMEOUT`](crate::core::defaults::DEFAULT_REQUEST_TIMEOUT))
//!   for the client an [`actix::Iampass`] builds from the credentials: a slow IAMPASS is an
//!   outage, and a request waiting longer than that helps nobody. A client built alone
//!   ([`ClientBuilder`]) waits 10 s ([`client::DEFAULT_TIMEOUT`]), for scripts and tools.
//! - **1 h absolute login lifetime** ([`DEFAULT_SESSION_MAX_AGE`](crate::core::defaults::DEFAULT_SESSION_MAX_AGE)),
//!   also asked of IAMPASS, and never extended by re-issuing the cookie.
//! - **Cookie `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`**, sealed with AES-256-GCM by a
//!   key of at least 64 bytes that must be given (no random per-process key that would sign
//!   everyone out on restart or differ between instances); `Lax` lets the login redirect
//!   back carry the cookie while cross-site `POST`s do not.
//! - **Login starts limited to 5 per user and 20 per address per minute**
//!   ([`DEFAULT_RATE_PER_USER`](crate::core::defaults::DEFAULT_RATE_PER_USER),
//!   [`DEFAULT_RATE_PER_ADDRESS`](crate::core::defaults::DEFAULT_RATE_PER_ADDRESS)): a person retries a few
//!   times; a push-bombing attacker is stopped early; an office behind one address still fits.
//! - **Routes under `/auth`** ([`DEFAULT_ROUTES_PREFIX`](crate::core::defaults::DEFAULT_ROUTES_PREFIX)), fixed
//!   when the configuration is built, so the login path the guard redirects to is known
//!   before any route is mounted.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;
pub mod client;
#[cfg(feature = "core")]
pub mod core;
#[cfg(feature = "emulator")]
pub mod emulator;
mod encoding;
mod error;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
#[cfg(not(feature = "metrics"))]
mod metrics;
mod secret;
mod session;
pub mod signing;
pub mod user_name;

pub use client::{
    AddUserResult, AddedUsers, AuthenticationApi, ClientBuilder, DeviceRegistration, ManagementApi,
};
pub use encoding::{quote_plus, unquote_plus};
pub use error::Error;
pub use secret::Secret;
pub use session::{AuthenticationMethod, Session, Status};

// The README's Rust programs are `examples/readme/*.rs`, built as examples; the `readme` test
// suite checks that the README shows them byte for byte.

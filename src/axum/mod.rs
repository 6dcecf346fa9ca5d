//! The axum adapter (feature `axum`): the same core as the actix adapter behind a
//! `tower::Layer` ([`IampassLayer`]), a guard for groups of routes ([`RequireIampassLayer`]),
//! extractors and the crate's login [`routes`]. Same builder, same settings, same cookie: a
//! cookie sealed by one adapter opens in the other, so an app can move between frameworks
//! without signing anyone out.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use iampass::axum::{IampassIdentity, IampassLayer, RequireIampass};
//! use iampass::core::Iampass;
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     // IAMPASS_APPLICATION_ID, IAMPASS_APPLICATION_SECRET, IAMPASS_COOKIE_KEY (base64, >= 64 bytes)
//!     let iampass = Iampass::from_env().and_then(|b| b.build()).expect("IAMPASS configuration");
//!     let app = Router::new()
//!         .route("/", get(|who: Option<IampassIdentity>| async move {
//!             who.map_or("hello, stranger".to_owned(), |w| format!("hello {}", w.user()))
//!         }))
//!         .route("/dashboard", get(|who: RequireIampass| async move {
//!             format!("signed in as {}", who.user()) // HTML clients without a session: 303 to /auth/login
//!         }))
//!         .merge(iampass::axum::routes(&iampass)) // /auth/login, /auth/poll, /auth/logout, ...
//!         .layer(IampassLayer::new(&iampass));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     // The client address (per-address limits, audit log) comes from ConnectInfo.
//!     axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
//! }
//! ```
//!
//! Asking for the identity: [`RequireIampass`] (the handler runs only for a signed-in user),
//! `Option<IampassIdentity>` (never refuses), [`Presence`] (signed in, away, unavailable or
//! anonymous). [`Iampass::start_login`](crate::core::Iampass::start_login) and
//! [`Iampass::logout`](crate::core::Iampass::logout) take axum's request `Parts`; their
//! answers are `IntoResponse`.

mod extract;
mod layer;
mod recent;
mod request;
mod responder;
mod response;
mod routes;

pub use crate::core::{
    Denial, Iampass, IampassBuilder, IampassIdentity, Presence, RecentApproval, SecondFactor,
};
pub use extract::{Rejection, RequireIampass};
pub use layer::{IampassLayer, IampassService, RequireIampassLayer, RequireIampassService};
pub use recent::RequireRecentLayer;
pub use routes::routes;

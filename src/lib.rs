//! # iampass
//!
//! [IAMPASS](https://iampass.com) multifactor identity and presence verification for Rust:
//! a user signs in by approving a request on their phone, and the session stays valid only
//! while IAMPASS says so (a remote logout, or the phone walking away, ends it).
//!
//! - [`ManagementApi`], [`AuthenticationApi`] and [`Session`]: an async client with the
//!   reference Python client's semantics, typed errors, timeouts and redacted secrets.
//! - [`signing`]: the request-signing scheme, shared by the client and the emulator.
//!
//! ## Getting started
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
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
pub mod actix;
pub mod client;
#[cfg(feature = "emulator")]
pub mod emulator;
mod encoding;
mod error;
mod secret;
mod session;
pub mod signing;
#[cfg(feature = "actix")]
pub mod store;

pub use client::{
    AddUserResult, AddedUsers, AuthenticationApi, ClientBuilder, DeviceRegistration, ManagementApi,
};
pub use encoding::{quote_plus, unquote_plus};
pub use error::Error;
pub use secret::Secret;
pub use session::{AuthenticationMethod, Session, Status};

/// Compiles the README's Rust snippets as doctests, so the README stays true.
#[cfg(all(doctest, feature = "actix", feature = "emulator"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

//! The framework-free core of the web integration (feature `core`, enabled by `actix`):
//! everything that is not one framework's glue. Settings ([`IampassBuilder`] → [`Iampass`]),
//! the session cookie, the validator (one IAMPASS call per session at a time, caches,
//! stale-if-error, revocation), the login state machine (start, poll, one-time exchange,
//! decoys, logout, step by step), live state, the store, the pages and the answers.
//!
//! An adapter (`iampass::actix`) implements [`RequestHead`] for its request type, keeps the
//! per-request context in its request extensions, and turns a [`Reply`] into its response;
//! nothing here imports a web framework.
//!
//! | module | what it holds |
//! | --- | --- |
//! | `settings` | the builder, its checks, [`defaults`], policies, environment |
//! | `state` | what changes while running: validator, limits, pending logins, streams |
//! | `cookie` | the sealed cookie ([`SessionCookie`]) and its codec |
//! | `context` | the one reader of a request's cookie; judges it on demand |
//! | `validate` | coalesced status calls, caches, the verdict, the per-thread fast path |
//! | `login` | start, poll, exchange, decoys, logout, second factor, step-up, event stream |
//! | `step_up` | recent approvals: the requirement of a guarded route, [`RecentApproval`] |
//! | [`store`] | state shared by instances: memory or Redis |
//! | `security` | client address, same-origin, safe redirects, rate limits |
//! | `pages`, `csp` | the login, wait and message pages and their CSP |
//! | `answer` | [`Reply`]: what the core answers, for the adapter to write |
//! | `request` | [`RequestHead`]: what the core reads of a request |

// Without an adapter, the parts only adapters use have no user.
#![cfg_attr(
    not(any(feature = "actix", feature = "axum")),
    allow(dead_code, unused_imports)
)]

mod answer;
mod context;
mod cookie;
mod csp;
mod denial;
mod iampass;
mod identify;
mod identity;
mod live;
mod log;
mod login;
mod pages;
mod presence;
mod request;
mod security;
mod settings;
mod state;
mod step_up;
pub mod store;
mod validate;

pub use answer::{Header, Reply, ReplyBody};
pub use cookie::{CookieState, Factors, SessionCookie};
pub use denial::Denial;
pub use iampass::Iampass;
pub use identity::IampassIdentity;
pub use login::{LoginError, LoginStarted, SecondFactor};
pub use presence::Presence;
pub use request::{RequestHead, accepts_html};
pub use security::client_addr::{ForwardedHeader, TrustedProxies};
pub use security::origin::is_same_origin;
pub use security::redirect::is_safe_redirect;
pub use settings::defaults;
pub use settings::env;
pub use settings::{ColorScheme, FailMode, IampassBuilder, Page, Revalidate, WalkawayPolicy};
pub use step_up::RecentApproval;

#[doc(hidden)]
pub use context::{Outcome, RequestContext};

// For the adapters.
pub(crate) use identify::{Identified, identify, identify_now};
pub(crate) use login::{Handler, live_js, login_js};
pub(crate) use settings::Branding;
pub(crate) use step_up::{Requirement, recent};

//! The defences of the login handlers, each usable on its own: cross-site request refusal
//! ([`origin`]), safe redirect targets ([`redirect`]), login-start rate limits
//! ([`rate_limit`]) and the client address behind trusted proxies ([`client_addr`]).

pub(crate) mod client_addr;
pub(crate) mod in_flight;
pub(crate) mod origin;
pub(crate) mod rate_limit;
pub(crate) mod redirect;

//! The defences of the login handlers, each usable on its own: cross-site request refusal
//! ([`origin`]), safe redirect targets ([`redirect`]) and login-start rate limits
//! ([`rate_limit`]).

pub(crate) mod origin;
pub(crate) mod rate_limit;
pub(crate) mod redirect;

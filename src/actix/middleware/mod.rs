//! The middlewares: [`session`] (wraps the app: every request gets its context),
//! [`require`] (wraps a scope: every request in it needs a signed-in user) and [`recent`]
//! (wraps a scope: every request in it needs a recent approval on the phone).

pub(crate) mod recent;
pub(crate) mod require;
pub(crate) mod session;

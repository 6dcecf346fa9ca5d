//! The two middlewares: [`session`] (wraps the app: every request gets its context) and
//! [`require`] (wraps a scope: every request in it needs a signed-in user).

pub(crate) mod require;
pub(crate) mod session;

//! The login state machine behind the routes an adapter mounts under the configured prefix:
//! `start` (`GET`/`POST {prefix}/login`: the page, and starting a login), `poll`
//! (`GET {prefix}/poll` and the no-JavaScript wait page: asking IAMPASS, and the one-time
//! exchange of an approved login for the session cookie), `decoy` (the public mode's answer
//! for unknown users), `logout`, `second_factor` (the application-driven start) and `events`
//! (`GET {prefix}/events`, the live state of a session) and `step_up` (`GET`/`POST
//! {prefix}/step-up`: a fresh approval for the signed-in user, completed by the poll). Each takes the request's
//! [`RequestHead`] and gives a [`Reply`]; the adapter does the rest.

use std::sync::Arc;

use http::StatusCode;
use serde_json::json;

use crate::core::Iampass;
use crate::core::answer::Reply;
use crate::core::context::RequestContext;
use crate::core::pages;
use crate::core::request::RequestHead;
use crate::core::security::origin::check_same_origin;

mod body;
mod decoy;
mod events;
mod logout;
pub(crate) mod pending;
mod poll;
mod progress;
mod refusal;
mod second_factor;
mod start;
mod step_up;

pub use poll::MAX_POLL_WAIT;
pub use second_factor::{LoginError, LoginStarted, SecondFactor};
pub use start::MAX_USER_LEN;

/// One request to a login handler: the configuration and the request's context.
pub(crate) struct Handler {
    iampass: Iampass,
    context: Arc<RequestContext>,
}

impl Handler {
    /// The handler for `req`, with the context the adapter's middleware made for it
    /// (`None`: the cookie is read now).
    pub(crate) fn new(
        iampass: &Iampass,
        context: Option<Arc<RequestContext>>,
        req: &impl RequestHead,
    ) -> Self {
        Handler {
            iampass: iampass.clone(),
            context: RequestContext::for_handler(iampass, context, req),
        }
    }

    fn prefix(&self) -> &str {
        self.iampass.routes_prefix()
    }

    /// An HTML page with the security headers the configuration asks for.
    fn html(&self, status: StatusCode, page: String) -> Reply {
        Reply::html(status, page)
            .security_headers(self.iampass.settings().login.security_headers)
            .csp(self.iampass.settings().branding.csp.clone())
    }

    /// The client's address: the TCP peer, or behind a trusted proxy the address it forwards.
    fn client_ip(&self, req: &impl RequestHead) -> Option<std::net::IpAddr> {
        self.iampass.settings().login.trusted_proxies.client_ip(req)
    }

    /// `403` for a cross-site `POST` (HTML or JSON), `None` for a same-site one.
    fn refuse_cross_site(&self, req: &impl RequestHead, html: bool) -> Option<Reply> {
        let Err(why) = check_same_origin(req) else {
            return None;
        };
        tracing::debug!(reason = ?why.0, path = req.path(), "cross-site POST refused");
        let message = "This request came from another site and was refused.";
        let reply = if html {
            self.html(
                StatusCode::FORBIDDEN,
                pages::message_page(
                    &self.iampass.settings().branding,
                    "Refused",
                    message,
                    Some("/"),
                ),
            )
        } else {
            Reply::json(
                StatusCode::FORBIDDEN,
                json!({"error": "cross_site", "message": message}),
            )
        };
        Some(reply)
    }
}

/// `GET {prefix}/login.js`: the login page's script.
pub(crate) fn login_js() -> Reply {
    Reply::script(pages::LOGIN_SCRIPT, 3600)
}

/// `GET {prefix}/live.js`: the script that locks an open page on `walkaway`.
pub(crate) fn live_js() -> Reply {
    events::live_js()
}

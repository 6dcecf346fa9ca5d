//! The application's own answer to a request refused for want of an identity
//! ([`IampassBuilder::unauthenticated_responder`]), and the default one.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse};

use super::response::respond;
use crate::core::{Denial, Iampass, IampassBuilder, accepts_html};

/// The application's answer to a denial.
type Respond = dyn Fn(&HttpRequest, &Denial) -> HttpResponse + Send + Sync + 'static;

/// The configured responder, kept in the settings' adapter extensions.
#[derive(Clone)]
struct UnauthenticatedResponder(Arc<Respond>);

impl IampassBuilder {
    /// Answers requests that need an identity and have none (see [`Denial`]), instead of the
    /// default `303`-to-login / `401` JSON / `503`.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .unauthenticated_responder(|req, denial| denial.default_response(req));
    /// # let _ = b;
    /// ```
    pub fn unauthenticated_responder<F>(mut self, responder: F) -> Self
    where
        F: Fn(&HttpRequest, &Denial) -> HttpResponse + Send + Sync + 'static,
    {
        self.extensions
            .insert(UnauthenticatedResponder(Arc::new(responder)));
        self
    }
}

/// The answer to `denial`: the application's responder when one is configured, else the
/// default answer with the application's branding (without the middleware: the unbranded
/// default).
pub(crate) fn answer(
    iampass: Option<&Iampass>,
    req: &HttpRequest,
    denial: &Denial,
) -> HttpResponse {
    let Some(iampass) = iampass else {
        return denial.default_response(req);
    };
    let settings = iampass.settings();
    match settings.extensions.get::<UnauthenticatedResponder>() {
        Some(UnauthenticatedResponder(responder)) => responder(req, denial),
        None => respond(denial.reply(accepts_html(req), &settings.branding)),
    }
}

//! The application's own answer to a request refused for want of an identity
//! ([`IampassBuilder::axum_unauthenticated_responder`]), and the default one.

use std::sync::Arc;

use axum::response::Response;
use http::request::Parts;

use super::response::respond;
use crate::core::{Denial, Iampass, IampassBuilder, accepts_html};

/// The application's answer to a denial.
type Respond = dyn Fn(&Parts, &Denial) -> Response + Send + Sync + 'static;

/// The configured responder, kept in the settings' adapter extensions (beside actix's own,
/// which takes actix's request type).
#[derive(Clone)]
struct UnauthenticatedResponder(Arc<Respond>);

impl IampassBuilder {
    /// Answers requests that need an identity and have none (see [`Denial`]) in an axum app,
    /// instead of the default `303`-to-login / `401` JSON / `503`: the extractors'
    /// [`Rejection`](super::Rejection) and [`RequireIampassLayer`](super::RequireIampassLayer)
    /// answer with it. [`Denial::default_reply`] is the default answer, to fall back on.
    ///
    /// ```
    /// use axum::response::{IntoResponse, Redirect};
    /// use iampass::axum::Denial;
    /// use iampass::Status;
    /// let b = iampass::axum::Iampass::builder("app", "secret")
    ///     .axum_unauthenticated_responder(|parts, denial| match denial {
    ///         Denial::Unauthenticated { status: Some(Status::Walkaway), .. } => {
    ///             Redirect::to("/locked").into_response()
    ///         }
    ///         _ => denial.default_reply(parts).into_response(),
    ///     });
    /// # let _ = b;
    /// ```
    pub fn axum_unauthenticated_responder<F>(mut self, responder: F) -> Self
    where
        F: Fn(&Parts, &Denial) -> Response + Send + Sync + 'static,
    {
        self.extensions
            .insert(UnauthenticatedResponder(Arc::new(responder)));
        self
    }
}

/// The answer to `denial`: the application's responder when one is configured, else the
/// default answer with the application's branding (without the layer: the unbranded
/// default).
pub(crate) fn answer(iampass: Option<&Iampass>, parts: &Parts, denial: &Denial) -> Response {
    let Some(iampass) = iampass else {
        return respond(denial.default_reply(parts));
    };
    let settings = iampass.settings();
    match settings.extensions.get::<UnauthenticatedResponder>() {
        Some(UnauthenticatedResponder(responder)) => responder(parts, denial),
        None => respond(denial.reply(accepts_html(parts), &settings.branding)),
    }
}

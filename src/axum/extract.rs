//! How handlers ask for the identity: the extractors [`IampassIdentity`] (also as
//! `Option<IampassIdentity>`), [`RequireIampass`] and [`Presence`], and the error they fail
//! with ([`Rejection`]), answered as by the actix adapter.

use std::convert::Infallible;
use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use super::request::context_of;
use super::responder::answer;
use crate::core::{self, Denial, Iampass, IampassIdentity, Identified, Presence};

async fn identify(parts: &Parts) -> Identified {
    let context = context_of(&parts.extensions);
    if let Some(context) = &context
        && let Some(now) = core::identify_now(parts, context)
    {
        return now;
    }
    core::identify(parts, context).await
}

/// The error of the IAMPASS extractors: the [`Denial`] and the answer chosen for this request
/// (`303` to the login page for HTML, `401` JSON, a locked page after a walkaway, `503` while
/// IAMPASS is unavailable; or the application's own, see
/// [`axum_unauthenticated_responder`](crate::core::IampassBuilder::axum_unauthenticated_responder)).
#[derive(Debug)]
pub struct Rejection {
    denial: Denial,
    response: Response,
}

impl Rejection {
    pub(crate) fn new(parts: &Parts, (iampass, denial): (Option<Iampass>, Denial)) -> Self {
        let response = answer(iampass.as_ref(), parts, &denial);
        Rejection { denial, response }
    }

    /// Why the request was refused.
    pub fn denial(&self) -> &Denial {
        &self.denial
    }
}

impl From<Rejection> for Denial {
    fn from(rejection: Rejection) -> Self {
        rejection.denial
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IampassIdentity {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        identify(parts)
            .await
            .map_err(|denied| Rejection::new(parts, denied))
    }
}

/// `Option<IampassIdentity>` never refuses: anonymous, and also while IAMPASS is
/// unavailable, is `None`.
impl<S: Send + Sync> OptionalFromRequestParts<S> for IampassIdentity {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Infallible> {
        Ok(identify(parts).await.ok())
    }
}

/// A signed-in user, required: the handler runs only for one, everyone else gets the
/// default answer (see [`Rejection`]).
///
/// ```
/// use iampass::axum::RequireIampass;
/// async fn dashboard(who: RequireIampass) -> String {
///     format!("dashboard of {}", who.user())
/// }
/// # let _ = dashboard;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequireIampass(pub IampassIdentity);

impl RequireIampass {
    /// The identity.
    pub fn into_inner(self) -> IampassIdentity {
        self.0
    }
}

impl Deref for RequireIampass {
    type Target = IampassIdentity;

    fn deref(&self) -> &IampassIdentity {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequireIampass {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        <IampassIdentity as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(RequireIampass)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Presence {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(match identify(parts).await {
            Ok(identity) => Presence::SignedIn(identity),
            Err((_, denial)) => Presence::of_denial(&denial),
        })
    }
}

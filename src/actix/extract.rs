//! How handlers ask for the identity: the [`FromRequest`] impls of [`IampassIdentity`]
//! (also as `Option<_>` and `Result<_, Denial>`) and [`RequireIampass`], and the
//! [`IampassExt`] extension trait for code that holds a request (middleware, guards).

use std::ops::Deref;

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{Either, LocalBoxFuture, Ready, ready};

use super::config::Iampass;
use super::context::{Outcome, RequestContext};
use super::denial::{Denial, Rejection};
use super::identity::IampassIdentity;
use super::security::redirect::login_url;

/// Resolves the request's identity, or the reason there is none (with the configuration
/// when the middleware ran, so the denial can be answered as configured).
pub(crate) async fn identify(
    req: &HttpRequest,
) -> Result<IampassIdentity, (Option<Iampass>, Denial)> {
    let Some(context) = RequestContext::of(req) else {
        tracing::error!(
            path = req.path(),
            "an IAMPASS extractor or guard is used on a route that is not wrapped by \
             Iampass::middleware(): add `.wrap(iampass.middleware())` to the App or scope"
        );
        return Err((None, Denial::MissingMiddleware));
    };
    let outcome = context.outcome(req).await;
    judged(req, &context, outcome)
}

/// The identity, or the denial (with the configuration) for an outcome.
fn judged(
    req: &HttpRequest,
    context: &RequestContext,
    outcome: Outcome,
) -> Result<IampassIdentity, (Option<Iampass>, Denial)> {
    // The configuration is cloned only for a denial: the signed-in path copies nothing.
    let iampass = context.iampass();
    match outcome {
        Outcome::Identity(identity) => Ok(identity),
        Outcome::Anonymous(status) => {
            let login_url = login_url(iampass.login_path(), req);
            Err((
                Some(iampass.clone()),
                Denial::Unauthenticated { status, login_url },
            ))
        }
        Outcome::Unavailable(reason) => {
            Err((Some(iampass.clone()), Denial::Unavailable { reason }))
        }
    }
}

/// The answer to a denial: the configured responder's, else the default.
pub(crate) fn answer(
    iampass: Option<&Iampass>,
    req: &HttpRequest,
    denial: &Denial,
) -> actix_web::HttpResponse {
    match iampass {
        Some(iampass) => iampass.answer(req, denial),
        None => denial.default_response(req),
    }
}

/// The identity when it is known without waiting (see `RequestContext::outcome_now`).
fn identify_now(req: &HttpRequest) -> Option<Result<IampassIdentity, Rejection>> {
    let context = RequestContext::of(req)?;
    let outcome = context.outcome_now(req)?;
    Some(judged(req, &context, outcome).map_err(|denial| rejection(req, denial)))
}

fn rejection(req: &HttpRequest, (iampass, denial): (Option<Iampass>, Denial)) -> Rejection {
    let response = answer(iampass.as_ref(), req, &denial);
    Rejection::new(denial, response)
}

/// The extractors' future: ready at once on the fast path (a cached answer), else boxed.
type Extracted<T> =
    Either<Ready<Result<T, Rejection>>, LocalBoxFuture<'static, Result<T, Rejection>>>;

impl FromRequest for IampassIdentity {
    type Error = Rejection;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(now) = identify_now(req) {
            return Either::Left(ready(now));
        }
        let req = req.clone();
        Either::Right(Box::pin(async move {
            identify(&req)
                .await
                .map_err(|denial| rejection(&req, denial))
        }))
    }
}

/// An extractor that requires a signed-in user: without one the handler does not run and
/// the request is answered `303` to the login page (HTML) or `401` JSON (API), or `503`
/// while IAMPASS is unavailable (see [`Denial::default_response`]).
///
/// ```
/// use actix_web::{web, App};
/// use iampass::actix::RequireIampass;
/// async fn dashboard(who: RequireIampass) -> String {
///     format!("hi {}", who.user()) // Deref to IampassIdentity
/// }
/// let app = App::new().route("/dashboard", web::get().to(dashboard));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequireIampass(IampassIdentity);

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

impl FromRequest for RequireIampass {
    type Error = Rejection;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        match IampassIdentity::from_request(req, payload) {
            Either::Left(now) => Either::Left(ready(now.into_inner().map(RequireIampass))),
            Either::Right(later) => {
                Either::Right(Box::pin(async move { later.await.map(RequireIampass) }))
            }
        }
    }
}

/// The identity from anything that holds a request, as actix-identity's `IdentityExt`
/// does: for middleware, guards and helpers that are not handlers.
///
/// ```
/// use actix_web::HttpRequest;
/// use iampass::actix::IampassExt;
/// async fn greeting(req: HttpRequest) -> String {
///     match req.iampass_identity().await {
///         Ok(who) => format!("hello {}", who.user()),
///         Err(denial) => format!("no identity: {denial}"),
///     }
/// }
/// # let _ = greeting;
/// ```
pub trait IampassExt {
    /// The request's identity (asking IAMPASS the first time it is needed in this
    /// request), or why there is none.
    fn iampass_identity(&self) -> LocalBoxFuture<'static, Result<IampassIdentity, Denial>>;
}

impl IampassExt for HttpRequest {
    fn iampass_identity(&self) -> LocalBoxFuture<'static, Result<IampassIdentity, Denial>> {
        let req = self.clone();
        Box::pin(async move { identify(&req).await.map_err(|(_, denial)| denial) })
    }
}

impl IampassExt for ServiceRequest {
    fn iampass_identity(&self) -> LocalBoxFuture<'static, Result<IampassIdentity, Denial>> {
        self.request().iampass_identity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[actix_web::test]
    async fn missing_middleware_is_reported_not_panicked() {
        let req = TestRequest::get().to_http_request();
        let (iampass, denial) = identify(&req).await.unwrap_err();
        assert!(iampass.is_none());
        assert_eq!(denial, Denial::MissingMiddleware);
        assert_eq!(
            req.iampass_identity().await.unwrap_err(),
            Denial::MissingMiddleware
        );
    }
}

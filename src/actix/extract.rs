//! How handlers ask for the identity: the [`FromRequest`] impls of [`IampassIdentity`]
//! (also as `Option<_>` and `Result<_, Denial>`), [`RequireIampass`] and [`Presence`], the
//! error they fail with ([`Rejection`])).

use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::{Either, LocalBoxFuture, Ready, ready};

use super::request::context_of;
use super::responder::answer;
use crate::core::{
    self, Denial, Iampass, IampassIdentity, Identified, Presence, RecentApproval, Requirement,
};

/// Resolves the request's identity, or the reason there is none (with the configuration
/// when the middleware ran, so the denial can be answered as configured).
pub(crate) async fn identify(req: &HttpRequest) -> Identified {
    core::identify(req, context_of(req)).await
}

/// [`identify`] when the answer is known without waiting, as the rejection to give.
fn identify_now(req: &HttpRequest) -> Option<Result<IampassIdentity, Rejection>> {
    let context = context_of(req)?;
    Some(core::identify_now(req, &context)?.map_err(|denial| rejection(req, denial)))
}

fn rejection(req: &HttpRequest, (iampass, denial): (Option<Iampass>, Denial)) -> Rejection {
    let response = answer(iampass.as_ref(), req, &denial);
    Rejection::new(denial, response)
}

/// The extractors' future: ready at once on the fast path (a cached answer), else boxed.
type Extracted<T> =
    Either<Ready<Result<T, Rejection>>, LocalBoxFuture<'static, Result<T, Rejection>>>;

/// The identity as the extractor `T` (`into` wraps it): at once when it is known, else in
/// one boxed future (a few hundred bytes: the status call itself lives in its flight's box).
fn extract<T: 'static>(req: &HttpRequest, into: fn(IampassIdentity) -> T) -> Extracted<T> {
    if let Some(now) = identify_now(req) {
        return Either::Left(ready(now.map(into)));
    }
    let req = req.clone();
    Either::Right(Box::pin(async move {
        identify(&req)
            .await
            .map(into)
            .map_err(|denial| rejection(&req, denial))
    }))
}

impl FromRequest for IampassIdentity {
    type Error = Rejection;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, |identity| identity)
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

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, RequireIampass)
    }
}

/// A signed-in user whose last phone approval is recent: within the window (and with the
/// methods) of the enclosing [`require_recent`](crate::core::Iampass::require_recent) guard,
/// else of [`step_up_window`](crate::core::IampassBuilder::step_up_window) and
/// [`step_up_methods`](crate::core::IampassBuilder::step_up_methods). Otherwise the handler
/// does not run and the step-up answer is given (see [`Denial::StepUpRequired`]).
///
/// ```
/// use actix_web::{web, App};
/// use iampass::actix::RecentApproval;
/// async fn api_key(who: RecentApproval) -> String {
///     format!("{}'s API key: k-123", who.user())
/// }
/// let app = App::new().route("/settings/api-key", web::get().to(api_key));
/// # let _ = app;
/// ```
impl FromRequest for RecentApproval {
    type Error = Rejection;
    type Future = LocalBoxFuture<'static, Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let requirement = req.extensions().get::<Requirement>().cloned();
            core::recent(&req, context_of(&req), requirement.as_ref())
                .await
                .map_err(|denial| rejection(&req, denial))
        })
    }
}

impl FromRequest for Presence {
    type Error = std::convert::Infallible;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            Ok(match identify(&req).await {
                Ok(identity) => Presence::SignedIn(identity),
                Err((_, denial)) => Presence::of_denial(&denial),
            })
        })
    }
}

/// The error of the IAMPASS extractors ([`IampassIdentity`], [`RequireIampass`]): the
/// [`Denial`] and the answer chosen for this request (content-negotiated, through a custom
/// [`unauthenticated_responder`](crate::core::IampassBuilder::unauthenticated_responder)
/// when one is configured). Converts into a [`Denial`], which is what makes
/// `Result<IampassIdentity, Denial>` an extractor.
///
/// ```
/// use iampass::actix::{Denial, Rejection};
/// fn why(rejection: Rejection) -> Denial {
///     rejection.into()
/// }
/// # let _ = why;
/// ```
pub struct Rejection {
    denial: Denial,
    response: RefCell<Option<HttpResponse>>,
}

impl Rejection {
    fn new(denial: Denial, response: HttpResponse) -> Self {
        Rejection {
            denial,
            response: RefCell::new(Some(response)),
        }
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

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("denial", &self.denial)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.denial, f)
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        self.response.borrow().as_ref().map_or_else(
            || ResponseError::status_code(&self.denial),
            HttpResponse::status,
        )
    }

    fn error_response(&self) -> HttpResponse {
        // Chosen with the request in hand; asked for a second time, the request-less answer.
        self.response
            .borrow_mut()
            .take()
            .unwrap_or_else(|| self.denial.error_response())
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
            <Result<IampassIdentity, Denial>>::extract(&req)
                .await
                .unwrap(),
            Err(Denial::MissingMiddleware)
        );
    }

    #[test]
    fn a_rejection_answers_what_was_chosen_once() {
        let rejection = Rejection::new(
            Denial::MissingMiddleware,
            HttpResponse::ImATeapot().finish(),
        );
        assert_eq!(rejection.status_code(), StatusCode::IM_A_TEAPOT);
        assert_eq!(rejection.error_response().status(), StatusCode::IM_A_TEAPOT);
        assert_eq!(
            rejection.error_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(Denial::from(rejection), Denial::MissingMiddleware);
    }
}

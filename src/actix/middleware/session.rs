//! [`IampassMiddleware`] (the `Transform`) and its inner service: give every request its
//! [`RequestContext`] (the cookie, opened and validated lazily, when an extractor, the scope
//! guard or a login handler first asks), and update the cookie on the way out when it was
//! refused, the session turned out to be over, or an old key opened it.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};

use crate::actix::request::attach;
use crate::core::{Iampass, RequestContext};

impl Iampass {
    /// The middleware to [`wrap`](actix_web::App::wrap) the app (or a scope) with. It must
    /// wrap every route that uses [`IampassIdentity`](crate::actix::IampassIdentity), [`RequireIampass`](crate::actix::RequireIampass)
    /// or [`Iampass::require`]; the login handlers work without it but share its reading of
    /// the cookie with it.
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
    /// let app = actix_web::App::new().wrap(iampass.middleware());
    /// # let _ = app;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn middleware(&self) -> IampassMiddleware {
        IampassMiddleware {
            iampass: self.clone(),
        }
    }
}

/// The session middleware (an actix-web `Transform`), made by [`Iampass::middleware`].
///
/// Per request it finds the cookie; the cookie is opened (a bad one makes the request
/// anonymous and is removed) and IAMPASS asked about the session the first time the
/// request's identity is asked for, at most once per request, the status call shared with
/// concurrent requests of the same session. A route that never asks costs no decryption.
///
/// ```
/// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
/// let middleware: iampass::actix::IampassMiddleware = iampass.middleware();
/// let app = actix_web::App::new().wrap(middleware);
/// # let _ = app;
/// # Ok::<(), iampass::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct IampassMiddleware {
    iampass: Iampass,
}

impl<S, B> Transform<S, ServiceRequest> for IampassMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = IampassMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(IampassMiddlewareService {
            service,
            iampass: self.iampass.clone(),
        }))
    }
}

/// The service [`IampassMiddleware`] wraps around the app's services. Not used directly;
/// public only because it appears in the `Transform` implementation.
#[doc(hidden)]
#[derive(Debug)]
pub struct IampassMiddlewareService<S> {
    service: S,
    iampass: Iampass,
}

impl<S, B> Service<ServiceRequest> for IampassMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = UpdateCookie<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let context = Arc::new(RequestContext::read(&self.iampass, req.request()));
        attach(&req, context.clone());
        UpdateCookie {
            response: self.service.call(req),
            context: Some(context),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of [`IampassMiddlewareService`]: the inner service's, with our cookie
    /// removed or re-sealed as the request's context decided. Not used directly.
    #[doc(hidden)]
    pub struct UpdateCookie<F> {
        #[pin]
        response: F,
        context: Option<Arc<RequestContext>>,
    }
}

impl<F, B> Future for UpdateCookie<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.response.poll(cx) {
            Poll::Ready(response) => response?,
            Poll::Pending => return Poll::Pending,
        };
        if let Some(cookie) = this.context.take().and_then(|c| c.cookie_update()) {
            let name = cookie.name();
            // A handler that set a cookie of ours (a fresh login, a logout) wins.
            let replaced = response.response().cookies().any(|c| c.name() == name);
            if !replaced && let Err(e) = response.response_mut().add_cookie(&cookie) {
                tracing::warn!(
                    error = e.to_string(),
                    "cannot update the IAMPASS session cookie"
                );
            }
        }
        Poll::Ready(Ok(response))
    }
}

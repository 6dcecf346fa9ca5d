//! [`IampassMiddleware`] (the `Transform`) and its inner service: give every request its
//! [`RequestContext`] (the cookie, opened once; validated lazily, when an extractor or the
//! scope guard first asks), and update the cookie on the way out when the session turned
//! out to be over or was opened by an old key.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::LocalBoxFuture;

use crate::actix::config::Iampass;
use crate::actix::context::RequestContext;

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
/// Per request it opens the cookie (a bad one makes the request anonymous and is removed);
/// the IAMPASS status check happens the first time the request's identity is asked for, at
/// most once per request, shared with concurrent requests of the same session.
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
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let context = Rc::new(RequestContext::read(&self.iampass, req.request()));
        context.attach(&req);
        let response = self.service.call(req);
        Box::pin(async move {
            let mut response = response.await?;
            if let Some(cookie) = context.cookie_update() {
                let name = context.iampass().cookie_name();
                // A handler that set a cookie of ours (a fresh login, a logout) wins.
                let replaced = response.response().cookies().any(|c| c.name() == name);
                let added = if replaced {
                    Ok(())
                } else {
                    response.response_mut().add_cookie(&cookie)
                };
                if let Err(e) = added {
                    tracing::warn!(error = %e, "cannot update the IAMPASS session cookie");
                }
            }
            Ok(response)
        })
    }
}

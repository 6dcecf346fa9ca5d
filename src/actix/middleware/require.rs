//! The scope guard made by [`Iampass::require`]: [`RequireIampassMiddleware`] (the
//! `Transform`) and its inner service.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::LocalBoxFuture;

use crate::actix::extract::identify;
use crate::actix::responder::answer;
use crate::core::Iampass;

impl Iampass {
    /// A guard middleware for a whole `web::scope`: every request in it needs a signed-in
    /// user, answered as [`RequireIampass`](crate::actix::RequireIampass) would otherwise.
    /// The scope (or the app) must also be wrapped by [`Iampass::middleware`], outside this
    /// guard.
    ///
    /// ```
    /// use actix_web::{web, App};
    /// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
    /// let app = App::new()
    ///     .wrap(iampass.middleware())
    ///     .service(web::scope("/admin").wrap(iampass.require()).route("", web::get().to(|| async { "admin" })));
    /// # let _ = app;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn require(&self) -> RequireIampassMiddleware {
        RequireIampassMiddleware {
            iampass: self.clone(),
        }
    }
}

/// The scope guard made by [`Iampass::require`] (an actix-web `Transform`).
///
/// ```
/// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
/// let guard: iampass::actix::RequireIampassMiddleware = iampass.require();
/// let scope = actix_web::web::scope("/admin").wrap(guard);
/// # let _ = scope;
/// # Ok::<(), iampass::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequireIampassMiddleware {
    iampass: Iampass,
}

impl<S, B> Transform<S, ServiceRequest> for RequireIampassMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequireIampassService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireIampassService {
            service: Rc::new(service),
            iampass: self.iampass.clone(),
        }))
    }
}

/// The service [`RequireIampassMiddleware`] wraps around a scope. Not used directly; public
/// only because it appears in the `Transform` implementation.
#[doc(hidden)]
#[derive(Debug)]
pub struct RequireIampassService<S> {
    service: Rc<S>,
    iampass: Iampass,
}

impl<S, B> Service<ServiceRequest> for RequireIampassService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let iampass = self.iampass.clone();
        Box::pin(async move {
            match identify(req.request()).await {
                Ok(_) => Ok(service.call(req).await?.map_into_left_body()),
                Err((_, denial)) => {
                    let response = answer(Some(&iampass), req.request(), &denial);
                    Ok(req.into_response(response).map_into_right_body())
                }
            }
        })
    }
}

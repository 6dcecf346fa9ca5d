//! The scope guard made by [`Iampass::require`]: [`RequireIampassMiddleware`] (the
//! `Transform`) and the guard service it shares with the step-up guard of [`super::recent`].

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::HttpMessage as _;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::LocalBoxFuture;

use crate::actix::extract::identify;
use crate::actix::request::context_of;
use crate::actix::responder::answer;
use crate::core::{self, Iampass, Requirement};

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
        ready(Ok(RequireIampassService::new(
            service,
            self.iampass.clone(),
            Check::SignedIn,
        )))
    }
}

/// What a scope guard asks of each request in its scope.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    /// A signed-in user ([`Iampass::require`]).
    SignedIn,
    /// A recent approval ([`Iampass::require_recent`]); the scope's handlers
    /// ([`RecentApproval`](crate::actix::RecentApproval)) judge by the same requirement.
    Recent(Rc<Requirement>),
}

/// The service a scope guard ([`RequireIampassMiddleware`], or
/// [`RequireRecentMiddleware`](crate::actix::RequireRecentMiddleware)) wraps around a scope.
/// Not used directly; public only because it appears in the `Transform` implementations.
#[doc(hidden)]
#[derive(Debug)]
pub struct RequireIampassService<S> {
    service: Rc<S>,
    iampass: Iampass,
    check: Check,
}

impl<S> RequireIampassService<S> {
    /// `service` guarded by `check`, answered with `iampass`'s answers.
    pub(crate) fn new(service: S, iampass: Iampass, check: Check) -> Self {
        RequireIampassService {
            service: Rc::new(service),
            iampass,
            check,
        }
    }
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
        let check = self.check.clone();
        Box::pin(async move {
            // Refused: the deployment that judged (a step-up's), and why.
            let refused = match &check {
                Check::SignedIn => identify(req.request())
                    .await
                    .err()
                    .map(|(_, denial)| (None, denial)),
                Check::Recent(requirement) => {
                    req.extensions_mut().insert(Requirement::clone(requirement));
                    let context = context_of(req.request());
                    core::recent(req.request(), context, Some(requirement))
                        .await
                        .err()
                }
            };
            match refused {
                None => Ok(service.call(req).await?.map_into_left_body()),
                Some((configured, denial)) => {
                    let response = answer(
                        configured.as_ref().or(Some(&iampass)),
                        req.request(),
                        &denial,
                    );
                    Ok(req.into_response(response).map_into_right_body())
                }
            }
        })
    }
}

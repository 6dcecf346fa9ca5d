//! The step-up guard made by [`Iampass::require_recent`]: [`RequireRecentMiddleware`] (the
//! `Transform`), served by the scope guard's service (`super::require`).

use std::future::{Ready, ready};
use std::rc::Rc;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};

use super::require::{Check, RequireIampassService};
use crate::AuthenticationMethod;
use crate::core::{Iampass, Requirement};

impl Iampass {
    /// A guard middleware for a `web::scope` of sensitive actions: every request in it needs
    /// a signed-in user whose last approval on the phone is younger than `window` (a
    /// "step-up", as GitHub's sudo mode). A stale approval is answered `303` to
    /// `{prefix}/step-up?next=…` (HTML) or `401` `{"error": "step_up_required",
    /// "step_up_url", "message"}` (JSON); no session, the usual unauthenticated answer.
    /// [`RecentApproval`](crate::actix::RecentApproval) in the scope's handlers uses the
    /// guard's window and methods. The app must also be wrapped by [`Iampass::middleware`],
    /// outside this guard, and serve [`Iampass::routes`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_web::{web, App};
    /// use iampass::AuthenticationMethod;
    /// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
    /// let app = App::new()
    ///     .wrap(iampass.middleware())
    ///     .configure(iampass.routes())
    ///     .service(
    ///         web::scope("/settings")
    ///             .wrap(iampass.require_recent(Duration::from_secs(300))
    ///                 .methods([AuthenticationMethod::Facial]))
    ///             .route("/api-key", web::get().to(|| async { "the key" })),
    ///     );
    /// # let _ = app;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn require_recent(&self, window: Duration) -> RequireRecentMiddleware {
        RequireRecentMiddleware {
            iampass: self.clone(),
            requirement: Requirement {
                window,
                methods: Vec::new(),
            },
        }
    }
}

/// The step-up guard made by [`Iampass::require_recent`] (an actix-web `Transform`).
///
/// ```
/// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
/// use std::time::Duration;
/// let guard: iampass::actix::RequireRecentMiddleware =
///     iampass.require_recent(Duration::from_secs(120));
/// let scope = actix_web::web::scope("/danger").wrap(guard);
/// # let _ = scope;
/// # Ok::<(), iampass::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequireRecentMiddleware {
    iampass: Iampass,
    requirement: Requirement,
}

impl RequireRecentMiddleware {
    /// The methods the recent approval must have asked of the phone (each of them); the
    /// step-up page asks for them. An approval made with fewer is refused as too weak.
    ///
    /// ```
    /// use std::time::Duration;
    /// use iampass::AuthenticationMethod::Facial;
    /// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
    /// let guard = iampass.require_recent(Duration::from_secs(300)).methods([Facial]);
    /// # let _ = guard;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn methods(mut self, methods: impl IntoIterator<Item = AuthenticationMethod>) -> Self {
        self.requirement.methods = methods.into_iter().collect();
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequireRecentMiddleware
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
            Check::Recent(Rc::new(self.requirement.clone())),
        )))
    }
}

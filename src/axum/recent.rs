//! [`RequireRecentLayer`]: the step-up guard of a group of routes, and the
//! [`RecentApproval`] extractor.

use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::Request;
use http::request::Parts;
use tower_layer::Layer;
use tower_service::Service;

use super::extract::Rejection;
use super::request::context_of;
use super::responder::answer;
use crate::AuthenticationMethod;
use crate::core::{self, Iampass, RecentApproval, Requirement};

/// The step-up guard of a group of routes: every request in it needs a signed-in user whose
/// last approval on the phone is younger than the window (and, with
/// [`methods`](Self::methods), asked for those methods). A stale approval is answered `303`
/// to `{prefix}/step-up?next=…` (HTML) or `401` `{"error": "step_up_required", ...}` (JSON);
/// no session, the usual unauthenticated answer. Goes inside (after) [`IampassLayer`](super::IampassLayer).
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use iampass::AuthenticationMethod;
/// use iampass::axum::{IampassLayer, RequireRecentLayer};
/// # let iampass = iampass::core::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
/// let sensitive: Router = Router::new()
///     .route("/settings/api-key", get(|| async { "the key" }))
///     .layer(RequireRecentLayer::new(&iampass, Duration::from_secs(300))
///         .methods([AuthenticationMethod::Facial]));
/// let app: Router = Router::new()
///     .merge(sensitive)
///     .merge(iampass::axum::routes(&iampass))
///     .layer(IampassLayer::new(&iampass));
/// # let _ = app;
/// # Ok::<(), iampass::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RequireRecentLayer {
    iampass: Iampass,
    requirement: Requirement,
}

impl RequireRecentLayer {
    /// The guard of `iampass`'s deployment: an approval younger than `window`.
    pub fn new(iampass: &Iampass, window: Duration) -> Self {
        RequireRecentLayer {
            iampass: iampass.clone(),
            requirement: Requirement {
                window,
                methods: Vec::new(),
            },
        }
    }

    /// The methods the recent approval must have asked of the phone (each of them).
    ///
    /// ```
    /// use std::time::Duration;
    /// use iampass::AuthenticationMethod::Facial;
    /// # let iampass = iampass::core::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
    /// let layer = iampass::axum::RequireRecentLayer::new(&iampass, Duration::from_secs(60))
    ///     .methods([Facial]);
    /// # let _ = layer;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn methods(mut self, methods: impl IntoIterator<Item = AuthenticationMethod>) -> Self {
        self.requirement.methods = methods.into_iter().collect();
        self
    }
}

impl<S> Layer<S> for RequireRecentLayer {
    type Service = RequireRecentService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireRecentService {
            inner,
            iampass: self.iampass.clone(),
            requirement: self.requirement.clone(),
        }
    }
}

/// The service made by [`RequireRecentLayer`].
#[derive(Clone, Debug)]
pub struct RequireRecentService<S> {
    inner: S,
    iampass: Iampass,
    requirement: Requirement,
}

impl<S, B> Service<Request<B>> for RequireRecentService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let iampass = self.iampass.clone();
        let requirement = self.requirement.clone();
        let (mut parts, body) = req.into_parts();
        Box::pin(async move {
            let context = context_of(&parts.extensions);
            match core::recent(&parts, context, Some(&requirement)).await {
                Ok(_) => {
                    // The group's handlers (RecentApproval) judge by the same requirement.
                    parts.extensions.insert(requirement);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err((configured, denial)) => Ok(answer(
                    configured.as_ref().or(Some(&iampass)),
                    &parts,
                    &denial,
                )),
            }
        })
    }
}

/// A signed-in user whose last phone approval is recent: within the window (and with the
/// methods) of the enclosing [`RequireRecentLayer`], else of the builder's
/// [`step_up_window`](crate::core::IampassBuilder::step_up_window) and
/// [`step_up_methods`](crate::core::IampassBuilder::step_up_methods).
///
/// ```
/// use iampass::axum::RecentApproval;
/// async fn api_key(who: RecentApproval) -> String {
///     format!("{}'s API key: k-123", who.user())
/// }
/// # let _ = api_key;
/// ```
impl<S: Send + Sync> FromRequestParts<S> for RecentApproval {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        let requirement = parts.extensions.get::<Requirement>().cloned();
        let context = context_of(&parts.extensions);
        match core::recent(parts, context, requirement.as_ref()).await {
            Ok(recent) => Ok(recent),
            Err(denied) => Err(Rejection::new(parts, denied)),
        }
    }
}

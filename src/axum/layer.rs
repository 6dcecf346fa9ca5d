//! [`IampassLayer`]: gives every request its context (the cookie, opened and validated
//! lazily, when an extractor, the guard or a login route first asks) and updates the cookie on
//! the way out when it was refused, the session turned out to be over, or an old key opened
//! it. [`RequireIampassLayer`]: the guard of a group of routes.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::Response;
use futures_util::future::BoxFuture;
use http::Request;
use http::header::SET_COOKIE;
use tower_layer::Layer;
use tower_service::Service;

use super::request::context_of;
use super::responder::answer;
use crate::core::{self, Iampass, RequestContext, Requirement};

/// The IAMPASS middleware for axum: wraps a `Router` (or a part of one) so that its
/// extractors and routes can judge the session cookie.
///
/// ```
/// use axum::{Router, routing::get};
/// use iampass::axum::{IampassLayer, RequireIampass};
/// # let iampass = iampass::core::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
/// let app: Router = Router::new()
///     .route("/dashboard", get(|who: RequireIampass| async move { format!("hi {}", who.user()) }))
///     .merge(iampass::axum::routes(&iampass))
///     .layer(IampassLayer::new(&iampass));
/// # let _ = app;
/// # Ok::<(), iampass::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct IampassLayer {
    iampass: Iampass,
}

impl IampassLayer {
    /// The middleware of `iampass`'s deployment.
    pub fn new(iampass: &Iampass) -> Self {
        IampassLayer {
            iampass: iampass.clone(),
        }
    }
}

impl<S> Layer<S> for IampassLayer {
    type Service = IampassService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        IampassService {
            inner,
            iampass: self.iampass.clone(),
        }
    }
}

/// The service made by [`IampassLayer`].
#[derive(Clone, Debug)]
pub struct IampassService<S> {
    inner: S,
    iampass: Iampass,
}

impl<S, B> Service<Request<B>> for IampassService<S>
where
    S: Service<Request<B>, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let context = Arc::new(RequestContext::read(&self.iampass, &req));
        req.extensions_mut().insert(context.clone());
        let response = self.inner.call(req);
        Box::pin(async move {
            let mut response = response.await?;
            if let Some(cookie) = context.cookie_update() {
                // A route that set a cookie of ours (a fresh login, a logout) wins.
                let prefix = format!("{}=", cookie.name());
                let replaced = response
                    .headers()
                    .get_all(SET_COOKIE)
                    .iter()
                    .any(|v| v.to_str().is_ok_and(|v| v.starts_with(&prefix)));
                if !replaced && let Ok(value) = cookie.encoded().to_string().parse() {
                    response.headers_mut().append(SET_COOKIE, value);
                }
            }
            Ok(response)
        })
    }
}

/// The guard of a group of routes: every request in it needs a signed-in user; the others
/// get the default answer (`303` to the login page for HTML, `401` JSON, `503` while IAMPASS
/// is unavailable). Goes inside (after) [`IampassLayer`].
///
/// ```
/// use axum::{Router, routing::get};
/// use iampass::axum::{IampassLayer, RequireIampassLayer};
/// # let iampass = iampass::core::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
/// let admin: Router = Router::new()
///     .route("/admin", get(|| async { "admin" }))
///     .layer(RequireIampassLayer::new(&iampass));
/// let app: Router = Router::new().merge(admin).layer(IampassLayer::new(&iampass));
/// # let _ = app;
/// # Ok::<(), iampass::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RequireIampassLayer {
    iampass: Iampass,
}

impl RequireIampassLayer {
    /// The guard of `iampass`'s deployment.
    pub fn new(iampass: &Iampass) -> Self {
        RequireIampassLayer {
            iampass: iampass.clone(),
        }
    }
}

impl<S> Layer<S> for RequireIampassLayer {
    type Service = RequireIampassService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireIampassService {
            inner,
            iampass: self.iampass.clone(),
            requirement: None,
        }
    }
}

/// The service made by [`RequireIampassLayer`] and by
/// [`RequireRecentLayer`](super::RequireRecentLayer).
#[derive(Clone, Debug)]
pub struct RequireIampassService<S> {
    pub(crate) inner: S,
    pub(crate) iampass: Iampass,
    /// A step-up guard's requirement (`None`: a signed-in user is enough); the group's
    /// handlers (`RecentApproval`) judge by the same one.
    pub(crate) requirement: Option<Requirement>,
}

impl<S, B> Service<Request<B>> for RequireIampassService<S>
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
        // The clone that was polled ready serves this request (tower's convention).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let iampass = self.iampass.clone();
        let requirement = self.requirement.clone();
        // Judged on the head alone: a body need not be `Sync` to cross the await.
        let (mut parts, body) = req.into_parts();
        Box::pin(async move {
            let context = context_of(&parts.extensions);
            let refused = match requirement {
                None => core::identify(&parts, context).await.err(),
                Some(requirement) => {
                    let refused = core::recent(&parts, context, Some(&requirement))
                        .await
                        .err();
                    if refused.is_none() {
                        parts.extensions.insert(requirement);
                    }
                    refused
                }
            };
            match refused {
                None => inner.call(Request::from_parts(parts, body)).await,
                Some((configured, denial)) => Ok(answer(
                    configured.as_ref().or(Some(&iampass)),
                    &parts,
                    &denial,
                )),
            }
        })
    }
}

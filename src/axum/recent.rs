//! [`RequireRecentLayer`]: the step-up guard of a group of routes, and the
//! [`RecentApproval`] extractor.

use std::time::Duration;

use axum::extract::FromRequestParts;
use http::request::Parts;
use tower_layer::Layer;

use super::extract::Rejection;
use super::layer::RequireIampassService;
use super::request::context_of;
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
    type Service = RequireIampassService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireIampassService {
            inner,
            iampass: self.iampass.clone(),
            requirement: Some(self.requirement.clone()),
        }
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

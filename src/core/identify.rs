//! What an adapter's extractors and guards ask: the request's identity, or why there is none
//! ([`Denial`]) together with the deployment, so that the denial is answered as configured.

use std::sync::Arc;

use crate::core::context::{Outcome, RequestContext};
use crate::core::request::RequestHead;
use crate::core::security::redirect::login_url;
use crate::core::{Denial, Iampass, IampassIdentity};

/// The identity, or the denial and the deployment (`None` without the middleware).
pub(crate) type Identified = Result<IampassIdentity, (Option<Iampass>, Denial)>;

/// The request's identity through the context the adapter's middleware made for it
/// (`None`: the route is not wrapped by it, a configuration error), validating against
/// IAMPASS when it was not yet.
pub(crate) async fn identify(
    req: &impl RequestHead,
    context: Option<Arc<RequestContext>>,
) -> Identified {
    let Some(context) = context else {
        tracing::error!(
            path = req.path(),
            "an IAMPASS extractor or guard is used on a route that is not wrapped by the \
             IAMPASS middleware: with actix-web add `.wrap(iampass.middleware())`, with axum \
             `.layer(IampassLayer::new(&iampass))`"
        );
        return Err((None, Denial::MissingMiddleware));
    };
    let outcome = context.outcome(req).await;
    judged(req, &context, outcome)
}

/// [`identify`] when the answer is known without waiting (decided, anonymous, or cached).
pub(crate) fn identify_now(req: &impl RequestHead, context: &RequestContext) -> Option<Identified> {
    let outcome = context.outcome_now(req)?;
    Some(judged(req, context, outcome))
}

/// The identity, or the denial (with the deployment) for an outcome.
fn judged(req: &impl RequestHead, context: &RequestContext, outcome: Outcome) -> Identified {
    // The deployment is cloned only for a denial: the signed-in path copies nothing.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::request::TestHead;

    /// Every validated request boxes this future (the actix extractors) or carries it in its
    /// handler's (axum): the status call itself lives in its single-flight entry and the
    /// shared store's calls are boxed apart, so it stays small (it was 13.8 KB).
    #[tokio::test]
    async fn the_validation_future_a_request_carries_is_small() {
        let iampass = Iampass::builder("app", "secret")
            .cookie_key(&[1; 64])
            .server("http://127.0.0.1:1")
            .build()
            .unwrap();
        let req = TestHead::get("/x");
        let context = Arc::new(RequestContext::read(&iampass, &req));
        let identifying = identify(&req, Some(context));
        let size = std::mem::size_of_val(&identifying);
        assert!(size <= 2048, "{size} bytes");
    }
}

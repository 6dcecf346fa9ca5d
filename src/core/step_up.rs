//! Step-up ("sudo mode"): a route that needs a recent approval on the phone. The cookie
//! records when the phone last approved and with which methods; a [`Requirement`] (a window
//! and the methods required) says whether that approval is recent enough, and when it is not
//! the request is answered with [`Denial::StepUpRequired`]: `303` to `{prefix}/step-up`
//! (HTML) or `401 {"error": "step_up_required", "step_up_url", "message"}` (JSON). The
//! step-up itself (the page, the start, its completion in the poll) lives with the login
//! handlers (`login::step_up`).

use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::AuthenticationMethod;
use crate::core::context::RequestContext;
use crate::core::identify::identify;
use crate::core::request::RequestHead;
use crate::core::security::redirect::safe_next;
use crate::core::{Denial, Iampass, IampassIdentity};

/// What a guarded route asks of the last approval: made within `window`, and with every one
/// of `methods` asked of the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    pub(crate) window: Duration,
    pub(crate) methods: Vec<AuthenticationMethod>,
}

impl Requirement {
    /// The deployment's default ([`step_up_window`](crate::core::IampassBuilder::step_up_window),
    /// [`step_up_methods`](crate::core::IampassBuilder::step_up_methods)).
    pub(crate) fn default_of(iampass: &Iampass) -> Self {
        let step_up = &iampass.settings().login.step_up;
        Requirement {
            window: step_up.window,
            methods: step_up.methods.clone(),
        }
    }

    /// `true` when the identity's last approval is recent enough and asked for every
    /// required method. A required method missing from the approval fails it, whatever
    /// else it asked for.
    pub(crate) fn is_met_by(&self, identity: &IampassIdentity) -> bool {
        let fresh = identity
            .approved_at()
            .checked_add(self.window)
            .is_some_and(|until| until > SystemTime::now());
        fresh && self.methods.iter().all(|m| identity.methods().contains(m))
    }

    /// The step-up page for `req`: a safe `next` back to it (for `GET`/`HEAD`; other methods
    /// cannot be replayed by a redirect) and the required methods.
    pub(crate) fn step_up_url(&self, prefix: &str, req: &impl RequestHead) -> String {
        let mut url = format!("{prefix}/step-up");
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if matches!(req.method(), "GET" | "HEAD") {
            let target = match req.query() {
                "" => req.path().to_owned(),
                q => format!("{}?{q}", req.path()),
            };
            query.append_pair("next", &safe_next(Some(&target)));
        }
        if !self.methods.is_empty() {
            query.append_pair("methods", &methods_text(&self.methods, ","));
        }
        let query = query.finish();
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        url
    }
}

/// The names of `methods`, joined by `sep`.
pub(crate) fn methods_text(methods: &[AuthenticationMethod], sep: &str) -> String {
    methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(sep)
}

/// A signed-in user whose last approval on the phone is recent: the extractor of routes that
/// need a step-up (as an adapter's extractor; see [`crate::actix`] and [`crate::axum`]). Its
/// window and methods are those of the enclosing step-up guard, else the builder's
/// [`step_up_window`](crate::core::IampassBuilder::step_up_window) and
/// [`step_up_methods`](crate::core::IampassBuilder::step_up_methods). Without a recent
/// approval the handler does not run: `303` to the step-up page (HTML) or `401`
/// `{"error": "step_up_required", ...}` (JSON); without a session, the usual unauthenticated
/// answer.
///
/// ```
/// use iampass::core::RecentApproval;
/// fn api_key_page(who: &RecentApproval) -> String {
///     format!("{}'s key (approved with {:?})", who.user(), who.methods()) // Deref to IampassIdentity
/// }
/// # let _ = api_key_page;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentApproval(pub(crate) IampassIdentity);

impl RecentApproval {
    /// The identity.
    pub fn into_inner(self) -> IampassIdentity {
        self.0
    }
}

impl Deref for RecentApproval {
    type Target = IampassIdentity;

    fn deref(&self) -> &IampassIdentity {
        &self.0
    }
}

/// The request's identity if its last approval meets `requirement` (`None`: the deployment's
/// default), else why not.
pub(crate) async fn recent(
    req: &impl RequestHead,
    context: Option<Arc<RequestContext>>,
    requirement: Option<&Requirement>,
) -> Result<RecentApproval, (Option<Iampass>, Denial)> {
    let iampass = context.as_ref().map(|c| c.iampass().clone());
    let identity = identify(req, context).await?;
    let Some(iampass) = iampass else {
        return Err((None, Denial::MissingMiddleware));
    };
    let default;
    let requirement = match requirement {
        Some(requirement) => requirement,
        None => {
            default = Requirement::default_of(&iampass);
            &default
        }
    };
    if requirement.is_met_by(&identity) {
        return Ok(RecentApproval(identity));
    }
    tracing::debug!(
        user = identity.user(),
        path = req.path(),
        "step-up required: the last approval is too old or lacks a required method"
    );
    let step_up_url = requirement.step_up_url(iampass.routes_prefix(), req);
    Err((Some(iampass), Denial::StepUpRequired { step_up_url }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::request::TestHead;

    #[test]
    fn the_step_up_url_keeps_a_safe_next_and_the_methods() {
        let requirement = Requirement {
            window: Duration::from_secs(60),
            methods: vec![AuthenticationMethod::Facial],
        };
        let get = TestHead {
            method: "GET".into(),
            path: "/settings/api-key".into(),
            query: "tab=1".into(),
            ..TestHead::default()
        };
        assert_eq!(
            requirement.step_up_url("/auth", &get),
            "/auth/step-up?next=%2Fsettings%2Fapi-key%3Ftab%3D1&methods=facial"
        );
        let post = TestHead {
            method: "POST".into(),
            path: "/settings/delete".into(),
            ..TestHead::default()
        };
        let plain = Requirement {
            window: Duration::from_secs(60),
            methods: Vec::new(),
        };
        assert_eq!(plain.step_up_url("/auth", &post), "/auth/step-up");
    }
}

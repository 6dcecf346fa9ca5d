//! Why a request that needs an identity has none ([`Denial`]), and its default answers.

use std::fmt;

use http::StatusCode;
use serde_json::json;

use crate::Status;
use crate::core::answer::Reply;
use crate::core::pages;
use crate::core::request::{RequestHead, accepts_html};
use crate::core::settings::Branding;

/// The message shown while IAMPASS is unavailable.
pub(crate) const UNAVAILABLE_MESSAGE: &str = "IAMPASS, which confirms your sign-in, cannot be \
    reached right now. You have not been signed out; please try again in a moment.";

const MISSING_MIDDLEWARE_MESSAGE: &str =
    "server configuration error: the IAMPASS middleware is missing";

/// Seconds a client is asked to wait while IAMPASS is unavailable.
const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// Why a request that needs an identity has none.
///
/// What an adapter's extractors fail with, and what a custom unauthenticated responder is
/// given. The default answers: `303` to the login page (HTML) or `401` JSON without a
/// session, `303` to the step-up page or `401` `{"error": "step_up_required", "step_up_url",
/// "message"}` when a recent approval is needed, a locked page after a walkaway, `503` with `Retry-After` while IAMPASS cannot be
/// asked, `500` without the middleware.
///
/// ```
/// use iampass::core::Denial;
/// fn explain(denial: &Denial) -> &'static str {
///     match denial {
///         Denial::Unauthenticated { .. } => "please sign in",
///         Denial::Unavailable { .. } => "IAMPASS is down; try later",
///         _ => "misconfigured",
///     }
/// }
/// assert_eq!(explain(&Denial::Unavailable { reason: "timeout".into() }), "IAMPASS is down; try later");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// No active session.
    Unauthenticated {
        /// The status IAMPASS last reported (`walkaway`, `closed`, ...); `None` without a
        /// login cookie.
        status: Option<Status>,
        /// The login page with a safe `next` back to this request.
        login_url: String,
    },
    /// IAMPASS could not be asked and the fail mode refuses the request.
    Unavailable {
        /// What went wrong (for logs; not shown to users by the default responder).
        reason: String,
    },
    /// Signed in, but the route needs a recent approval on the phone (a step-up) and the
    /// last one is too old or was made with other methods.
    StepUpRequired {
        /// The step-up page, with a safe `next` back to this request and the methods the
        /// route requires.
        step_up_url: String,
    },
    /// The route is not wrapped by the adapter's middleware: a configuration error.
    MissingMiddleware,
}

/// The message of a step-up answer.
pub(crate) const STEP_UP_MESSAGE: &str =
    "This action needs a fresh approval on your phone: confirm it is still you.";

impl Denial {
    /// The status of the default answer: `401`, `503` or `500`.
    ///
    /// ```
    /// use iampass::core::Denial;
    /// let denial = Denial::Unavailable { reason: "timeout".into() };
    /// assert_eq!(denial.status_code(), 503);
    /// ```
    pub fn status_code(&self) -> StatusCode {
        match self {
            Denial::Unauthenticated { .. } | Denial::StepUpRequired { .. } => {
                StatusCode::UNAUTHORIZED
            }
            Denial::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Denial::MissingMiddleware => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The default answer, unbranded, to a request: `303` to the login page for HTML
    /// requests and `401` JSON `{"error": "unauthenticated", "status": ...}` otherwise; `503`
    /// (JSON or HTML) while IAMPASS is unavailable; `500` without the middleware. What a
    /// custom unauthenticated responder falls back on (each adapter turns a [`Reply`] into its
    /// framework's response).
    ///
    /// ```
    /// use iampass::core::{Denial, RequestHead};
    /// # struct Api;
    /// # impl RequestHead for Api {
    /// #     fn method(&self) -> &str { "GET" }
    /// #     fn path(&self) -> &str { "/api" }
    /// #     fn query(&self) -> &str { "" }
    /// #     fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    /// #         (name == "accept").then_some("application/json").into_iter()
    /// #     }
    /// #     fn contains_header(&self, name: &str) -> bool { name == "accept" }
    /// #     fn peer_addr(&self) -> Option<std::net::SocketAddr> { None }
    /// #     fn scheme(&self) -> String { "https".into() }
    /// #     fn host(&self) -> String { "example.com".into() }
    /// # }
    /// let denial = Denial::Unauthenticated { status: None, login_url: "/auth/login".into() };
    /// assert_eq!(denial.default_reply(&Api).status(), 401);
    /// ```
    pub fn default_reply(&self, req: &impl RequestHead) -> Reply {
        self.reply(accepts_html(req), &Branding::default())
    }

    /// The default answer, for an HTML client or not, with `branding` on its pages.
    pub(crate) fn reply(&self, html: bool, branding: &Branding) -> Reply {
        self.plain_reply(html, branding).csp(branding.csp.clone())
    }

    fn plain_reply(&self, html: bool, branding: &Branding) -> Reply {
        match self {
            // A walked-away user is not a stranger: the page says why it is locked.
            Denial::Unauthenticated {
                status: Some(Status::Walkaway),
                login_url,
            } if html => Reply::html(
                StatusCode::FORBIDDEN,
                pages::message_page(
                    branding,
                    "Locked: your phone is away",
                    "Bring your phone back near you, then reload this page. You are still \
                     signed in.",
                    Some(login_url.as_str()),
                ),
            ),
            Denial::Unauthenticated { login_url, .. } if html => {
                Reply::see_other(login_url.as_str())
            }
            Denial::Unauthenticated { status, .. } => Reply::json(
                StatusCode::UNAUTHORIZED,
                json!({"error": "unauthenticated", "status": status.map(Status::as_str)}),
            ),
            Denial::StepUpRequired { step_up_url } if html => {
                Reply::see_other(step_up_url.as_str())
            }
            Denial::StepUpRequired { step_up_url } => Reply::json(
                StatusCode::UNAUTHORIZED,
                json!({"error": "step_up_required", "step_up_url": step_up_url,
                       "message": STEP_UP_MESSAGE}),
            ),
            Denial::Unavailable { .. } if html => Reply::html(
                StatusCode::SERVICE_UNAVAILABLE,
                pages::unavailable_page(branding, UNAVAILABLE_MESSAGE),
            )
            .retry_after(UNAVAILABLE_RETRY_AFTER),
            Denial::Unavailable { .. } => Reply::json(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "iampass_unavailable", "message": UNAVAILABLE_MESSAGE}),
            )
            .retry_after(UNAVAILABLE_RETRY_AFTER),
            Denial::MissingMiddleware if html => Reply::html(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::unavailable_page(branding, MISSING_MIDDLEWARE_MESSAGE),
            ),
            Denial::MissingMiddleware => Reply::json(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "misconfigured", "message": MISSING_MIDDLEWARE_MESSAGE}),
            ),
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::Unauthenticated { .. } => f.write_str("unauthenticated"),
            Denial::StepUpRequired { .. } => f.write_str("step-up required"),
            Denial::Unavailable { .. } => f.write_str("IAMPASS unavailable"),
            Denial::MissingMiddleware => f.write_str("IAMPASS middleware missing"),
        }
    }
}

impl std::error::Error for Denial {}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(denial: &Denial, html: bool) -> (StatusCode, Vec<crate::core::answer::Header>) {
        let (status, headers, _, _) = denial.reply(html, &Branding::default()).into_parts();
        (status, headers)
    }

    fn has(headers: &[crate::core::answer::Header], name: &str, value: Option<&str>) -> bool {
        headers
            .iter()
            .any(|(n, v)| *n == name && value.is_none_or(|value| v == value))
    }

    #[test]
    fn default_answers_by_kind_of_client() {
        let anon = Denial::Unauthenticated {
            status: Some(Status::Closed),
            login_url: "/auth/login?next=%2Fx".into(),
        };
        let (status, headers) = answer(&anon, true);
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(has(&headers, "location", Some("/auth/login?next=%2Fx")));
        assert_eq!(answer(&anon, false).0, StatusCode::UNAUTHORIZED);
        // Walked away: a locked page for a browser, 401 for an API client.
        let away = Denial::Unauthenticated {
            status: Some(Status::Walkaway),
            login_url: "/auth/login?next=%2Fx".into(),
        };
        assert_eq!(answer(&away, true).0, StatusCode::FORBIDDEN);
        assert_eq!(answer(&away, false).0, StatusCode::UNAUTHORIZED);
        let down = Denial::Unavailable {
            reason: "timeout".into(),
        };
        for html in [true, false] {
            let (status, headers) = answer(&down, html);
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert!(has(&headers, "retry-after", None));
        }
        assert_eq!(
            answer(&Denial::MissingMiddleware, false).0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(anon.to_string(), "unauthenticated");
        let stale = Denial::StepUpRequired {
            step_up_url: "/auth/step-up?next=%2Fx".into(),
        };
        let (status, headers) = answer(&stale, true);
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(has(&headers, "location", Some("/auth/step-up?next=%2Fx")));
        assert_eq!(answer(&stale, false).0, StatusCode::UNAUTHORIZED);
        assert_eq!(down.status_code(), StatusCode::SERVICE_UNAVAILABLE);
    }
}

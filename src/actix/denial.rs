//! Why a request that needs an identity has none ([`Denial`]), its default answers, and the
//! error the extractors fail with ([`Rejection`]: the denial plus the answer already chosen
//! for the request).

use std::cell::RefCell;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use super::config::Branding;
use super::pages;
use super::respond::{Reply, accepts_html};
use crate::Status;

/// The message shown while IAMPASS is unavailable.
pub(crate) const UNAVAILABLE_MESSAGE: &str = "IAMPASS, which confirms your sign-in, cannot be \
    reached right now. You have not been signed out; please try again in a moment.";

const MISSING_MIDDLEWARE_MESSAGE: &str =
    "server configuration error: the IAMPASS middleware is missing";

/// Seconds a client is asked to wait while IAMPASS is unavailable.
const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// Why a request that needs an identity has none.
///
/// Given to a custom
/// [`unauthenticated_responder`](super::IampassBuilder::unauthenticated_responder), and to
/// handlers that take `Result<IampassIdentity, Denial>`. As an [`actix_web::ResponseError`]
/// (a handler returning `Err(denial)`) it answers as to an API client: `401` JSON, `503`
/// JSON with `Retry-After`, or `500`; [`Denial::default_response`] also serves browsers.
///
/// ```
/// use actix_web::HttpResponse;
/// use iampass::actix::{Denial, Iampass, IampassIdentity};
/// let builder = Iampass::builder("app", "secret").unauthenticated_responder(|req, denial| {
///     match denial {
///         Denial::Unauthenticated { .. } => HttpResponse::Unauthorized().body("sign in first"),
///         other => other.default_response(req),
///     }
/// });
/// # let _ = builder;
/// // A handler that decides for itself:
/// async fn page(who: Result<IampassIdentity, Denial>) -> String {
///     match who {
///         Ok(who) => format!("hello {}", who.user()),
///         Err(Denial::Unavailable { .. }) => "IAMPASS is down; try later".into(),
///         Err(_) => "hello stranger".into(),
///     }
/// }
/// # let _ = page;
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
    /// The route is not wrapped by [`Iampass::middleware`](super::Iampass::middleware): a
    /// configuration error.
    MissingMiddleware,
}

impl Denial {
    /// The default answer: `303` to the login page for HTML requests and `401` JSON
    /// `{"error": "unauthenticated", "status": ...}` otherwise; `503` (JSON or HTML) while
    /// IAMPASS is unavailable; `500` without the middleware.
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use iampass::actix::Denial;
    /// let req = TestRequest::default().insert_header(("Accept", "application/json")).to_http_request();
    /// let denial = Denial::Unauthenticated { status: None, login_url: "/auth/login".into() };
    /// assert_eq!(denial.default_response(&req).status(), 401);
    /// ```
    pub fn default_response(&self, req: &HttpRequest) -> HttpResponse {
        self.reply(accepts_html(req), &Branding::default()).finish()
    }

    /// [`default_response`](Self::default_response) with the application's branding on its
    /// pages (the locked page, the outage page).
    pub(crate) fn branded_response(&self, req: &HttpRequest, branding: &Branding) -> HttpResponse {
        self.reply(accepts_html(req), branding)
            .csp(branding.csp.clone())
            .finish()
    }

    fn reply(&self, html: bool, branding: &Branding) -> Reply {
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
            Denial::Unavailable { .. } => f.write_str("IAMPASS unavailable"),
            Denial::MissingMiddleware => f.write_str("IAMPASS middleware missing"),
        }
    }
}

impl std::error::Error for Denial {}

impl ResponseError for Denial {
    fn status_code(&self) -> StatusCode {
        match self {
            Denial::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Denial::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Denial::MissingMiddleware => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.reply(false, &Branding::default()).finish()
    }
}

/// The error of the IAMPASS extractors ([`IampassIdentity`](super::IampassIdentity),
/// [`RequireIampass`](super::RequireIampass)): the [`Denial`] and the answer chosen for this
/// request (content-negotiated, through a custom
/// [`unauthenticated_responder`](super::IampassBuilder::unauthenticated_responder) when one
/// is configured). Converts into a [`Denial`], which is what makes
/// `Result<IampassIdentity, Denial>` an extractor.
///
/// ```
/// use iampass::actix::{Denial, Rejection};
/// fn why(rejection: Rejection) -> Denial {
///     rejection.into()
/// }
/// # let _ = why;
/// ```
pub struct Rejection {
    denial: Denial,
    response: RefCell<Option<HttpResponse>>,
}

impl Rejection {
    pub(crate) fn new(denial: Denial, response: HttpResponse) -> Self {
        Rejection {
            denial,
            response: RefCell::new(Some(response)),
        }
    }

    /// Why the request was refused.
    pub fn denial(&self) -> &Denial {
        &self.denial
    }
}

impl From<Rejection> for Denial {
    fn from(rejection: Rejection) -> Self {
        rejection.denial
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("denial", &self.denial)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.denial, f)
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        self.response
            .borrow()
            .as_ref()
            .map_or_else(|| self.denial.status_code(), HttpResponse::status)
    }

    fn error_response(&self) -> HttpResponse {
        // Chosen with the request in hand; asked for a second time, the request-less answer.
        self.response
            .borrow_mut()
            .take()
            .unwrap_or_else(|| self.denial.error_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{ACCEPT, LOCATION, RETRY_AFTER};
    use actix_web::test::TestRequest;

    #[test]
    fn default_responses_by_accept() {
        let html = TestRequest::get()
            .insert_header((ACCEPT, "text/html,*/*;q=0.8"))
            .to_http_request();
        let api = TestRequest::get()
            .insert_header((ACCEPT, "application/json"))
            .to_http_request();
        let anon = Denial::Unauthenticated {
            status: Some(Status::Closed),
            login_url: "/auth/login?next=%2Fx".into(),
        };
        let r = anon.default_response(&html);
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers().get(LOCATION).unwrap(), "/auth/login?next=%2Fx");
        assert_eq!(
            anon.default_response(&api).status(),
            StatusCode::UNAUTHORIZED
        );
        // Walked away: a locked page for a browser, 401 for an API client.
        let away = Denial::Unauthenticated {
            status: Some(Status::Walkaway),
            login_url: "/auth/login?next=%2Fx".into(),
        };
        assert_eq!(away.default_response(&html).status(), StatusCode::FORBIDDEN);
        assert_eq!(
            away.default_response(&api).status(),
            StatusCode::UNAUTHORIZED
        );
        let down = Denial::Unavailable {
            reason: "timeout".into(),
        };
        for req in [&html, &api] {
            let r = down.default_response(req);
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(r.headers().contains_key(RETRY_AFTER));
        }
        assert_eq!(
            Denial::MissingMiddleware.default_response(&api).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn as_a_response_error_it_answers_api_clients() {
        let anon = Denial::Unauthenticated {
            status: None,
            login_url: "/auth/login".into(),
        };
        let r = anon.error_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(anon.to_string(), "unauthenticated");
        let down = Denial::Unavailable { reason: "x".into() };
        assert_eq!(down.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(down.error_response().headers().contains_key(RETRY_AFTER));
    }

    #[test]
    fn a_rejection_answers_what_was_chosen_once() {
        let rejection = Rejection::new(
            Denial::MissingMiddleware,
            HttpResponse::ImATeapot().finish(),
        );
        assert_eq!(rejection.status_code(), StatusCode::IM_A_TEAPOT);
        assert_eq!(rejection.error_response().status(), StatusCode::IM_A_TEAPOT);
        assert_eq!(
            rejection.error_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(Denial::from(rejection), Denial::MissingMiddleware);
    }
}

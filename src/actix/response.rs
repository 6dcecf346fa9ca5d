//! The core's answers as actix-web responses: [`Reply`] → `HttpResponse`, and the
//! `Responder` / `ResponseError` impls of the core's public answer types.

use std::convert::Infallible;

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError};
use futures_util::StreamExt as _;

use crate::core::{Branding, Denial, LoginError, LoginStarted, Reply, ReplyBody, accepts_html};

/// The `HttpResponse` of a core answer.
pub(crate) fn respond(reply: Reply) -> HttpResponse {
    let (status, headers, cookie, body) = reply.into_parts();
    let status = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in headers {
        if name == "set-cookie" {
            builder.append_header((name, value.into_owned()));
        } else {
            builder.insert_header((name, value.into_owned()));
        }
    }
    if let Some(cookie) = cookie {
        builder.cookie(cookie);
    }
    match body {
        ReplyBody::Empty => builder.finish(),
        ReplyBody::Full(bytes) => builder.body(bytes),
        ReplyBody::Stream(events) => builder.streaming(events.map(Ok::<_, Infallible>)),
    }
}

impl Responder for Reply {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        respond(self)
    }
}

impl Responder for LoginStarted {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        respond(self.into_reply())
    }
}

impl LoginStarted {
    /// The actix response, to return or to adjust (`LoginStarted` is also a `Responder`;
    /// with the `axum` feature it is `IntoResponse`, whose `into_response` this is not).
    ///
    /// ```no_run
    /// use actix_web::{HttpRequest, HttpResponse, web};
    /// use iampass::actix::{Iampass, SecondFactor};
    /// async fn second_step(req: HttpRequest, iampass: web::Data<Iampass>) -> HttpResponse {
    ///     match iampass.start_login(&req, SecondFactor::new("alice")).await {
    ///         Ok(started) => started.into_http_response(),
    ///         Err(e) => HttpResponse::ServiceUnavailable().body(e.message().to_owned()),
    ///     }
    /// }
    /// ```
    pub fn into_http_response(self) -> HttpResponse {
        respond(self.into_reply())
    }
}

fn actix_status(status: http::StatusCode) -> StatusCode {
    StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A handler returning `Err(denial)` answers as to an API client: `401` JSON, `503` JSON with
/// `Retry-After`, or `500`.
impl ResponseError for Denial {
    fn status_code(&self) -> StatusCode {
        actix_status(Denial::status_code(self))
    }

    fn error_response(&self) -> HttpResponse {
        respond(self.reply(false, &Branding::default()))
    }
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
        respond(self.reply(accepts_html(req), &Branding::default()))
    }
}

impl ResponseError for LoginError {
    fn status_code(&self) -> StatusCode {
        actix_status(LoginError::status_code(self))
    }

    fn error_response(&self) -> HttpResponse {
        respond(self.to_reply())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{ACCEPT, LOCATION, RETRY_AFTER};
    use actix_web::test::TestRequest;

    use crate::Status;

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
        let down = Denial::Unavailable {
            reason: "timeout".into(),
        };
        for req in [&html, &api] {
            let r = down.default_response(req);
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(r.headers().contains_key(RETRY_AFTER));
        }
    }

    #[test]
    fn as_a_response_error_it_answers_api_clients() {
        let anon = Denial::Unauthenticated {
            status: None,
            login_url: "/auth/login".into(),
        };
        assert_eq!(anon.error_response().status(), StatusCode::UNAUTHORIZED);
        let down = Denial::Unavailable { reason: "x".into() };
        assert_eq!(
            ResponseError::status_code(&down),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(down.error_response().headers().contains_key(RETRY_AFTER));
    }
}

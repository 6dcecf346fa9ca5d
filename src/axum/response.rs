//! The core's answers as axum responses: [`Reply`] → `Response`, and the `IntoResponse`
//! impls of the core's public answer types.

use std::convert::Infallible;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use http::header::SET_COOKIE;
use http::{HeaderName, HeaderValue};

use crate::core::{Branding, Denial, LoginError, LoginStarted, Reply, ReplyBody};

/// The `Response` of a core answer.
pub(crate) fn respond(reply: Reply) -> Response {
    let (status, headers, cookie, body) = reply.into_parts();
    let body = match body {
        ReplyBody::Empty => Body::empty(),
        ReplyBody::Full(bytes) => Body::from(bytes),
        ReplyBody::Stream(events) => Body::from_stream(events.map(Ok::<_, Infallible>)),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let map = response.headers_mut();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            if name == "set-cookie" {
                map.append(SET_COOKIE, value);
            } else {
                map.insert(HeaderName::from_static(name), value);
            }
        }
    }
    if let Some(cookie) = cookie
        && let Ok(value) = HeaderValue::from_str(&cookie.encoded().to_string())
    {
        map.append(SET_COOKIE, value);
    }
    response
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        respond(self)
    }
}

impl IntoResponse for LoginStarted {
    fn into_response(self) -> Response {
        respond(self.into_reply())
    }
}

impl IntoResponse for LoginError {
    fn into_response(self) -> Response {
        respond(self.to_reply())
    }
}

/// A handler returning `Err(denial)` answers as to an API client: `401` JSON, `503` JSON with
/// `Retry-After`, or `500`.
impl IntoResponse for Denial {
    fn into_response(self) -> Response {
        respond(self.reply(false, &Branding::default()))
    }
}

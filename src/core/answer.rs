//! Every answer the core gives is a [`Reply`]: a status, one body (JSON, an HTML page, a
//! redirect, a script or an event stream), optional `Retry-After` and cookie, and for
//! everything about a login `Cache-Control: no-store`. An adapter turns it into its
//! framework's response with [`Reply::into_parts`]: the core never builds one itself.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use cookie::Cookie;
use futures_util::stream::BoxStream;
use http::StatusCode;

use super::csp::page_csp;

/// A response header: a lower-case name and its value.
pub type Header = (&'static str, Cow<'static, str>);

/// The body of a [`Reply`], as an adapter writes it.
pub enum ReplyBody {
    /// No body.
    Empty,
    /// The whole body.
    Full(Bytes),
    /// A body written as it comes (the event stream); it ends when the stream does.
    Stream(BoxStream<'static, Bytes>),
}

impl std::fmt::Debug for ReplyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyBody::Empty => f.write_str("Empty"),
            ReplyBody::Full(bytes) => f.debug_tuple("Full").field(&bytes.len()).finish(),
            ReplyBody::Stream(_) => f.write_str("Stream"),
        }
    }
}

enum Body {
    Json(serde_json::Value),
    Html(String),
    Redirect(String),
    /// A static file of the crate (a script), cacheable for `max_age` seconds.
    Asset {
        content_type: &'static str,
        body: &'static str,
        max_age: u32,
    },
    EventStream(BoxStream<'static, Bytes>),
}

/// One answer of the core, turned into a framework response by the adapter
/// ([`Reply::into_parts`]).
#[must_use]
pub struct Reply {
    status: StatusCode,
    body: Body,
    retry_after: Option<u64>,
    cookie: Option<Cookie<'static>>,
    /// Another cookie of the crate (the step-up cookie), written as a `set-cookie` header.
    extra_cookie: Option<Cookie<'static>>,
    security_headers: bool,
    /// The page's CSP when not the default one (branded pages).
    csp: Option<Arc<str>>,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("cookie", &self.cookie.as_ref().map(|c| c.name().to_owned()))
            .finish_non_exhaustive()
    }
}

impl Reply {
    /// A JSON answer.
    pub(crate) fn json(status: StatusCode, body: serde_json::Value) -> Self {
        Reply::new(status, Body::Json(body))
    }

    /// An HTML page.
    pub(crate) fn html(status: StatusCode, page: String) -> Self {
        Reply::new(status, Body::Html(page))
    }

    /// `303 See Other` to `location`.
    pub(crate) fn see_other(location: impl Into<String>) -> Self {
        Reply::new(StatusCode::SEE_OTHER, Body::Redirect(location.into()))
    }

    /// A script the crate serves: cacheable for `max_age` seconds, never sniffed as anything
    /// else.
    pub(crate) fn script(body: &'static str, max_age: u32) -> Self {
        Reply::new(
            StatusCode::OK,
            Body::Asset {
                content_type: "text/javascript; charset=utf-8",
                body,
                max_age,
            },
        )
    }

    /// `200` with a `text/event-stream` body.
    pub(crate) fn event_stream(events: BoxStream<'static, Bytes>) -> Self {
        Reply::new(StatusCode::OK, Body::EventStream(events))
    }

    fn new(status: StatusCode, body: Body) -> Self {
        Reply {
            status,
            body,
            retry_after: None,
            cookie: None,
            extra_cookie: None,
            security_headers: true,
            csp: None,
        }
    }

    /// Whether an HTML page carries the security headers (on unless the application turned
    /// them off).
    pub(crate) fn security_headers(mut self, enabled: bool) -> Self {
        self.security_headers = enabled;
        self
    }

    /// The CSP of a branded page (its style block's hash allowed), when there is one.
    pub(crate) fn csp(mut self, csp: Option<Arc<str>>) -> Self {
        self.csp = csp;
        self
    }

    /// Adds `Retry-After: secs`.
    pub(crate) fn retry_after(mut self, secs: impl Into<Option<u64>>) -> Self {
        self.retry_after = secs.into().or(self.retry_after);
        self
    }

    /// Sets (or removes, with a removal cookie) our cookie, when there is one to set.
    pub(crate) fn cookie(mut self, cookie: Option<Cookie<'static>>) -> Self {
        self.cookie = cookie.or(self.cookie);
        self
    }

    /// Sets (or removes) a second cookie of the crate, the step-up cookie, when there is one.
    pub(crate) fn extra_cookie(mut self, cookie: Option<Cookie<'static>>) -> Self {
        self.extra_cookie = cookie.or(self.extra_cookie);
        self
    }

    /// The answer's status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The status, the headers (the session cookie aside), the session cookie to set and the
    /// body. A second cookie of the crate (the short-lived step-up cookie) is one of the
    /// headers, as `set-cookie`: an adapter appends `set-cookie` headers, never replaces.
    pub fn into_parts(self) -> (StatusCode, Vec<Header>, Option<Cookie<'static>>, ReplyBody) {
        let mut headers: Vec<Header> = Vec::with_capacity(8);
        if let Some(extra) = &self.extra_cookie {
            headers.push(("set-cookie", extra.encoded().to_string().into()));
        }
        if let Some(secs) = self.retry_after {
            headers.push(("retry-after", secs.to_string().into()));
        }
        let body = match self.body {
            Body::Json(value) => {
                headers.push(("cache-control", "no-store".into()));
                headers.push(("content-type", "application/json".into()));
                ReplyBody::Full(serde_json::to_vec(&value).unwrap_or_default().into())
            }
            Body::Html(page) => {
                headers.push(("cache-control", "no-store".into()));
                if self.security_headers {
                    let csp: Cow<'static, str> = match self.csp {
                        Some(csp) => csp.to_string().into(),
                        None => page_csp().into(),
                    };
                    headers.push(("content-security-policy", csp));
                    headers.push(("x-frame-options", "DENY".into()));
                    headers.push(("x-content-type-options", "nosniff".into()));
                    headers.push(("referrer-policy", "same-origin".into()));
                }
                headers.push(("content-type", "text/html; charset=utf-8".into()));
                ReplyBody::Full(page.into())
            }
            Body::Redirect(location) => {
                headers.push(("cache-control", "no-store".into()));
                headers.push(("location", location.into()));
                ReplyBody::Empty
            }
            Body::Asset {
                content_type,
                body,
                max_age,
            } => {
                headers.push(("content-type", content_type.into()));
                headers.push(("cache-control", format!("public, max-age={max_age}").into()));
                headers.push(("x-content-type-options", "nosniff".into()));
                ReplyBody::Full(Bytes::from_static(body.as_bytes()))
            }
            Body::EventStream(events) => {
                headers.push(("content-type", "text/event-stream".into()));
                headers.push(("cache-control", "no-store".into()));
                headers.push(("x-accel-buffering", "no".into()));
                headers.push(("x-content-type-options", "nosniff".into()));
                ReplyBody::Stream(events)
            }
        };
        (self.status, headers, self.cookie, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }

    #[test]
    fn every_reply_is_no_store_with_its_extras() {
        let (status, headers, cookie, _) =
            Reply::json(StatusCode::SERVICE_UNAVAILABLE, json!({"a": 1}))
                .retry_after(5)
                .cookie(Some(Cookie::new("c", "v")))
                .into_parts();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&headers, "cache-control"), Some("no-store"));
        assert_eq!(header(&headers, "retry-after"), Some("5"));
        assert_eq!(cookie.unwrap().name(), "c");
        let (_, headers, _, _) = Reply::see_other("/x").into_parts();
        assert_eq!(header(&headers, "location"), Some("/x"));
        assert_eq!(header(&headers, "cache-control"), Some("no-store"));
        let (_, headers, _, _) = Reply::html(StatusCode::OK, "<p>".into()).into_parts();
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(header(&headers, "retry-after"), None);
        let csp = header(&headers, "content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(header(&headers, "x-frame-options"), Some("DENY"));
        assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
        let (_, headers, _, _) = Reply::html(StatusCode::OK, "<p>".into())
            .security_headers(false)
            .into_parts();
        assert_eq!(header(&headers, "content-security-policy"), None);
    }
}

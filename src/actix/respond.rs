//! Every answer the integration writes goes through [`Reply`]: a status, one body (JSON, an
//! HTML page or a redirect), optional `Retry-After` and cookie, and always
//! `Cache-Control: no-store` (answers about a login must never be cached). Also the content
//! negotiation helpers ([`accepts_html`], [`is_form`]).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse};

/// `true` when the client prefers an HTML answer (a browser navigation or form).
///
/// ```
/// use iampass::actix::accepts_html;
/// let req = actix_web::test::TestRequest::default()
///     .insert_header(("Accept", "text/html,application/xhtml+xml"))
///     .to_http_request();
/// assert!(accepts_html(&req));
/// ```
pub fn accepts_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// `true` for an HTML form submission.
pub(crate) fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .starts_with("application/x-www-form-urlencoded")
        })
}

enum Body {
    Json(serde_json::Value),
    Html(String),
    Redirect(String),
}

/// One answer, written by [`Reply::finish`].
#[must_use]
pub(crate) struct Reply {
    status: StatusCode,
    body: Body,
    retry_after: Option<u64>,
    cookie: Option<Cookie<'static>>,
    security_headers: bool,
    /// The page's CSP when not [`page_csp`] (branded pages).
    csp: Option<std::sync::Arc<str>>,
}

/// The `Content-Security-Policy` of the crate's pages: their own script and style files only,
/// no inline code (the base page's one style block is allowed by its hash), no framing.
pub(crate) fn page_csp() -> &'static str {
    static CSP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP.get_or_init(|| csp_with_styles(""))
}

/// [`page_csp`] that also allows the branding's style block, by its hash (`sha256-…`).
pub(crate) fn page_csp_with(style_hash: &str) -> String {
    csp_with_styles(&format!(" '{style_hash}'"))
}

fn csp_with_styles(extra: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' '{}'{extra}; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        crate::actix::pages::base_style_hash()
    )
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

    fn new(status: StatusCode, body: Body) -> Self {
        Reply {
            status,
            body,
            retry_after: None,
            cookie: None,
            security_headers: true,
            csp: None,
        }
    }

    /// Whether an HTML page carries the security headers (on unless the application turned
    /// them off with [`security_headers`](crate::actix::IampassBuilder::security_headers)).
    pub(crate) fn security_headers(mut self, enabled: bool) -> Self {
        self.security_headers = enabled;
        self
    }

    /// The CSP of a branded page (its style block's hash allowed), when there is one.
    pub(crate) fn csp(mut self, csp: Option<std::sync::Arc<str>>) -> Self {
        self.csp = csp;
        self
    }

    /// Adds `Retry-After: secs`.
    pub(crate) fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Sets (or removes, with a removal cookie) our cookie, when there is one to set.
    pub(crate) fn cookie(mut self, cookie: Option<Cookie<'static>>) -> Self {
        self.cookie = cookie.or(self.cookie);
        self
    }

    /// The response.
    pub(crate) fn finish(self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        builder.insert_header((CACHE_CONTROL, "no-store"));
        if let Some(secs) = self.retry_after {
            builder.insert_header((RETRY_AFTER, secs.to_string()));
        }
        if let Some(cookie) = self.cookie {
            builder.cookie(cookie);
        }
        match self.body {
            Body::Json(value) => builder.json(value),
            Body::Html(page) => {
                if self.security_headers {
                    builder
                        .insert_header((
                            "Content-Security-Policy",
                            self.csp.as_deref().unwrap_or(page_csp()),
                        ))
                        .insert_header(("X-Frame-Options", "DENY"))
                        .insert_header(("X-Content-Type-Options", "nosniff"))
                        .insert_header(("Referrer-Policy", "same-origin"));
                }
                builder.content_type("text/html; charset=utf-8").body(page)
            }
            Body::Redirect(location) => builder.insert_header((LOCATION, location)).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_reply_is_no_store_with_its_extras() {
        let r = Reply::json(StatusCode::SERVICE_UNAVAILABLE, json!({"a": 1}))
            .retry_after(5)
            .cookie(Some(Cookie::new("c", "v")))
            .finish();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers().get(CACHE_CONTROL).unwrap(), "no-store");
        assert_eq!(r.headers().get(RETRY_AFTER).unwrap(), "5");
        assert_eq!(r.cookies().next().unwrap().name(), "c");
        let r = Reply::see_other("/x").finish();
        assert_eq!(r.headers().get(LOCATION).unwrap(), "/x");
        assert_eq!(r.headers().get(CACHE_CONTROL).unwrap(), "no-store");
        let r = Reply::html(StatusCode::OK, "<p>".into()).finish();
        assert_eq!(
            r.headers().get(CONTENT_TYPE).unwrap(),
            "text/html; charset=utf-8"
        );
        assert!(!r.headers().contains_key(RETRY_AFTER));
        let csp = r
            .headers()
            .get("Content-Security-Policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(r.headers().get("X-Frame-Options").unwrap(), "DENY");
        assert_eq!(
            r.headers().get("X-Content-Type-Options").unwrap(),
            "nosniff"
        );
        let r = Reply::html(StatusCode::OK, "<p>".into())
            .security_headers(false)
            .finish();
        assert!(!r.headers().contains_key("Content-Security-Policy"));
    }
}

//! Answers shared by the routes: refusals (plain text on the wire API, JSON on the control
//! API), JSON bodies, and decoding of `quote_plus`-encoded path segments and query strings.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::unquote_plus;

/// A refusal: the handler stops and answers this.
#[derive(Debug)]
pub(crate) struct Reject {
    status: StatusCode,
    body: String,
    json: bool,
}

impl Reject {
    /// A plain-text refusal (the wire API's style).
    pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Self {
        Reject {
            status,
            body: body.into(),
            json: false,
        }
    }

    /// A JSON refusal `{"error": ...}` (the control API's style), with extra fields.
    pub(crate) fn json(status: StatusCode, error: &str, extra: serde_json::Value) -> Self {
        let mut body = serde_json::json!({ "error": error });
        if let (Some(obj), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
            obj.extend(extra);
        }
        Reject {
            status,
            body: body.to_string(),
            json: true,
        }
    }

    pub(crate) fn unauthorized(body: impl Into<String>) -> Self {
        Reject::text(StatusCode::UNAUTHORIZED, body)
    }

    pub(crate) fn not_found(body: impl Into<String>) -> Self {
        Reject::text(StatusCode::NOT_FOUND, body)
    }

    pub(crate) fn bad_request(body: impl Into<String>) -> Self {
        Reject::text(StatusCode::BAD_REQUEST, body)
    }

    /// The same refusal in the control API's JSON style.
    pub(crate) fn into_json(self) -> Self {
        if self.json {
            return self;
        }
        let error = self.body.clone();
        Reject::json(self.status, &error, serde_json::Value::Null)
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.body)
    }
}

impl ResponseError for Reject {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let content_type = if self.json {
            "application/json"
        } else {
            "text/plain; charset=utf-8"
        };
        HttpResponse::build(self.status)
            .content_type(content_type)
            .body(self.body.clone())
    }
}

/// What handlers answer.
pub(crate) type Reply = Result<HttpResponse, Reject>;

/// A JSON answer with the given status.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned()))
}

/// `scheme://host` the request was sent to: the base of the URLs the emulator hands out.
pub(crate) fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// The `index`-th `/`-separated segment of the raw request path, `quote_plus`-decoded
/// (`""` is segment 0, before the first slash).
pub(crate) fn segment(req: &HttpRequest, index: usize) -> Result<String, Reject> {
    let raw = req
        .uri()
        .path()
        .split('/')
        .nth(index)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Reject::not_found("not found"))?;
    unquote_plus(raw).ok_or_else(|| Reject::bad_request("path segment is not UTF-8"))
}

/// The query string's `name=value` pairs, `quote_plus`-decoded.
pub(crate) fn query(req: &HttpRequest) -> Result<Vec<(String, String)>, Reject> {
    let mut out = Vec::new();
    for pair in req.query_string().split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            unquote_plus(s).ok_or_else(|| Reject::bad_request("query string is not UTF-8"))
        };
        out.push((decode(name)?, decode(value)?));
    }
    Ok(out)
}

/// The first value of a query parameter.
pub(crate) fn query_param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// Parses a JSON body; anything else is a `400` naming the problem.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Reject> {
    serde_json::from_slice(body)
        .map_err(|e| Reject::bad_request(format!("malformed JSON body: {e}")))
}

//! Who may use the control API and the phone page.
//!
//! The IAMPASS wire API (`/management/*`, `/authentication/*`) is signed and answers any
//! `Host`, as the live service does. Everything else approves logins and replaces secrets for
//! whoever asks, so:
//!
//! - a request whose `Host` is not the address it came in on, a loopback name (`localhost`,
//!   `127.0.0.1`, `[::1]`) with the port, or a name allowed with
//!   [`allow_host`](crate::emulator::EmulatorBuilder::allow_host) is refused `403` (DNS
//!   rebinding), and so is one with a foreign `Origin` or `Sec-Fetch-Site: cross-site`
//!   (a cross-site form or `fetch`); registration links (`/phone/register/*`,
//!   `/_emulator/registrations/*`) answer any `Host`, as their URL names the one the wire API
//!   was called with;
//! - with a control token (required when listening beyond loopback), `/_emulator/*` and the
//!   phone page want `Authorization: Bearer <token>` or the cookie the phone page sets when
//!   opened with `?token=<token>`, else `401`. Registration links and `/_emulator/registrations/*`
//!   stay open: their token is their capability, as on the live service.

use std::net::SocketAddr;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use subtle::ConstantTimeEq;

use super::reply::{query, query_param};
use crate::Secret;

/// The cookie that carries the control token for the phone page in a browser.
pub(crate) const TOKEN_COOKIE: &str = "iampass_emulator_token";

/// The address a connection came in on, recorded when it is accepted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalAddr(pub(crate) SocketAddr);

/// Access settings, fixed at start.
#[derive(Debug, Clone, Default)]
pub(crate) struct Access {
    /// The address the server is bound to.
    pub(crate) bound: Option<SocketAddr>,
    /// Further `Host` names accepted (`name` or `name:port`), lower case.
    pub(crate) hosts: Vec<String>,
    /// The bearer token the control API and phone page want, if any.
    pub(crate) token: Option<Secret>,
}

impl Access {
    /// Whether `host` (a `Host` header or an `Origin`'s authority) names this server.
    fn host_allowed(&self, host: &str, local: Option<SocketAddr>) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let Some(addr) = local.or(self.bound) else {
            return false;
        };
        let port = addr.port();
        // `name` alone is `name:80`.
        let with_port = if host.ends_with(']') || !host.contains(':') {
            format!("{host}:80")
        } else {
            host
        };
        let mut names = vec![
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
            addr.to_string(),
        ];
        if let Some(bound) = self.bound.filter(|b| !b.ip().is_unspecified()) {
            names.push(bound.to_string());
        }
        for name in &self.hosts {
            if name.contains(':') && !name.ends_with(']') {
                names.push(name.clone());
            } else {
                names.push(format!("{name}:{port}"));
            }
        }
        names.contains(&with_port)
    }

    /// Whether the request carries the token, in `Authorization` or the phone page's cookie.
    fn has_token(&self, req: &ServiceRequest, token: &Secret) -> bool {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let cookie = req.cookie(TOKEN_COOKIE);
        let cookie = cookie.as_ref().map(|c| c.value());
        [bearer, cookie]
            .into_iter()
            .flatten()
            .any(|given| same(given, token))
    }
}

fn same(given: &str, token: &Secret) -> bool {
    bool::from(given.as_bytes().ct_eq(token.expose().as_bytes()))
}

/// Wire API routes: signed, any `Host`.
fn is_wire(path: &str) -> bool {
    path.starts_with("/management/") || path.starts_with("/authentication/")
}

/// Registration links (their token is the capability, and their URL names the `Host` the
/// wire API was called with, which may be any) and the page's static files.
fn is_open(path: &str) -> bool {
    path.starts_with("/_emulator/registrations/")
        || path.starts_with("/phone/register/")
        || path == "/phone/phone.js"
        || path == "/phone/phone.css"
}

/// Routes the token guards: the control API and the phone page's state, not the open ones.
fn wants_token(path: &str) -> bool {
    if is_open(path) {
        return false;
    }
    path.starts_with("/_emulator/")
        || path == "/phone"
        || path.starts_with("/phone/")
        || path == "/"
}

fn refuse(status: StatusCode, message: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    response.json(serde_json::json!({ "error": message }))
}

/// The middleware: see the module's documentation.
pub(crate) async fn guard<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let path = req.path().to_owned();
    if is_wire(&path) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let access = req
        .app_data::<web::Data<Access>>()
        .map(|access| access.get_ref().clone())
        .unwrap_or_default();
    let local = req.conn_data::<LocalAddr>().map(|a| a.0);
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };

    if let Some(host) = header(header::HOST)
        && !is_open(&path)
        && !access.host_allowed(host, local)
    {
        let response = refuse(
            StatusCode::FORBIDDEN,
            "this Host is not the emulator's address (the control API and phone page answer only to it)",
        );
        return Ok(req.into_response(response));
    }
    if let Some(origin) = header(header::ORIGIN) {
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        if !authority.is_some_and(|a| access.host_allowed(a, local)) {
            let response = refuse(StatusCode::FORBIDDEN, "cross-origin request refused");
            return Ok(req.into_response(response));
        }
    }
    if header(header::HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        let response = refuse(StatusCode::FORBIDDEN, "cross-site request refused");
        return Ok(req.into_response(response));
    }

    let mut set_cookie = None;
    if let Some(token) = access.token.as_ref().filter(|_| wants_token(&path)) {
        // The phone page opened with `?token=...` (the URL the binary prints) keeps it in a
        // cookie for its own calls.
        let from_query = (req.method() == Method::GET && !path.starts_with("/_emulator/"))
            .then(|| query(req.request()).ok())
            .flatten()
            .and_then(|pairs| query_param(&pairs, "token"))
            .filter(|given| same(given, token));
        if from_query.is_some() {
            set_cookie = Some(token.clone());
        } else if !access.has_token(&req, token) {
            let response = refuse(
                StatusCode::UNAUTHORIZED,
                "this emulator wants its control token: Authorization: Bearer <token>",
            );
            return Ok(req.into_response(response));
        }
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    if let Some(token) = set_cookie {
        let cookie = format!(
            "{TOKEN_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
            token.expose()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response
                .response_mut()
                .headers_mut()
                .append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> Access {
        Access {
            bound: Some(SocketAddr::from(([127, 0, 0, 1], 8765))),
            hosts: vec!["emulator".into()],
            token: None,
        }
    }

    #[test]
    fn only_this_servers_names_are_hosts() {
        let a = access();
        for ok in [
            "127.0.0.1:8765",
            "localhost:8765",
            "LOCALHOST:8765",
            "[::1]:8765",
            "emulator:8765",
        ] {
            assert!(a.host_allowed(ok, None), "{ok}");
        }
        for bad in [
            "evil.example:8765",
            "localhost:8766",
            "localhost",
            "127.0.0.1",
            "localhost.evil.example:8765",
            "",
        ] {
            assert!(!a.host_allowed(bad, None), "{bad}");
        }
        // The address a connection came in on counts (0.0.0.0 reached through the LAN).
        let any = Access {
            bound: Some(SocketAddr::from(([0, 0, 0, 0], 8765))),
            ..Access::default()
        };
        let lan = SocketAddr::from(([192, 168, 1, 5], 8765));
        assert!(any.host_allowed("192.168.1.5:8765", Some(lan)));
        assert!(!any.host_allowed("192.168.1.6:8765", Some(lan)));
    }
}

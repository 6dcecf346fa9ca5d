//! Signature checks of incoming wire API requests.
//!
//! The signed URL is what the client put on the wire without `scheme://`: the `Host` the
//! request was sent to followed by the request target (path and query) exactly as received.
//!
//! Header spellings: the reference client sends `X-IAMPASS-Authentication-Timestamp` and
//! `X-IAMOASS-Authentication-Version`; IAMPASS's public documentation (`hmac.rst`, "HTTP
//! Headers") names `X-IAMPASS-Authentiaction-Timestamp` and
//! `X-IAMPASS-Authentiaction-Version`. Every spelling is accepted, and the version header
//! may be left out (version 1 is the only one there is).

use actix_web::HttpRequest;

use super::reply::Reject;
use crate::Secret;
use crate::emulator::state::Shared;
use crate::signing::{
    self, AUTHENTICATION_HEADER, Authentication, SignedRequest, TIMESTAMP_HEADER, VERSION_HEADER,
    VERSION_HEADER_ALT, VerifyError,
};

/// The timestamp header as IAMPASS's public documentation spells it.
pub(crate) const DOCUMENTED_TIMESTAMP_HEADER: &str = "X-IAMPASS-Authentiaction-Timestamp";
/// The version header as IAMPASS's public documentation spells it.
pub(crate) const DOCUMENTED_VERSION_HEADER: &str = "X-IAMPASS-Authentiaction-Version";

/// The first of `names` the request carries, as text.
fn header<'a>(req: &'a HttpRequest, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|name| req.headers().get(*name))
        .and_then(|v| v.to_str().ok())
}

/// The URI the client signed: host as received, then the request target as received.
fn signed_url(req: &HttpRequest) -> String {
    let uri = req.uri();
    if uri.scheme().is_some() {
        // Absolute-form request target (through a proxy): it names the host itself.
        return signing::signed_part(&uri.to_string()).to_owned();
    }
    let target = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    let info = req.connection_info();
    format!("{}{}", info.host(), target)
}

/// Checks the request's signature against `secret`, requiring the signer to be `client_id`.
/// Any failure is a `401` with a plain-text reason.
pub(crate) fn check(
    req: &HttpRequest,
    shared: &Shared,
    client_id: &str,
    secret: &Secret,
) -> Result<(), Reject> {
    let unauthorized = |e: VerifyError| Reject::unauthorized(e.to_string());
    let auth_value = header(req, &[AUTHENTICATION_HEADER])
        .ok_or(VerifyError::MissingHeader(AUTHENTICATION_HEADER))
        .map_err(unauthorized)?;
    let authentication = Authentication::parse(auth_value).map_err(unauthorized)?;
    let timestamp = header(req, &[TIMESTAMP_HEADER, DOCUMENTED_TIMESTAMP_HEADER])
        .ok_or(VerifyError::MissingHeader(TIMESTAMP_HEADER))
        .map_err(unauthorized)?;
    let version = header(
        req,
        &[
            VERSION_HEADER,
            VERSION_HEADER_ALT,
            DOCUMENTED_VERSION_HEADER,
        ],
    );
    if authentication.client_id != client_id {
        return Err(Reject::unauthorized(
            "the Authentication header names other credentials",
        ));
    }
    let url = signed_url(req);
    let request = SignedRequest {
        authentication,
        timestamp,
        version,
        signed_url: &url,
    };
    let now = signing::unix_now();
    let window = shared.settings.signature_window;
    // A nonce is remembered until its timestamp leaves the window (verify has checked that
    // the timestamp parses by the time it asks).
    let expires = timestamp
        .trim()
        .parse::<u64>()
        .unwrap_or(now)
        .saturating_add(window.as_secs());
    signing::verify(&request, secret, now, window, |client, nonce| {
        shared
            .nonces()
            .check_and_remember(client, nonce, expires, now)
    })
    .map_err(unauthorized)
}

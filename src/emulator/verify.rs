//! Signature checks of incoming API requests, and the replay (nonce) memory.
//!
//! The signed URL is what the client put on the wire without `scheme://`: the `Host` the
//! request was sent to followed by the request target (path and query) exactly as received.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use actix_web::HttpRequest;

use super::reply::Reject;
use super::server::Shared;
use crate::Secret;
use crate::signing::{
    self, AUTHENTICATION_HEADER, Authentication, SignedRequest, TIMESTAMP_HEADER, VERSION_HEADER,
    VERSION_HEADER_ALT, VerifyError,
};

/// Default number of remembered nonces; the oldest is forgotten beyond it.
pub(crate) const DEFAULT_NONCE_CAPACITY: usize = 1_000_000;

/// Nonces seen inside the signature window, per client id (application id or session token).
///
/// A nonce is remembered until its request's timestamp leaves the window (after which the
/// timestamp alone refuses a replay), so memory is bounded by the request rate times the
/// window, and by a hard capacity.
pub(crate) struct NonceStore {
    seen: HashSet<(String, String)>,
    /// Expiry (Unix seconds) → entries, to forget them in order.
    by_expiry: BTreeMap<u64, Vec<(String, String)>>,
    capacity: usize,
}

impl NonceStore {
    pub(crate) fn new(capacity: usize) -> Self {
        NonceStore {
            seen: HashSet::new(),
            by_expiry: BTreeMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Remembers `(client_id, nonce)` until `expires` (Unix seconds); `false` if it was
    /// already there (a replay).
    pub(crate) fn check_and_remember(
        &mut self,
        client_id: &str,
        nonce: &str,
        expires: u64,
        now: u64,
    ) -> bool {
        self.forget_before(now);
        let key = (client_id.to_owned(), nonce.to_owned());
        if self.seen.contains(&key) {
            return false;
        }
        while self.seen.len() >= self.capacity {
            let Some(mut oldest) = self.by_expiry.first_entry() else {
                break;
            };
            match oldest.get_mut().pop() {
                Some(k) => {
                    self.seen.remove(&k);
                }
                None => {
                    oldest.remove();
                }
            }
        }
        self.seen.insert(key.clone());
        self.by_expiry.entry(expires).or_default().push(key);
        true
    }

    fn forget_before(&mut self, now: u64) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if *entry.key() >= now {
                break;
            }
            for k in entry.remove() {
                self.seen.remove(&k);
            }
        }
    }

    /// Number of remembered nonces.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The URI the client signed: host as received, then the request target as received.
pub(crate) fn signed_url(req: &HttpRequest) -> String {
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
    let auth_value = header(req, AUTHENTICATION_HEADER)
        .ok_or(VerifyError::MissingHeader(AUTHENTICATION_HEADER))
        .map_err(unauthorized)?;
    let authentication = Authentication::parse(auth_value).map_err(unauthorized)?;
    let timestamp = header(req, TIMESTAMP_HEADER)
        .ok_or(VerifyError::MissingHeader(TIMESTAMP_HEADER))
        .map_err(unauthorized)?;
    let version = header(req, VERSION_HEADER)
        .or_else(|| header(req, VERSION_HEADER_ALT))
        .ok_or(VerifyError::MissingHeader(VERSION_HEADER))
        .map_err(unauthorized)?;
    if authentication.client_id != client_id {
        return Err(Reject::unauthorized(
            "the Authentication header names other credentials",
        ));
    }
    let url = signed_url(req);
    let request = SignedRequest {
        authentication,
        timestamp,
        version: Some(version),
        signed_url: &url,
    };
    let now = signing::unix_now();
    let window = shared.signature_window;
    verify(&request, secret, now, window, shared)
}

fn verify(
    request: &SignedRequest<'_>,
    secret: &Secret,
    now: u64,
    window: Duration,
    shared: &Shared,
) -> Result<(), Reject> {
    // Valid until the timestamp leaves the window (verify has checked it parses by then).
    let expires = request
        .timestamp
        .trim()
        .parse::<u64>()
        .unwrap_or(now)
        .saturating_add(window.as_secs());
    signing::verify(request, secret, now, window, |client, nonce| {
        shared
            .nonces()
            .check_and_remember(client, nonce, expires, now)
    })
    .map_err(|e| Reject::unauthorized(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_are_refused_until_they_expire() {
        let mut store = NonceStore::new(10);
        assert!(store.check_and_remember("app", "1", 100, 50));
        assert!(!store.check_and_remember("app", "1", 100, 60));
        // Another client may use the same nonce.
        assert!(store.check_and_remember("other", "1", 100, 60));
        // Once the window has passed, the entry is forgotten (the timestamp refuses it).
        assert!(store.check_and_remember("app", "2", 300, 101));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn memory_is_bounded() {
        let mut store = NonceStore::new(3);
        for n in 0..10u64 {
            assert!(store.check_and_remember("app", &n.to_string(), 100 + n, 0));
        }
        assert_eq!(store.len(), 3);
        // The newest are kept.
        assert!(!store.check_and_remember("app", "9", 200, 0));
    }
}

//! Request signing, shared by the client (which signs) and the emulator (which verifies).
//!
//! The scheme (see `iampass-api.md`): `token = SHA-256(nonce ‖ secret)[..16]`,
//! `signature = base64(HMAC-SHA-256(token, nonce ‖ url ‖ timestamp)[..16])`, where `url` is
//! the request URI as sent, without `scheme://`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::Secret;

/// Header carrying `hmac CLIENT_ID:NONCE:SIGNATURE`.
pub const AUTHENTICATION_HEADER: &str = "Authentication";
/// Header carrying the Unix timestamp (seconds) that was signed.
pub const TIMESTAMP_HEADER: &str = "X-IAMPASS-Authentication-Timestamp";
/// Version header as the reference client spells it (`IAMOASS`); sent as is.
pub const VERSION_HEADER: &str = "X-IAMOASS-Authentication-Version";
/// The correctly spelled version header, accepted by verifiers as well.
pub const VERSION_HEADER_ALT: &str = "X-IAMPASS-Authentication-Version";
/// The only signature version there is.
pub const SIGNATURE_VERSION: &str = "1";
/// Default accepted clock difference between signer and verifier.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// The three header values that sign one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// Value of [`AUTHENTICATION_HEADER`]: `hmac CLIENT_ID:NONCE:SIGNATURE`.
    pub authentication: String,
    /// Value of [`TIMESTAMP_HEADER`].
    pub timestamp: String,
    /// Value of [`VERSION_HEADER`] (always `"1"`).
    pub version: &'static str,
}

/// The part of a request URI that is signed: the URI without `scheme://`.
///
/// ```
/// use iampass::signing::signed_part;
/// assert_eq!(signed_part("https://iam-api.com/a?b=c"), "iam-api.com/a?b=c");
/// ```
pub fn signed_part(request_uri: &str) -> &str {
    // Like the reference client's greedy `re.sub(r".*://", "", uri)`: up to the last `://`.
    match request_uri.rfind("://") {
        Some(i) => &request_uri[i + 3..],
        None => request_uri,
    }
}

/// The base64 signature for one request (step 2–5 of the scheme).
/// `signed_url` is the URI without `scheme://` (see [`signed_part`]).
pub fn signature(secret: &Secret, nonce: &str, signed_url: &str, timestamp: &str) -> String {
    STANDARD.encode(signature_tag(secret, nonce, signed_url, timestamp))
}

/// The 16 signature bytes (before base64).
fn signature_tag(secret: &Secret, nonce: &str, signed_url: &str, timestamp: &str) -> [u8; 16] {
    let mut digest = Sha256::new();
    digest.update(nonce.as_bytes());
    digest.update(secret.expose().as_bytes());
    let token = digest.finalize();
    let mut mac = Hmac::<Sha256>::new_from_slice(&token[..16]).expect("HMAC takes any key length");
    mac.update(nonce.as_bytes());
    mac.update(signed_url.as_bytes());
    mac.update(timestamp.as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut out = [0; 16];
    out.copy_from_slice(&tag[..16]);
    out
}

/// Length of a base64 signature (16 bytes, padded).
const SIGNATURE_LEN: usize = 24;

/// The decimal digits of `n`, written into `buf` (no allocation).
pub(crate) fn decimal(n: u64, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    let mut n = n;
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).expect("ASCII digits")
}

/// The [`AUTHENTICATION_HEADER`] value for one request, the same bytes as [`sign`]'s, written
/// straight into one buffer of the exact size (the client's hot path: one allocation).
/// `signed_url` is the URI without `scheme://`, `timestamp` the decimal seconds being sent.
pub(crate) fn authentication_value(
    client_id: &str,
    secret: &Secret,
    signed_url: &str,
    nonce: u64,
    timestamp: &str,
) -> Vec<u8> {
    let mut digits = [0; 20];
    let nonce = decimal(nonce, &mut digits);
    let tag = signature_tag(secret, nonce, signed_url, timestamp);
    let mut encoded = [0; SIGNATURE_LEN];
    let written = STANDARD
        .encode_slice(tag, &mut encoded)
        .expect("16 bytes fit 24 base64 characters");
    let mut value =
        Vec::with_capacity("hmac ".len() + client_id.len() + 1 + nonce.len() + 1 + written);
    value.extend_from_slice(b"hmac ");
    value.extend_from_slice(client_id.as_bytes());
    value.push(b':');
    value.extend_from_slice(nonce.as_bytes());
    value.push(b':');
    value.extend_from_slice(&encoded[..written]);
    value
}

/// Signs a request with a given nonce and timestamp (deterministic; used by tests and vectors).
///
/// ```
/// use iampass::{Secret, signing::sign};
/// let headers = sign("app-123", &Secret::new("s3cr3t-s3cr3t-s3cr3t-s3cr"),
///     "https://iam-api.com/management/add_users/app-123", 9223372036854775807, 1234567890);
/// assert_eq!(headers.authentication,
///     "hmac app-123:9223372036854775807:4Kkov69LRTGCqKsm4k6+fA==");
/// ```
pub fn sign(
    client_id: &str,
    secret: &Secret,
    request_uri: &str,
    nonce: u64,
    timestamp: u64,
) -> SignedHeaders {
    let nonce = nonce.to_string();
    let timestamp = timestamp.to_string();
    let sig = signature(secret, &nonce, signed_part(request_uri), &timestamp);
    SignedHeaders {
        authentication: format!("hmac {client_id}:{nonce}:{sig}"),
        timestamp,
        version: SIGNATURE_VERSION,
    }
}

/// Signs a request now, with a fresh random nonce.
pub fn sign_now(client_id: &str, secret: &Secret, request_uri: &str) -> SignedHeaders {
    sign(
        client_id,
        secret,
        request_uri,
        rand::random::<u64>(),
        unix_now(),
    )
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A signing header is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// The `Authentication` header is not `hmac ID:NONCE:SIGNATURE`.
    #[error("malformed Authentication header")]
    MalformedHeader,
    /// The timestamp is not a decimal number of seconds.
    #[error("malformed timestamp")]
    MalformedTimestamp,
    /// The version header names a version other than `1`.
    #[error("unsupported signature version")]
    UnsupportedVersion,
    /// The timestamp is outside the accepted window.
    #[error("timestamp outside the accepted window")]
    StaleTimestamp,
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
    /// The nonce was already used inside the window.
    #[error("replayed nonce")]
    Replayed,
}

/// A parsed `Authentication` header: `hmac CLIENT_ID:NONCE:SIGNATURE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authentication<'a> {
    /// Application id or session token: tells the verifier which secret to use.
    pub client_id: &'a str,
    /// Decimal 64-bit unsigned nonce, as sent (leading zeros kept).
    pub nonce: &'a str,
    /// Base64 signature, as sent.
    pub signature: &'a str,
}

impl<'a> Authentication<'a> {
    /// Parses the header value. The client id may itself contain `:` only if the nonce and
    /// signature do not, so the nonce and signature are split off from the right.
    ///
    /// ```
    /// use iampass::signing::Authentication;
    /// let a = Authentication::parse("hmac app:42:c2ln").unwrap();
    /// assert_eq!((a.client_id, a.nonce, a.signature), ("app", "42", "c2ln"));
    /// ```
    pub fn parse(value: &'a str) -> Result<Self, VerifyError> {
        let rest = value
            .strip_prefix("hmac ")
            .ok_or(VerifyError::MalformedHeader)?;
        let mut parts = rest.rsplitn(3, ':');
        let signature = parts.next().ok_or(VerifyError::MalformedHeader)?;
        let nonce = parts.next().ok_or(VerifyError::MalformedHeader)?;
        let client_id = parts.next().ok_or(VerifyError::MalformedHeader)?;
        if client_id.is_empty()
            || signature.is_empty()
            || nonce.is_empty()
            || nonce.len() > 20
            || !nonce.bytes().all(|b| b.is_ascii_digit())
            || nonce.parse::<u64>().is_err()
        {
            return Err(VerifyError::MalformedHeader);
        }
        Ok(Authentication {
            client_id,
            nonce,
            signature,
        })
    }
}

/// What a verifier received, taken from the request.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The parsed `Authentication` header.
    pub authentication: Authentication<'a>,
    /// The timestamp header value.
    pub timestamp: &'a str,
    /// The version header value (either spelling), if present.
    pub version: Option<&'a str>,
    /// The received URI without scheme: `Host` header followed by the request target.
    pub signed_url: &'a str,
}

/// Verifies a signed request: version, timestamp within `window` of `now`, signature
/// (constant-time), and finally `nonce_is_fresh(client_id, nonce)`, which the caller uses to
/// remember the nonce and refuse it next time. The nonce is only offered once the signature is
/// valid, so forged requests cannot burn nonces.
///
/// ```
/// use iampass::{Secret, signing::*};
/// let secret = Secret::new("k");
/// let h = sign("app", &secret, "http://h/x", 7, 1000);
/// let req = SignedRequest {
///     authentication: Authentication::parse(&h.authentication).unwrap(),
///     timestamp: &h.timestamp, version: Some("1"), signed_url: "h/x",
/// };
/// assert!(verify(&req, &secret, 1010, DEFAULT_WINDOW, |_, _| true).is_ok());
/// assert_eq!(verify(&req, &secret, 1010, DEFAULT_WINDOW, |_, _| false),
///     Err(VerifyError::Replayed));
/// ```
pub fn verify(
    request: &SignedRequest<'_>,
    secret: &Secret,
    now: u64,
    window: Duration,
    nonce_is_fresh: impl FnOnce(&str, &str) -> bool,
) -> Result<(), VerifyError> {
    if let Some(version) = request.version
        && version.trim() != SIGNATURE_VERSION
    {
        return Err(VerifyError::UnsupportedVersion);
    }
    let ts: u64 = request
        .timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::MalformedTimestamp)?;
    if ts.abs_diff(now) > window.as_secs() {
        return Err(VerifyError::StaleTimestamp);
    }
    let expected = signature(
        secret,
        request.authentication.nonce,
        request.signed_url,
        request.timestamp,
    );
    if !bool::from(
        expected
            .as_bytes()
            .ct_eq(request.authentication.signature.as_bytes()),
    ) {
        return Err(VerifyError::BadSignature);
    }
    if !nonce_is_fresh(
        request.authentication.client_id,
        request.authentication.nonce,
    ) {
        return Err(VerifyError::Replayed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(h: &'a SignedHeaders, url: &'a str) -> SignedRequest<'a> {
        SignedRequest {
            authentication: Authentication::parse(&h.authentication).unwrap(),
            timestamp: &h.timestamp,
            version: Some(h.version),
            signed_url: url,
        }
    }

    #[test]
    fn verify_refuses_tampering_and_stale_times() {
        let secret = Secret::new("secret");
        let h = sign("app", &secret, "http://h:1/p?q=1", 1, 10_000);
        let fresh = |_: &str, _: &str| true;
        assert!(
            verify(
                &request(&h, "h:1/p?q=1"),
                &secret,
                10_000,
                DEFAULT_WINDOW,
                fresh
            )
            .is_ok()
        );
        assert_eq!(
            verify(
                &request(&h, "h:1/p?q=2"),
                &secret,
                10_000,
                DEFAULT_WINDOW,
                fresh
            ),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(
                &request(&h, "h:1/p?q=1"),
                &Secret::new("other"),
                10_000,
                DEFAULT_WINDOW,
                fresh
            ),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(
                &request(&h, "h:1/p?q=1"),
                &secret,
                10_301,
                DEFAULT_WINDOW,
                fresh
            ),
            Err(VerifyError::StaleTimestamp)
        );
        assert_eq!(
            verify(
                &request(&h, "h:1/p?q=1"),
                &secret,
                9_699,
                DEFAULT_WINDOW,
                fresh
            ),
            Err(VerifyError::StaleTimestamp)
        );
        let mut r = request(&h, "h:1/p?q=1");
        r.version = Some("2");
        assert_eq!(
            verify(&r, &secret, 10_000, DEFAULT_WINDOW, fresh),
            Err(VerifyError::UnsupportedVersion)
        );
    }

    #[test]
    fn the_hot_path_signs_the_same_bytes() {
        let secret = Secret::new("s3cr3t-s3cr3t-s3cr3t-s3cr");
        for (nonce, ts) in [(0, 1), (9223372036854775807, 1234567890), (u64::MAX, 10)] {
            let h = sign(
                "app-123",
                &secret,
                "https://iam-api.com/management/add_users/app-123",
                nonce,
                ts,
            );
            let mut digits = [0; 20];
            let value = authentication_value(
                "app-123",
                &secret,
                "iam-api.com/management/add_users/app-123",
                nonce,
                decimal(ts, &mut digits),
            );
            assert_eq!(value, h.authentication.as_bytes());
            assert_eq!(decimal(ts, &mut digits), h.timestamp);
        }
    }

    #[test]
    fn parse_refuses_malformed_headers() {
        for bad in [
            "",
            "hmac",
            "hmac a:b",
            "Basic a:1:s",
            "hmac :1:s",
            "hmac a:x:s",
            "hmac a:1:",
            "hmac a:18446744073709551616:s",
            "hmac a:+1:s",
        ] {
            assert_eq!(
                Authentication::parse(bad),
                Err(VerifyError::MalformedHeader),
                "{bad}"
            );
        }
    }
}

//! The session cookie: its payload, and sealing/opening with the key ring.
//!
//! A cookie value is `base64url(nonce ‖ AES-256-GCM(payload))`, the cookie's name as
//! associated data, the payload in a compact binary form (`postcard`). Each key of the ring
//! is not used as is: the AES key is derived from it with HKDF-SHA-256 and this deployment's
//! application id and IAMPASS server origin, so two deployments that share a cookie key
//! cannot open each other's cookies (and it costs no byte). The first key seals; every key
//! opens (rotation). A status or logout URL stored in a cookie must be on the configured
//! server's origin, or the cookie is refused: the middleware never calls anyone else.

mod codec;
mod payload;

pub(crate) use codec::{CookieCodec, Rejected};
pub use payload::{CookieState, Factors, SessionCookie};

/// The payload format written today; other versions are refused.
pub(crate) const FORMAT_VERSION: u8 = 3;
/// The whole `Set-Cookie` value (name, value and attributes) stays below this many bytes.
///
/// ```
/// assert_eq!(iampass::actix::defaults::MAX_SET_COOKIE_LEN, 4096);
/// ```
pub const MAX_SET_COOKIE_LEN: usize = 4096;

#[cfg(test)]
mod tests;

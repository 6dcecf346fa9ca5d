//! The session cookie: its payload, and sealing/opening with the key ring (AES-256-GCM
//! through the cookie crate's private jar; the first key seals, every key opens).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::cookie::{Cookie, CookieJar, Key, SameSite, time};
use serde::{Deserialize, Serialize};

use crate::signing::unix_now;
use crate::{Error, Session};

/// The payload format written today; other versions are refused.
pub(crate) const FORMAT_VERSION: u8 = 1;
/// The whole `Set-Cookie` value (name, value and attributes) stays below this many bytes.
///
/// ```
/// assert_eq!(iampass::actix::MAX_SET_COOKIE_LEN, 4096);
/// ```
pub const MAX_SET_COOKIE_LEN: usize = 4096;

/// Where a login stands in the cookie.
///
/// ```
/// use iampass::actix::CookieState;
/// assert_ne!(CookieState::Pending, CookieState::Authenticated);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieState {
    /// The phone was asked; only the poll handler and the wait page use such a cookie.
    Pending,
    /// IAMPASS said `active` once; the middleware re-validates it.
    Authenticated,
}

/// What the encrypted session cookie carries.
///
/// Applications rarely need this: the middleware and the handlers read and write it. It is
/// public for tests, tools and benchmarks (see [`Iampass::seal_cookie`] and
/// [`Iampass::open_cookie`]).
///
/// ```
/// use std::time::Duration;
/// use iampass::{Session, Status};
/// use iampass::actix::{CookieState, SessionCookie};
/// let session = Session::new("tok", "sec", "http://x/status", "http://x/logout", Status::Active);
/// let cookie = SessionCookie::new(session, "alice", "alice", CookieState::Authenticated,
///     Duration::from_secs(3600), Some("/dashboard".into()));
/// assert_eq!(cookie.user(), "alice");
/// assert!(!cookie.is_expired());
/// ```
///
/// [`Iampass::seal_cookie`]: super::Iampass::seal_cookie
/// [`Iampass::open_cookie`]: super::Iampass::open_cookie
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionCookie {
    #[serde(rename = "v")]
    version: u8,
    /// The IAMPASS session in the reference client's JSON form.
    session: Session,
    user: String,
    uid: String,
    state: CookieState,
    /// Unix seconds: when the cookie reached its current state.
    iat: u64,
    /// Unix seconds: absolute expiry, never extended by re-issuing.
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

impl SessionCookie {
    /// A cookie issued now, expiring `max_age` from now.
    pub fn new(
        session: Session,
        user: impl Into<String>,
        iampass_user_id: impl Into<String>,
        state: CookieState,
        max_age: Duration,
        next: Option<String>,
    ) -> Self {
        let now = unix_now();
        SessionCookie {
            version: FORMAT_VERSION,
            session,
            user: user.into(),
            uid: iampass_user_id.into(),
            state,
            iat: now,
            exp: now.saturating_add(max_age.as_secs()),
            next,
        }
    }

    /// The IAMPASS session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The application's user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The IAMPASS user id the application's user name resolved to.
    pub fn iampass_user_id(&self) -> &str {
        &self.uid
    }

    /// Pending or authenticated.
    pub fn state(&self) -> CookieState {
        self.state
    }

    /// When the cookie reached its current state.
    pub fn issued_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.iat)
    }

    /// The absolute expiry (re-issuing never extends it).
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.exp)
    }

    /// Where to go once the login completes (already sanitised).
    pub fn next(&self) -> Option<&str> {
        self.next.as_deref()
    }

    /// `true` once the absolute expiry has passed.
    pub fn is_expired(&self) -> bool {
        unix_now() >= self.exp
    }

    pub(crate) fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The same login, now authenticated: issued now, expiring `max_age` from now.
    pub(crate) fn authenticated(mut self, session: Session, max_age: Duration) -> Self {
        let now = unix_now();
        self.session = session;
        self.state = CookieState::Authenticated;
        self.iat = now;
        self.exp = now.saturating_add(max_age.as_secs());
        self
    }

    /// Seconds left before the absolute expiry.
    fn remaining(&self) -> u64 {
        self.exp.saturating_sub(unix_now())
    }
}

/// Cookie attributes plus the key ring.
#[derive(Clone)]
pub(crate) struct CookieCodec {
    /// The name on the wire (with the `__Host-` prefix when configured).
    pub(crate) name: String,
    pub(crate) secure: bool,
    /// The first key seals; all keys open.
    keys: Vec<Key>,
}

impl std::fmt::Debug for CookieCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieCodec")
            .field("name", &self.name)
            .field("secure", &self.secure)
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// Why a cookie value was not accepted (logged at `debug`, never shown to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    Oversized,
    /// Not decryptable with any key: tampered, truncated, garbage or another key's cookie.
    Undecryptable,
    /// Decrypted but not a payload of this format.
    Malformed,
    WrongVersion,
    Expired,
}

impl CookieCodec {
    pub(crate) fn new(name: String, secure: bool, keys: Vec<Key>) -> Self {
        debug_assert!(!keys.is_empty());
        CookieCodec { name, secure, keys }
    }

    fn attributes(&self, cookie: &mut Cookie<'static>) {
        cookie.set_path("/");
        cookie.set_http_only(true);
        cookie.set_secure(self.secure);
        cookie.set_same_site(SameSite::Lax);
    }

    /// Encrypts `payload` with the first key into a complete `Set-Cookie` cookie.
    pub(crate) fn seal(&self, payload: &SessionCookie) -> Result<Cookie<'static>, Error> {
        let json = serde_json::to_string(payload)
            .map_err(|e| Error::Cookie(format!("cannot serialise the cookie: {e}")))?;
        let mut jar = CookieJar::new();
        jar.private_mut(&self.keys[0])
            .add(Cookie::new(self.name.clone(), json));
        let mut cookie = jar
            .get(&self.name)
            .cloned()
            .ok_or_else(|| Error::Cookie("sealing produced no cookie".into()))?;
        self.attributes(&mut cookie);
        cookie.set_max_age(time::Duration::seconds(
            i64::try_from(payload.remaining()).unwrap_or(i64::MAX),
        ));
        let len = cookie.to_string().len();
        if len >= MAX_SET_COOKIE_LEN {
            return Err(Error::Cookie(format!(
                "the session cookie would be {len} bytes (limit {MAX_SET_COOKIE_LEN})"
            )));
        }
        Ok(cookie)
    }

    /// Decrypts and checks a cookie value: size, every key, format version, expiry. Also
    /// says which key of the ring opened it (0: the current one).
    pub(crate) fn open(&self, value: &str) -> Result<(SessionCookie, usize), Rejected> {
        if value.len() >= MAX_SET_COOKIE_LEN {
            return Err(Rejected::Oversized);
        }
        let (json, index) = self
            .keys
            .iter()
            .enumerate()
            .find_map(|(index, key)| {
                let mut jar = CookieJar::new();
                jar.add_original(Cookie::new(self.name.clone(), value.to_owned()));
                jar.private(key).get(&self.name).map(|c| (c, index))
            })
            .ok_or(Rejected::Undecryptable)?;
        #[derive(Deserialize)]
        struct Version {
            v: u8,
        }
        let version: Version =
            serde_json::from_str(json.value()).map_err(|_| Rejected::Malformed)?;
        if version.v != FORMAT_VERSION {
            return Err(Rejected::WrongVersion);
        }
        let payload: SessionCookie =
            serde_json::from_str(json.value()).map_err(|_| Rejected::Malformed)?;
        if payload.is_expired() {
            return Err(Rejected::Expired);
        }
        Ok((payload, index))
    }

    /// The cookie that deletes ours, with the attributes it was set with.
    pub(crate) fn removal(&self) -> Cookie<'static> {
        let mut cookie = Cookie::new(self.name.clone(), "");
        self.attributes(&mut cookie);
        cookie.make_removal();
        cookie
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;
    use proptest::prelude::*;

    fn key(b: u8) -> Key {
        Key::from(&[b; 64])
    }

    fn codec(keys: Vec<Key>) -> CookieCodec {
        CookieCodec::new("iampass".into(), true, keys)
    }

    fn payload() -> SessionCookie {
        let session = Session::new(
            "tok-123",
            "secret-456",
            "http://127.0.0.1:1/status/tok-123",
            "http://127.0.0.1:1/logout/tok-123",
            Status::Active,
        );
        SessionCookie::new(
            session,
            "alice",
            "alice@example",
            CookieState::Authenticated,
            Duration::from_secs(3600),
            Some("/dashboard?tab=1".into()),
        )
    }

    #[test]
    fn round_trip_and_attributes() {
        let c = codec(vec![key(1)]);
        let sealed = c.seal(&payload()).unwrap();
        assert!(!sealed.value().contains("alice"));
        assert!(!sealed.value().contains("secret-456"));
        let header = sealed.to_string();
        for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age="] {
            assert!(header.contains(attr), "{header}");
        }
        let (opened, index) = c.open(sealed.value()).unwrap();
        assert_eq!(index, 0);
        assert_eq!(opened.user(), "alice");
        assert_eq!(opened.session().session_token(), Some("tok-123"));
        assert_eq!(opened.next(), Some("/dashboard?tab=1"));
        let removal = c.removal().to_string();
        for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=0"] {
            assert!(removal.contains(attr), "{removal}");
        }
    }

    #[test]
    fn key_ring_first_seals_all_open() {
        let old = codec(vec![key(1)]);
        let rotated = codec(vec![key(2), key(1)]);
        let new_only = codec(vec![key(2)]);
        let by_old = old.seal(&payload()).unwrap();
        assert_eq!(rotated.open(by_old.value()).unwrap().1, 1);
        assert_eq!(
            new_only.open(by_old.value()).unwrap_err(),
            Rejected::Undecryptable
        );
        let by_rotated = rotated.seal(&payload()).unwrap();
        assert!(new_only.open(by_rotated.value()).is_ok());
        assert!(old.open(by_rotated.value()).is_err());
    }

    #[test]
    fn name_is_bound() {
        let a = codec(vec![key(1)]);
        let b = CookieCodec::new("other".into(), true, vec![key(1)]);
        let sealed = a.seal(&payload()).unwrap();
        assert!(b.open(sealed.value()).is_err());
    }

    #[test]
    fn expired_and_versions_refused() {
        let c = codec(vec![key(1)]);
        let mut p = payload();
        p.exp = unix_now() - 1;
        let sealed = seal_raw(&c, &serde_json::to_string(&p).unwrap());
        assert_eq!(c.open(&sealed).unwrap_err(), Rejected::Expired);
        let mut v = serde_json::to_value(payload()).unwrap();
        v["v"] = 2.into();
        let sealed = seal_raw(&c, &v.to_string());
        assert_eq!(c.open(&sealed).unwrap_err(), Rejected::WrongVersion);
        let sealed = seal_raw(&c, "{\"v\":1}");
        assert_eq!(c.open(&sealed).unwrap_err(), Rejected::Malformed);
        let sealed = seal_raw(&c, "not json");
        assert_eq!(c.open(&sealed).unwrap_err(), Rejected::Malformed);
        assert_eq!(c.open(&"A".repeat(5000)).unwrap_err(), Rejected::Oversized);
        for garbage in ["", "x", "%%%", "AAAA", "\u{e9}\u{e9}"] {
            assert!(c.open(garbage).is_err(), "{garbage}");
        }
    }

    fn seal_raw(c: &CookieCodec, json: &str) -> String {
        let mut jar = CookieJar::new();
        jar.private_mut(&c.keys[0])
            .add(Cookie::new(c.name.clone(), json.to_owned()));
        jar.get(&c.name).unwrap().value().to_owned()
    }

    #[test]
    fn worst_case_payload_fits() {
        let c = CookieCodec::new("__Host-iampass".into(), true, vec![key(1)]);
        let user = "\"".repeat(256);
        let next = format!("/{}", "\"".repeat(1023));
        let session = Session::new(
            "t".repeat(64),
            "s".repeat(64),
            format!(
                "https://iam-api.com/authentication/status/{}",
                "t".repeat(64)
            ),
            format!(
                "https://iam-api.com/authentication/logout/{}",
                "t".repeat(64)
            ),
            Status::Pending,
        );
        let p = SessionCookie::new(
            session,
            user.clone(),
            user,
            CookieState::Pending,
            Duration::from_secs(3600),
            Some(next),
        );
        // Quotes double in JSON: this worst case may be refused, but never silently exceed.
        match c.seal(&p) {
            Ok(cookie) => assert!(cookie.to_string().len() < MAX_SET_COOKIE_LEN),
            Err(Error::Cookie(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn mutated_cookies_are_never_accepted(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 1..6)
        ) {
            let c = codec(vec![key(7)]);
            let sealed = c.seal(&payload()).unwrap().value().to_owned();
            let mut bytes = sealed.clone().into_bytes();
            for (pos, byte, kind) in edits {
                let len = bytes.len();
                match kind {
                    0 if len > 0 => { bytes[pos % len] ^= byte | 1; }
                    1 if len > 0 => { bytes.remove(pos % len); }
                    2 => { bytes.insert(pos % (len + 1), byte); }
                    _ => { bytes.truncate(pos % (len + 1)); }
                }
            }
            let mutated = String::from_utf8_lossy(&bytes).into_owned();
            prop_assume!(mutated != sealed);
            prop_assert!(c.open(&mutated).is_err(), "accepted {mutated:?}");
        }
    }
}

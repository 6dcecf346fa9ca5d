//! Sealing and opening: [`CookieCodec`], the key ring bound to one deployment, and the
//! compact wire form of a payload.

use std::sync::Arc;
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, Key, SameSite, time};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::payload::{CookieState, Factors, SessionCookie};
use super::{FORMAT_VERSION, MAX_SET_COOKIE_LEN};
use crate::{AuthenticationMethod, Error, Session, Status};

/// Bytes of the nonce in front of the ciphertext.
const NONCE_LEN: usize = 12;
/// Bytes of the GCM tag after it.
const TAG_LEN: usize = 16;
/// HKDF salt: names the purpose, so the configured key is never used for anything else.
const KDF_SALT: &[u8] = b"iampass session cookie v2";
/// How many recently opened cookie values are remembered (so a session's next requests skip
/// the decryption); a bound on memory, not on sessions.
const OPENED_CAPACITY: u64 = 10_000;
/// How long an opened value is remembered.
const OPENED_TTL: Duration = Duration::from_secs(300);

/// A stored IAMPASS URL: the form the server derives from the token (not stored), none, or
/// another one (stored, and checked against the server's origin when opened).
#[derive(Serialize, Deserialize)]
enum StoredUrl {
    Derived,
    Absent,
    Other(String),
}

/// The payload on the wire, in field order (postcard: varints, length-prefixed strings).
#[derive(Serialize, Deserialize)]
struct Wire {
    version: u8,
    state: CookieState,
    iat: u64,
    exp: u64,
    token: Option<String>,
    secret: Option<String>,
    status_url: StoredUrl,
    logout_url: StoredUrl,
    status: Status,
    failure_reason: Option<String>,
    user: String,
    /// `None` when the IAMPASS user id is the user name (the default resolver).
    uid: Option<String>,
    next: Option<String>,
    factors: Factors,
    /// Seconds after `iat` (0 while pending, and for an approval at `iat`).
    approved_after_iat: u64,
    /// Bit per method: acceptance 1, device 2, facial 4.
    methods: u8,
}

/// The methods as the wire's bits.
fn method_bits(methods: &[AuthenticationMethod]) -> u8 {
    methods.iter().fold(0, |bits, m| bits | method_bit(*m))
}

fn method_bit(method: AuthenticationMethod) -> u8 {
    match method {
        AuthenticationMethod::Acceptance => 1,
        AuthenticationMethod::Device => 2,
        AuthenticationMethod::Facial => 4,
    }
}

/// The methods of the wire's bits, in a fixed order.
fn methods_of(bits: u8) -> Vec<AuthenticationMethod> {
    [
        AuthenticationMethod::Acceptance,
        AuthenticationMethod::Device,
        AuthenticationMethod::Facial,
    ]
    .into_iter()
    .filter(|m| bits & method_bit(*m) != 0)
    .collect()
}

/// Cookie attributes plus the key ring, bound to one deployment.
#[derive(Clone)]
pub(crate) struct CookieCodec {
    /// The name on the wire (with the `__Host-` prefix when configured).
    pub(crate) name: String,
    pub(crate) secure: bool,
    /// One cipher per key of the ring, each keyed for this deployment; the first seals.
    ciphers: Vec<Aes256Gcm>,
    /// The IAMPASS base URL (no trailing `/`), from which the default URLs are derived.
    server: String,
    /// Its origin (`scheme://host[:port]`, canonical): the only one the cookie's URLs may name.
    origin: String,
    /// Cookie values opened lately, by the SHA-256 of the whole value: only values that
    /// decrypted and checked out are entered, so a hit is the same authenticated bytes.
    pub(super) opened: moka::sync::Cache<[u8; 32], (Arc<SessionCookie>, usize)>,
    /// Refuse signed-in cookies made without the application's first factor.
    pub(crate) require_first_factor: bool,
}

impl std::fmt::Debug for CookieCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieCodec")
            .field("name", &self.name)
            .field("secure", &self.secure)
            .field("keys", &self.ciphers.len())
            .field("origin", &self.origin)
            .finish()
    }
}

/// Why a cookie value was not accepted (logged, never shown to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    Oversized,
    /// Not decryptable with any key: tampered, truncated, garbage, another key's or another
    /// deployment's cookie.
    Undecryptable,
    /// Decrypted but not a payload of this format.
    Malformed,
    WrongVersion,
    Expired,
    /// A status or logout URL on another origin than the configured server's.
    ForeignServer,
    /// Signed in without the first factor this deployment requires.
    MissingFactor,
}

/// The canonical origin of a URL (`None` when it has none, e.g. not a URL).
fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The AES-256-GCM key of one ring key for one deployment: HKDF-SHA-256 of the key's 64
/// bytes, with the application id and the server's origin (length-prefixed) as info.
fn deployment_cipher(key: &Key, application_id: &str, origin: &str) -> Aes256Gcm {
    let kdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(KDF_SALT), key.master());
    let mut okm = [0u8; 32];
    let app_len = (application_id.len() as u64).to_be_bytes();
    let origin_len = (origin.len() as u64).to_be_bytes();
    kdf.expand_multi_info(
        &[
            &app_len,
            application_id.as_bytes(),
            &origin_len,
            origin.as_bytes(),
        ],
        &mut okm,
    )
    .expect("32 bytes is a valid HKDF-SHA-256 output length");
    Aes256Gcm::new(&okm.into())
}

impl CookieCodec {
    /// `server`: the IAMPASS base URL the client uses (already checked by its builder).
    pub(crate) fn new(
        name: String,
        secure: bool,
        keys: &[Key],
        application_id: &str,
        server: &str,
    ) -> Self {
        debug_assert!(!keys.is_empty());
        let server = server.trim_end_matches('/').to_owned();
        let origin = origin_of(&server).unwrap_or_else(|| server.clone());
        let ciphers = keys
            .iter()
            .map(|key| deployment_cipher(key, application_id, &origin))
            .collect();
        CookieCodec {
            name,
            secure,
            ciphers,
            server,
            origin,
            opened: moka::sync::Cache::builder()
                .max_capacity(OPENED_CAPACITY)
                .time_to_live(OPENED_TTL)
                .build(),
            require_first_factor: false,
        }
    }

    /// The same keys and attributes under another name (another cookie: the name is the
    /// associated data, so neither cookie opens as the other).
    pub(crate) fn renamed(&self, name: String) -> Self {
        let mut codec = self.clone();
        codec.name = name;
        codec.opened = moka::sync::Cache::builder()
            .max_capacity(OPENED_CAPACITY)
            .time_to_live(OPENED_TTL)
            .build();
        codec
    }

    fn attributes(&self, cookie: &mut Cookie<'static>) {
        cookie.set_path("/");
        cookie.set_http_only(true);
        cookie.set_secure(self.secure);
        cookie.set_same_site(SameSite::Lax);
    }

    fn derived_url(&self, what: &str, token: &str) -> String {
        format!("{}/authentication/{what}/{token}", self.server)
    }

    fn store_url(&self, what: &str, url: Option<&str>, token: Option<&str>) -> StoredUrl {
        match (url, token) {
            (None, _) => StoredUrl::Absent,
            (Some(url), Some(token)) if url == self.derived_url(what, token) => StoredUrl::Derived,
            (Some(url), _) => StoredUrl::Other(url.to_owned()),
        }
    }

    fn load_url(
        &self,
        what: &str,
        stored: StoredUrl,
        token: Option<&str>,
    ) -> Result<Option<String>, Rejected> {
        match stored {
            StoredUrl::Absent => Ok(None),
            StoredUrl::Derived => token
                .map(|token| Some(self.derived_url(what, token)))
                .ok_or(Rejected::Malformed),
            StoredUrl::Other(url) if origin_of(&url).as_deref() == Some(&self.origin) => {
                Ok(Some(url))
            }
            StoredUrl::Other(_) => Err(Rejected::ForeignServer),
        }
    }

    /// The compact binary form of a payload.
    pub(super) fn encode(&self, payload: &SessionCookie) -> Result<Vec<u8>, Error> {
        let session = &payload.session;
        let token = session.session_token();
        let wire = Wire {
            version: payload.version,
            state: payload.state,
            iat: payload.iat,
            exp: payload.exp,
            token: token.map(str::to_owned),
            secret: session.session_secret().map(|s| s.expose().to_owned()),
            status_url: self.store_url("status", session.status_url(), token),
            logout_url: self.store_url("logout", session.logout_url(), token),
            status: session.session_status(),
            failure_reason: session.failure_reason().map(str::to_owned),
            user: payload.user.clone(),
            uid: (payload.uid != payload.user).then(|| payload.uid.clone()),
            next: payload.next.clone(),
            factors: payload.factors,
            approved_after_iat: payload.approved_at.saturating_sub(payload.iat),
            methods: method_bits(&payload.methods),
        };
        postcard::to_stdvec(&wire)
            .map_err(|e| Error::Cookie(format!("cannot serialise the cookie: {e}")))
    }

    /// The payload of decrypted bytes: version, format, URLs' origin, expiry.
    fn decode(&self, bytes: &[u8]) -> Result<SessionCookie, Rejected> {
        if bytes.first() != Some(&FORMAT_VERSION) {
            return Err(if bytes.is_empty() {
                Rejected::Malformed
            } else {
                Rejected::WrongVersion
            });
        }
        let (wire, rest): (Wire, _) =
            postcard::take_from_bytes(bytes).map_err(|_| Rejected::Malformed)?;
        if !rest.is_empty() {
            return Err(Rejected::Malformed);
        }
        let token = wire.token.as_deref();
        let status_url = self.load_url("status", wire.status_url, token)?;
        let logout_url = self.load_url("logout", wire.logout_url, token)?;
        let session = Session::from_parts(
            wire.token,
            wire.secret,
            status_url,
            logout_url,
            wire.failure_reason,
            wire.status,
        );
        let payload = SessionCookie {
            version: wire.version,
            session,
            uid: wire.uid.unwrap_or_else(|| wire.user.clone()),
            user: wire.user,
            state: wire.state,
            iat: wire.iat,
            exp: wire.exp,
            next: wire.next,
            factors: wire.factors,
            approved_at: match wire.state {
                CookieState::Pending => 0,
                CookieState::Authenticated => wire.iat.saturating_add(wire.approved_after_iat),
            },
            methods: methods_of(wire.methods),
        };
        if payload.is_expired() {
            return Err(Rejected::Expired);
        }
        if self.require_first_factor
            && payload.state == CookieState::Authenticated
            && !payload.factors.has_first_factor()
        {
            return Err(Rejected::MissingFactor);
        }
        Ok(payload)
    }

    /// `base64url(nonce ‖ ciphertext ‖ tag)` of `plaintext` under the current key.
    pub(super) fn encrypt(&self, plaintext: &[u8]) -> Result<String, Error> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self.ciphers[0]
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: self.name.as_bytes(),
                },
            )
            .map_err(|_| Error::Cookie("cannot encrypt the cookie".into()))?;
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(blob))
    }

    /// The plaintext of a cookie value and the index of the key that opened it.
    fn decrypt(&self, value: &str) -> Result<(Vec<u8>, usize), Rejected> {
        let blob = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| Rejected::Undecryptable)?;
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(Rejected::Undecryptable);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        self.ciphers
            .iter()
            .enumerate()
            .find_map(|(index, cipher)| {
                cipher
                    .decrypt(
                        Nonce::from_slice(nonce),
                        Payload {
                            msg: sealed,
                            aad: self.name.as_bytes(),
                        },
                    )
                    .ok()
                    .map(|plain| (plain, index))
            })
            .ok_or(Rejected::Undecryptable)
    }

    /// Encrypts `payload` with the first key into a complete `Set-Cookie` cookie.
    pub(crate) fn seal(&self, payload: &SessionCookie) -> Result<Cookie<'static>, Error> {
        let value = self.encrypt(&self.encode(payload)?)?;
        let mut cookie = Cookie::new(self.name.clone(), value);
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

    /// Decrypts and checks a cookie value: size, every key, format version, URLs' origin,
    /// expiry. Also says which key of the ring opened it (0: the current one).
    pub(crate) fn open(&self, value: &str) -> Result<(SessionCookie, usize), Rejected> {
        if value.len() >= MAX_SET_COOKIE_LEN {
            return Err(Rejected::Oversized);
        }
        let (plain, index) = self.decrypt(value)?;
        Ok((self.decode(&plain)?, index))
    }

    /// [`open`](Self::open), remembering the values it opened: a value seen lately is not
    /// decrypted again (its expiry is still checked).
    pub(crate) fn open_shared(&self, value: &str) -> Result<(Arc<SessionCookie>, usize), Rejected> {
        if value.len() >= MAX_SET_COOKIE_LEN {
            return Err(Rejected::Oversized);
        }
        let digest: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        if let Some((payload, index)) = self.opened.get(&digest) {
            if payload.is_expired() {
                self.opened.invalidate(&digest);
                return Err(Rejected::Expired);
            }
            return Ok((payload, index));
        }
        let (payload, index) = self.open(value)?;
        let payload = Arc::new(payload);
        self.opened.insert(digest, (payload.clone(), index));
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

//! Configuration from the environment: the variable names and [`Iampass::from_env`].

use base64::Engine;

use super::{Iampass, IampassBuilder};
use crate::Error;

/// Environment variable: the application id.
///
/// ```
/// assert_eq!(iampass::actix::APPLICATION_ID_ENV, "IAMPASS_APPLICATION_ID");
/// ```
pub const APPLICATION_ID_ENV: &str = "IAMPASS_APPLICATION_ID";
/// Environment variable: the application secret.
///
/// ```
/// assert_eq!(iampass::actix::APPLICATION_SECRET_ENV, "IAMPASS_APPLICATION_SECRET");
/// ```
pub const APPLICATION_SECRET_ENV: &str = "IAMPASS_APPLICATION_SECRET";
/// Environment variable: the cookie key, base64 of at least 64 bytes.
///
/// ```
/// assert_eq!(iampass::actix::COOKIE_KEY_ENV, "IAMPASS_COOKIE_KEY");
/// ```
pub const COOKIE_KEY_ENV: &str = "IAMPASS_COOKIE_KEY";
/// Environment variable: comma-separated base64 keys that still open cookies (rotation).
///
/// ```
/// assert_eq!(iampass::actix::COOKIE_OLD_KEYS_ENV, "IAMPASS_COOKIE_OLD_KEYS");
/// ```
pub const COOKIE_OLD_KEYS_ENV: &str = "IAMPASS_COOKIE_OLD_KEYS";

/// Decodes a base64 key (standard or URL-safe, padding optional).
pub(crate) fn decode_key(text: &str) -> Result<Vec<u8>, String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = text.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| "a cookie key is not valid base64".to_owned())
}

impl Iampass {
    /// A builder from the environment: `IAMPASS_APPLICATION_ID` and
    /// `IAMPASS_APPLICATION_SECRET` (required), `IAMPASS_SERVER` (optional, read by the
    /// client), `IAMPASS_COOKIE_KEY` (base64, at least 64 bytes; may instead be given to the
    /// builder), `IAMPASS_COOKIE_OLD_KEYS` (comma-separated base64, optional) and
    /// `IAMPASS_REDIS_URL` (optional: the instances share their state in that Redis, see
    /// [`IampassBuilder::store`]; needs the `redis` feature).
    ///
    /// ```no_run
    /// let iampass = iampass::actix::Iampass::from_env()?.cookie_secure(false).build()?;
    /// # let _ = iampass;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn from_env() -> Result<IampassBuilder, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let id = var(APPLICATION_ID_ENV)
            .ok_or_else(|| Error::Config(format!("{APPLICATION_ID_ENV} is not set")))?;
        let secret = var(APPLICATION_SECRET_ENV)
            .ok_or_else(|| Error::Config(format!("{APPLICATION_SECRET_ENV} is not set")))?;
        let mut builder = Iampass::builder(id, secret);
        if let Some(key) = var(COOKIE_KEY_ENV) {
            let key =
                decode_key(&key).map_err(|e| Error::Config(format!("{COOKIE_KEY_ENV}: {e}")))?;
            builder = builder.cookie_key(&key);
        }
        if let Some(old) = var(COOKIE_OLD_KEYS_ENV) {
            let keys = old
                .split(',')
                .filter(|k| !k.trim().is_empty())
                .map(|k| {
                    decode_key(k).map_err(|e| Error::Config(format!("{COOKIE_OLD_KEYS_ENV}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            builder = builder.cookie_old_keys(keys);
        }
        if var(crate::store::REDIS_URL_ENV).is_some() {
            let store = crate::store::Store::from_env()
                .map_err(|e| Error::Config(format!("{}: {e}", crate::store::REDIS_URL_ENV)))?;
            builder = builder.store(store);
        }
        Ok(builder)
    }
}

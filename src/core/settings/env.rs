//! Configuration from the environment: the variable names and [`Iampass::from_env`].

use super::IampassBuilder;
use super::builder::decode_key;
use crate::Error;
#[cfg(doc)]
use crate::core::Iampass;

/// Environment variable: the application id.
///
/// ```
/// assert_eq!(iampass::core::env::APPLICATION_ID_ENV, "IAMPASS_APPLICATION_ID");
/// ```
pub const APPLICATION_ID_ENV: &str = "IAMPASS_APPLICATION_ID";
/// Environment variable: the application secret.
///
/// ```
/// assert_eq!(iampass::core::env::APPLICATION_SECRET_ENV, "IAMPASS_APPLICATION_SECRET");
/// ```
pub const APPLICATION_SECRET_ENV: &str = "IAMPASS_APPLICATION_SECRET";
/// Environment variable: the cookie key, base64 of at least 64 bytes.
///
/// ```
/// assert_eq!(iampass::core::env::COOKIE_KEY_ENV, "IAMPASS_COOKIE_KEY");
/// ```
pub const COOKIE_KEY_ENV: &str = "IAMPASS_COOKIE_KEY";
/// Environment variable: comma-separated base64 keys that still open cookies (rotation).
///
/// ```
/// assert_eq!(iampass::core::env::COOKIE_OLD_KEYS_ENV, "IAMPASS_COOKIE_OLD_KEYS");
/// ```
pub const COOKIE_OLD_KEYS_ENV: &str = "IAMPASS_COOKIE_OLD_KEYS";

impl IampassBuilder {
    /// The builder [`Iampass::from_env`] gives.
    pub(crate) fn from_env() -> Result<IampassBuilder, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let id = var(APPLICATION_ID_ENV)
            .ok_or_else(|| Error::Config(format!("{APPLICATION_ID_ENV} is not set")))?;
        let secret = var(APPLICATION_SECRET_ENV)
            .ok_or_else(|| Error::Config(format!("{APPLICATION_SECRET_ENV} is not set")))?;
        let mut builder = IampassBuilder::new(id, secret.into());
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
        if var(crate::core::store::REDIS_URL_ENV).is_some() {
            let store = crate::core::store::Store::from_env().map_err(|e| {
                Error::Config(format!("{}: {e}", crate::core::store::REDIS_URL_ENV))
            })?;
            builder = builder.store(store);
        }
        Ok(builder)
    }
}

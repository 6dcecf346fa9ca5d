//! [`IampassBuilder::build`]: every check in one place, each failure one [`Error::Config`].

use std::sync::Arc;
use std::time::Duration;

use cookie::Key;

use super::Settings;
use super::builder::{ClientSource, IampassBuilder};
use super::defaults::{DEFAULT_REQUEST_TIMEOUT, MIN_KEY_LEN};
use super::env::COOKIE_KEY_ENV;
use crate::core::Iampass;
use crate::core::cookie::CookieCodec;
use crate::core::security::redirect::is_safe_redirect;
use crate::{AuthenticationApi, Error};

impl IampassBuilder {
    /// Checks the configuration and builds the [`Iampass`] value.
    ///
    /// Fails on: a missing or short (< 64 bytes) or undecodable cookie key, `__Host-` with
    /// `Secure` off, a bad cookie name, routes prefix or login path, a zero rate, a bad
    /// server URL, an empty application id, both [`server`](Self::server) and
    /// [`client`](Self::client), or a client for another application.
    ///
    /// ```
    /// let refused = iampass::actix::Iampass::builder("app", "secret").build();
    /// assert!(refused.is_err()); // no cookie key
    /// let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[1; 64]).build()?;
    /// # let _ = iampass;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn build(self) -> Result<Iampass, Error> {
        self.settings().map(Iampass::new)
    }

    /// The checked settings (every check of [`build`](Self::build)).
    fn settings(self) -> Result<Settings, Error> {
        let keys = key_ring(self.cookie_key, self.cookie_old_keys)?;
        if self.login.polls_per_login == 0 || self.login.polls_per_address == 0 {
            return Err(Error::Config(
                "poll_limits must allow at least one poll".into(),
            ));
        }
        if self.login.decoy_delay.0 > self.login.decoy_delay.1 {
            return Err(Error::Config(
                "public_login_decoy_delay: the minimum is above the maximum".into(),
            ));
        }
        if self.login.body_timeout.is_zero() {
            return Err(Error::Config(
                "body_timeout must be longer than zero".into(),
            ));
        }
        if self.session_max_age.is_zero() {
            return Err(Error::Config(
                "session_max_age must be longer than zero".into(),
            ));
        }
        if self.cookie_host_prefix && !self.cookie_secure {
            return Err(Error::Config(
                "the __Host- cookie prefix requires a Secure cookie: do not combine \
                 cookie_host_prefix(true) with cookie_secure(false)"
                    .into(),
            ));
        }
        let name_ok = !self.cookie_name.is_empty()
            && self
                .cookie_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            return Err(Error::Config(format!(
                "cookie name {:?}: use letters, digits, '-', '_' or '.'",
                self.cookie_name
            )));
        }
        let name = if self.cookie_host_prefix {
            format!("__Host-{}", self.cookie_name)
        } else {
            self.cookie_name
        };
        let local_path = |what: &str, path: &str| {
            if is_safe_redirect(path) {
                Ok(())
            } else {
                Err(Error::Config(format!(
                    "{what} {path:?} must be a local path starting with '/'"
                )))
            }
        };
        if !self.routes_prefix.is_empty() {
            local_path("routes prefix", &self.routes_prefix)?;
            if self.routes_prefix.contains(['?', '#']) {
                return Err(Error::Config(format!(
                    "routes prefix {:?} must be a plain path",
                    self.routes_prefix
                )));
            }
        }
        if let Some(path) = &self.login_path {
            local_path("login path", path)?;
        }
        local_path("after-logout path", &self.after_logout_path)?;
        for (what, rate) in [
            ("per user", self.per_user),
            ("per address", self.per_address),
            ("first factor per user", self.first_factor.0),
            ("first factor per address", self.first_factor.1),
        ] {
            if let Some(problem) = rate.and_then(|r| r.problem()) {
                return Err(Error::Config(format!("rate limit {what}: {problem}")));
            }
        }
        if self.events.interval.is_zero() || self.events.heartbeat.is_zero() {
            return Err(Error::Config(
                "events interval and heartbeat must be longer than zero".into(),
            ));
        }
        if self.events.per_session == 0 || self.events.per_address == 0 {
            return Err(Error::Config(
                "events caps of 0 would refuse every stream: use at least 1".into(),
            ));
        }
        let api = match self.client {
            ClientSource::Credentials {
                application_id,
                application_secret,
                server,
            } => {
                let mut api = AuthenticationApi::builder(application_id, application_secret)
                    .timeout(DEFAULT_REQUEST_TIMEOUT);
                if let Some(server) = server {
                    api = api.server(server);
                }
                api.build()?
            }
            ClientSource::Prebuilt {
                server_too: true, ..
            } => {
                return Err(Error::Config(
                    "both server() and client() were given: set the server on the client".into(),
                ));
            }
            ClientSource::Prebuilt {
                client,
                expected_id,
                ..
            } => {
                if client.application_id() != expected_id {
                    return Err(Error::Config(format!(
                        "client() is for application {:?}, the builder for {expected_id:?}",
                        client.application_id()
                    )));
                }
                *client
            }
        };
        let resolver = self
            .resolver
            .unwrap_or_else(|| Arc::new(|user| Box::pin(async move { Ok(user) })));
        let login_path = self
            .login_path
            .unwrap_or_else(|| format!("{}/login", self.routes_prefix));
        // Bound to this deployment: its application id and IAMPASS server.
        let mut codec = CookieCodec::new(
            name,
            self.cookie_secure,
            &keys,
            api.application_id(),
            api.server(),
        );
        // A deployment without the public login signs users in only after its own first
        // factor, unless it says otherwise.
        codec.require_first_factor = self
            .require_first_factor
            .unwrap_or(!self.login.public_login);
        if self.login.step_up.window.is_zero() {
            return Err(Error::Config(
                "step_up_window is zero: no approval would ever be recent".into(),
            ));
        }
        let step_up_codec = codec.renamed(format!("{}-step-up", codec.name));
        Ok(Settings {
            api,
            codec,
            step_up_codec,
            revalidate: self.revalidate,
            fail_mode: self.fail_mode,
            walkaway: self.walkaway,
            routes_prefix: self.routes_prefix,
            login_path,
            after_logout_path: self.after_logout_path,
            // IAMPASS takes whole seconds and so does a cookie's Max-Age: round up, so the
            // login lasts at least what was asked.
            session_max_age: Duration::from_secs(
                self.session_max_age.as_secs() + u64::from(self.session_max_age.subsec_nanos() > 0),
            ),
            per_user: self.per_user,
            per_address: self.per_address,
            first_factor: self.first_factor,
            resolver,
            login: self.login,
            events: self.events,
            store: self.store,
            branding: self.branding.checked()?,
            extensions: self.extensions,
        })
    }
}

/// The key ring: the sealing key first, then the old keys; each at least [`MIN_KEY_LEN`].
fn key_ring(
    primary: Option<Result<Vec<u8>, String>>,
    old: Vec<Result<Vec<u8>, String>>,
) -> Result<Vec<Key>, Error> {
    let Some(primary) = primary else {
        return Err(Error::Config(format!(
            "no cookie key: call cookie_key()/cookie_key_base64() or set {COOKIE_KEY_ENV} \
             (base64 of at least {MIN_KEY_LEN} random bytes, e.g. `openssl rand -base64 64`)"
        )));
    };
    std::iter::once(primary)
        .chain(old)
        .map(|key| {
            let key = key.map_err(Error::Config)?;
            if key.len() < MIN_KEY_LEN {
                return Err(Error::Config(format!(
                    "a cookie key is {} bytes; at least {MIN_KEY_LEN} are required",
                    key.len()
                )));
            }
            Key::try_from(key.as_slice()).map_err(|e| Error::Config(format!("cookie key: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use std::time::Duration;

    use crate::core::Iampass;
    use crate::core::settings::defaults::{DEFAULT_LOGIN_PATH, DEFAULT_ROUTES_PREFIX};
    use crate::core::store::Rate;

    fn base() -> IampassBuilder {
        Iampass::builder("app", "secret").server("http://127.0.0.1:1")
    }

    #[test]
    fn build_checks() {
        assert!(base().build().is_err(), "no key");
        assert!(base().cookie_key(&[1; 63]).build().is_err(), "short key");
        assert!(
            base().cookie_key_base64("!!!").build().is_err(),
            "bad base64"
        );
        let keyed = || base().cookie_key(&[1; 64]);
        assert!(keyed().cookie_old_keys([[2u8; 10]]).build().is_err());
        assert!(
            keyed()
                .cookie_host_prefix(true)
                .cookie_secure(false)
                .build()
                .is_err()
        );
        assert!(keyed().cookie_name("a b").build().is_err());
        assert!(keyed().login_path("//evil").build().is_err());
        assert!(keyed().routes_prefix("//evil").build().is_err());
        assert!(keyed().routes_prefix("auth").build().is_err());
        assert!(keyed().routes_prefix("/a?b").build().is_err());
        assert!(
            keyed()
                .rate_limit_per_user(Rate::per_minute(0))
                .build()
                .is_err()
        );
        assert!(
            keyed()
                .rate_limit_per_address(Rate::new(3, Duration::ZERO))
                .build()
                .is_err()
        );
        let ok = base()
            .cookie_key_base64(&base64::engine::general_purpose::STANDARD.encode([9u8; 64]))
            .cookie_old_keys(vec![vec![2u8; 64]])
            .cookie_host_prefix(true)
            .rate_limit_per_user(None)
            .build()
            .unwrap();
        assert_eq!(ok.cookie_name(), "__Host-iampass");
        assert!(
            keyed().session_max_age(Duration::ZERO).build().is_err(),
            "zero max age"
        );
        let rounded = keyed()
            .session_max_age(Duration::from_millis(1500))
            .build()
            .unwrap();
        assert_eq!(rounded.settings().session_max_age, Duration::from_secs(2));
        let sub_second = keyed()
            .session_max_age(Duration::from_millis(1))
            .build()
            .unwrap();
        assert_eq!(
            sub_second.settings().session_max_age,
            Duration::from_secs(1)
        );
        assert_eq!(ok.login_path(), DEFAULT_LOGIN_PATH);
        assert_eq!(ok.routes_prefix(), DEFAULT_ROUTES_PREFIX);
        assert!(!format!("{:?}", base().cookie_key(&[1; 64])).contains("secret\""));
    }

    #[test]
    fn routes_prefix_decides_the_login_path_unless_one_is_given() {
        let keyed = || base().cookie_key(&[1; 64]);
        let at = |b: IampassBuilder| {
            let i = b.build().unwrap();
            (i.routes_prefix().to_owned(), i.login_path().to_owned())
        };
        assert_eq!(
            at(keyed().routes_prefix("/account/")),
            ("/account".into(), "/account/login".into())
        );
        assert_eq!(
            at(keyed().routes_prefix("/")),
            (String::new(), "/login".into())
        );
        assert_eq!(
            at(keyed().routes_prefix("/account").login_path("/signin")),
            ("/account".into(), "/signin".into())
        );
    }

    #[test]
    fn a_prebuilt_client_is_used_and_checked() {
        let client = |id: &str| {
            AuthenticationApi::builder(id, "secret")
                .server("http://127.0.0.1:2")
                .build()
                .unwrap()
        };
        let keyed = || Iampass::builder("app", "secret").cookie_key(&[1; 64]);
        let ok = keyed().client(client("app")).build().unwrap();
        assert_eq!(ok.authentication_api().server(), "http://127.0.0.1:2");
        assert!(keyed().client(client("other")).build().is_err());
        assert!(
            keyed()
                .server("http://127.0.0.1:3")
                .client(client("app"))
                .build()
                .is_err()
        );
        assert!(
            keyed()
                .client(client("app"))
                .server("http://127.0.0.1:3")
                .build()
                .is_err()
        );
    }
}

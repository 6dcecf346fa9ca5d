//! The knobs of the login handlers' defences: which authentication methods a login asks for,
//! the client address behind proxies, caps on long-polls, the body-read deadline and the
//! security headers of the crate's pages (read by the handlers as one `LoginSettings`).

use std::time::Duration;

use super::builder::IampassBuilder;
use crate::AuthenticationMethod;
use crate::core::security::client_addr::TrustedProxies;

impl IampassBuilder {
    /// The authentication methods every login asks for (default: none named, IAMPASS
    /// chooses). Methods a browser sends are ignored unless [`browser_methods`](Self::browser_methods)
    /// allows them: the application decides how strong a login is, not the client.
    ///
    /// ```
    /// use iampass::AuthenticationMethod;
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .methods([AuthenticationMethod::Facial]);
    /// # let _ = b;
    /// ```
    pub fn methods(mut self, methods: impl IntoIterator<Item = AuthenticationMethod>) -> Self {
        self.login.methods = methods.into_iter().collect();
        self
    }

    /// Methods a browser may choose among with `"methods"` in `POST {prefix}/login`
    /// (default: none: the browser's choice is ignored and [`methods`](Self::methods) is sent).
    /// A request naming any method outside this list gets [`methods`](Self::methods).
    ///
    /// ```
    /// use iampass::AuthenticationMethod::{Acceptance, Facial};
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .methods([Facial])
    ///     .browser_methods([Facial, Acceptance]);
    /// # let _ = b;
    /// ```
    pub fn browser_methods(
        mut self,
        methods: impl IntoIterator<Item = AuthenticationMethod>,
    ) -> Self {
        self.login.browser_methods = methods.into_iter().collect();
        self
    }

    /// Reverse proxies whose `X-Forwarded-For` (or, with
    /// [`TrustedProxies::with_header`], `Forwarded`) gives the client address for the
    /// per-address limits and the audit log (default: none; the TCP peer is the client).
    /// Only when the peer is one of them is the right-most address that is not a trusted
    /// proxy taken. Behind nginx on the same host:
    ///
    /// ```
    /// use iampass::actix::TrustedProxies;
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .trusted_proxies("127.0.0.1, ::1".parse::<TrustedProxies>()?);
    /// # let _ = b;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    ///
    /// with nginx setting `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.login.trusted_proxies = proxies;
        self
    }

    /// Caps on concurrent `GET {prefix}/poll` requests, per pending login and per client
    /// address (defaults [`DEFAULT_POLLS_PER_LOGIN`](crate::core::defaults::DEFAULT_POLLS_PER_LOGIN), [`DEFAULT_POLLS_PER_ADDRESS`](crate::core::defaults::DEFAULT_POLLS_PER_ADDRESS)); more
    /// are answered `429`. However many polls there are, one login costs IAMPASS at most
    /// about two status calls a second.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").poll_limits(2, 16);
    /// # let _ = b;
    /// ```
    pub fn poll_limits(mut self, per_login: usize, per_address: usize) -> Self {
        self.login.polls_per_login = per_login;
        self.login.polls_per_address = per_address;
        self
    }

    /// Time allowed to send the body of a login or logout request (default
    /// [`DEFAULT_BODY_TIMEOUT`](crate::core::defaults::DEFAULT_BODY_TIMEOUT)); a slower body is answered `408` and its connection freed.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .body_timeout(std::time::Duration::from_secs(2));
    /// # let _ = b;
    /// ```
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.login.body_timeout = timeout;
        self
    }

    /// Whether `POST {prefix}/login` starts a login from a user name alone (default `true`,
    /// the passwordless mode). Turn it off when IAMPASS is the second factor after the
    /// application's own password or SSO check: logins then start only from the
    /// application's handlers with [`Iampass::start_login`](crate::actix::Iampass::start_login),
    /// and `POST {prefix}/login` answers `403`. Polling, the wait page and logout stay. Point
    /// [`login_path`](Self::login_path) at the application's own sign-in page.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .public_login(false)
    ///     .login_path("/signin");
    /// # let _ = b;
    /// ```
    pub fn public_login(mut self, enabled: bool) -> Self {
        self.login.public_login = enabled;
        self
    }

    /// How long a *decoy* stays pending in the public mode (default
    /// [`DEFAULT_DECOY_DELAY`](crate::core::defaults::DEFAULT_DECOY_DELAY): 6 to 40 s). So that `POST {prefix}/login` does not tell who
    /// has an account, an unknown user name or a user without a phone gets the same `202`
    /// and pending cookie as a real one; the poll then says `pending` for a random time in
    /// this range (what a person takes to read and refuse an unexpected request) and ends
    /// as the same `failed` answer a refused login gets, without asking IAMPASS. `min` above
    /// `max` is a configuration error.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .public_login_decoy_delay(Duration::from_secs(10), Duration::from_secs(60));
    /// # let _ = b;
    /// ```
    pub fn public_login_decoy_delay(mut self, min: Duration, max: Duration) -> Self {
        self.login.decoy_delay = (min, max);
        self
    }

    /// Whether the crate's pages carry their security headers (default `true`):
    /// a `Content-Security-Policy` without inline script, `frame-ancestors 'none'`,
    /// `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff` and
    /// `Referrer-Policy: same-origin`. Turn off only when the application sets its own.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").security_headers(false);
    /// # let _ = b;
    /// ```
    pub fn security_headers(mut self, enabled: bool) -> Self {
        self.login.security_headers = enabled;
        self
    }

    /// Whether a signed-in cookie must record the application's own first factor (a cookie
    /// from [`Iampass::start_login`](crate::core::Iampass::start_login)); one made by the
    /// phone alone (the public login) is then refused, even when another deployment sharing
    /// the key minted it. Default: required exactly when [`public_login`](Self::public_login)
    /// is off (such a deployment signs users in only after its own first factor).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .public_login(false) // password then phone
    ///     .require_first_factor(true); // the default with public_login(false)
    /// # let _ = b;
    /// ```
    pub fn require_first_factor(mut self, required: bool) -> Self {
        self.require_first_factor = Some(required);
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::AuthenticationMethod::{Acceptance, Device, Facial};
    use crate::core::settings::LoginSettings;

    #[test]
    fn the_browser_chooses_only_what_the_policy_allows() {
        let mut settings = LoginSettings {
            methods: vec![Facial],
            ..LoginSettings::default()
        };
        assert_eq!(settings.methods_for(&[]), vec![Facial]);
        assert_eq!(settings.methods_for(&[Acceptance]), vec![Facial]);
        settings.browser_methods = vec![Facial, Acceptance];
        assert_eq!(settings.methods_for(&[Acceptance]), vec![Acceptance]);
        assert_eq!(settings.methods_for(&[Acceptance, Device]), vec![Facial]);
    }
}

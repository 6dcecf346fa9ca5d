//! [`IampassBuilder`]: every knob; nothing is checked until
//! [`build`](IampassBuilder::build) (a bad setting is one [`Error::Config`] from there, as
//! reqwest's `ClientBuilder` defers its errors).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::branding::{Branding, ColorScheme, Page};
use super::defaults::{
    DEFAULT_COOKIE_NAME, DEFAULT_FIRST_FACTOR_PER_ADDRESS, DEFAULT_FIRST_FACTOR_PER_USER,
    DEFAULT_RATE_PER_ADDRESS, DEFAULT_RATE_PER_USER, DEFAULT_ROUTES_PREFIX,
    DEFAULT_SESSION_MAX_AGE,
};
use super::policy::{FailMode, Revalidate, WalkawayPolicy};
use super::{EventsSettings, Extensions, LoginSettings, Resolver};
use crate::core::store::Rate;
use crate::core::store::Store;
use crate::{AuthenticationApi, Error, Secret};

/// Where the IAMPASS client comes from.
pub(super) enum ClientSource {
    /// The builder makes one from the credentials (and [`IampassBuilder::server`]).
    Credentials {
        application_id: String,
        application_secret: Secret,
        server: Option<String>,
    },
    /// Given, ready-made; `expected_id` is the application id the builder was made for.
    Prebuilt {
        client: Box<AuthenticationApi>,
        expected_id: String,
        server_too: bool,
    },
}

/// Builds an [`Iampass`](crate::core::Iampass). Start with [`Iampass::builder`](crate::core::Iampass::builder) or [`Iampass::from_env`](crate::core::Iampass::from_env).
///
/// ```
/// use std::time::Duration;
/// use iampass::actix::{FailMode, Iampass, Revalidate, WalkawayPolicy};
/// use iampass::core::store::Rate;
/// let key = [7u8; 64]; // use 64 random bytes, kept secret and stable across restarts
/// let iampass = Iampass::builder("app-id", "app-secret")
///     .server("http://127.0.0.1:8765")
///     .cookie_key(&key)
///     .cookie_secure(false) // plain-HTTP development only
///     .revalidate(Revalidate::After(Duration::from_secs(5)))
///     .fail_mode(FailMode::Closed)
///     .walkaway_policy(WalkawayPolicy::Deny)
///     .routes_prefix("/auth")
///     .rate_limit_per_user(Rate::per_minute(5))
///     .rate_limit_per_address(None)
///     .user_resolver(|user: String| async move { Ok::<_, iampass::Error>(user.to_lowercase()) })
///     .build()?;
/// assert_eq!(iampass.login_path(), "/auth/login");
/// # Ok::<(), iampass::Error>(())
/// ```
#[must_use]
pub struct IampassBuilder {
    pub(super) client: ClientSource,
    pub(super) cookie_key: Option<Result<Vec<u8>, String>>,
    pub(super) cookie_old_keys: Vec<Result<Vec<u8>, String>>,
    pub(super) cookie_secure: bool,
    pub(super) cookie_host_prefix: bool,
    pub(super) cookie_name: String,
    pub(super) revalidate: Revalidate,
    pub(super) fail_mode: FailMode,
    pub(super) walkaway: WalkawayPolicy,
    pub(super) routes_prefix: String,
    pub(super) login_path: Option<String>,
    pub(super) after_logout_path: String,
    pub(super) session_max_age: Duration,
    pub(super) per_user: Option<Rate>,
    pub(super) per_address: Option<Rate>,
    pub(super) first_factor: (Option<Rate>, Option<Rate>),
    pub(super) resolver: Option<Resolver>,
    pub(crate) extensions: Extensions,
    pub(super) require_first_factor: Option<bool>,
    pub(super) login: LoginSettings,
    pub(super) events: EventsSettings,
    pub(super) store: Store,
    pub(super) branding: Branding,
}

impl std::fmt::Debug for IampassBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("IampassBuilder");
        match &self.client {
            ClientSource::Credentials {
                application_id,
                application_secret,
                server,
            } => d
                .field("application_id", application_id)
                .field("application_secret", application_secret)
                .field("server", server),
            ClientSource::Prebuilt { client, .. } => d.field("client", client),
        };
        d.field(
            "cookie_key",
            &self.cookie_key.as_ref().map(|_| "<redacted>"),
        )
        .field("cookie_old_keys", &self.cookie_old_keys.len())
        .field("cookie_secure", &self.cookie_secure)
        .field("cookie_host_prefix", &self.cookie_host_prefix)
        .field("cookie_name", &self.cookie_name)
        .field("revalidate", &self.revalidate)
        .field("fail_mode", &self.fail_mode)
        .field("walkaway", &self.walkaway)
        .field("routes_prefix", &self.routes_prefix)
        .field("login_path", &self.login_path)
        .field("after_logout_path", &self.after_logout_path)
        .field("session_max_age", &self.session_max_age)
        .field("per_user", &self.per_user)
        .field("per_address", &self.per_address)
        .field("events", &self.events)
        .field("store", &self.store)
        .finish_non_exhaustive()
    }
}

impl IampassBuilder {
    pub(crate) fn new(application_id: String, application_secret: Secret) -> Self {
        IampassBuilder {
            client: ClientSource::Credentials {
                application_id,
                application_secret,
                server: None,
            },
            cookie_key: None,
            cookie_old_keys: Vec::new(),
            cookie_secure: true,
            cookie_host_prefix: false,
            cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
            revalidate: Revalidate::EveryRequest,
            fail_mode: FailMode::Closed,
            walkaway: WalkawayPolicy::Deny,
            routes_prefix: DEFAULT_ROUTES_PREFIX.to_owned(),
            login_path: None,
            after_logout_path: "/".to_owned(),
            session_max_age: DEFAULT_SESSION_MAX_AGE,
            per_user: Some(DEFAULT_RATE_PER_USER),
            per_address: Some(DEFAULT_RATE_PER_ADDRESS),
            first_factor: (
                Some(DEFAULT_FIRST_FACTOR_PER_USER),
                Some(DEFAULT_FIRST_FACTOR_PER_ADDRESS),
            ),
            resolver: None,
            extensions: Extensions::default(),
            require_first_factor: None,
            login: LoginSettings::default(),
            events: EventsSettings::default(),
            store: Store::memory(),
            branding: Branding::default(),
        }
    }

    /// Where the state shared by the application's instances lives: login rate limits,
    /// revocations (logout, the one-time exchange of a login), the status cache of
    /// [`Revalidate::After`] and the stale-if-error memory. Default: this process's memory
    /// ([`Store::memory`]); several instances behind a load balancer share one Redis
    /// ([`Store::redis`](crate::core::store::Store), feature `redis`).
    /// [`Iampass::from_env`](crate::core::Iampass::from_env) reads `IAMPASS_REDIS_URL`.
    ///
    /// ```
    /// use iampass::core::store::Store;
    /// let b = iampass::actix::Iampass::builder("app", "secret").store(Store::memory());
    /// # let _ = b;
    /// ```
    pub fn store(mut self, store: Store) -> Self {
        self.store = store;
        self
    }

    /// The IAMPASS base URL for the client the builder makes (else `IAMPASS_SERVER`, else
    /// `https://iam-api.com`), with a [`DEFAULT_REQUEST_TIMEOUT`](crate::core::defaults::DEFAULT_REQUEST_TIMEOUT) per call.
    ///
    /// A shortcut kept because pointing at an emulator is the one client setting nearly
    /// every development setup and test needs; anything else (timeout, HTTP client, user
    /// agent) goes through [`client`](Self::client). Setting both is refused by
    /// [`build`](Self::build).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").server("http://127.0.0.1:8765");
    /// # let _ = b;
    /// ```
    pub fn server(mut self, url: impl Into<String>) -> Self {
        match &mut self.client {
            ClientSource::Credentials { server, .. } => *server = Some(url.into()),
            ClientSource::Prebuilt { server_too, .. } => *server_too = true,
        }
        self
    }

    /// Uses a ready-made IAMPASS client (its server, timeout, HTTP client and credentials)
    /// instead of making one. Its application id must be the one given to
    /// [`Iampass::builder`](crate::core::Iampass::builder); [`build`](Self::build) refuses a mismatch.
    ///
    /// ```
    /// use std::time::Duration;
    /// use iampass::AuthenticationApi;
    /// let client = AuthenticationApi::builder("app", "secret")
    ///     .server("http://127.0.0.1:8765")
    ///     .timeout(Duration::from_secs(2))
    ///     .build()?;
    /// let iampass = iampass::actix::Iampass::builder("app", "secret")
    ///     .client(client)
    ///     .cookie_key(&[1; 64])
    ///     .build()?;
    /// assert_eq!(iampass.authentication_api().server(), "http://127.0.0.1:8765");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn client(mut self, client: AuthenticationApi) -> Self {
        let (expected_id, server_too) = match self.client {
            ClientSource::Credentials {
                application_id,
                server,
                ..
            } => (application_id, server.is_some()),
            ClientSource::Prebuilt {
                expected_id,
                server_too,
                ..
            } => (expected_id, server_too),
        };
        self.client = ClientSource::Prebuilt {
            client: Box::new(client),
            expected_id,
            server_too,
        };
        self
    }

    /// The key that seals (and opens) session cookies: at least 64 bytes of secret, random
    /// material, the same on every instance and across restarts. Required.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[7u8; 64]);
    /// # let _ = b;
    /// ```
    pub fn cookie_key(mut self, key: &[u8]) -> Self {
        self.cookie_key = Some(Ok(key.to_vec()));
        self
    }

    /// [`cookie_key`](Self::cookie_key) from base64 (standard or URL-safe, padding optional).
    ///
    /// ```
    /// let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="; // 64 bytes
    /// let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key_base64(key).build()?;
    /// # let _ = iampass;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn cookie_key_base64(mut self, key: &str) -> Self {
        self.cookie_key = Some(decode_key(key));
        self
    }

    /// Keys that still open cookies but never seal new ones: put the previous
    /// [`cookie_key`](Self::cookie_key) here when rotating, so nobody is logged out.
    /// Cookies re-issued afterwards are sealed with the new key.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[2u8; 64]).cookie_old_keys(vec![[1u8; 64]]);
    /// # let _ = b;
    /// ```
    pub fn cookie_old_keys<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        self.cookie_old_keys = keys.into_iter().map(|k| Ok(k.as_ref().to_vec())).collect();
        self
    }

    /// [`cookie_old_keys`](Self::cookie_old_keys) from base64 strings.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").cookie_old_keys_base64(["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="]);
    /// # let _ = b;
    /// ```
    pub fn cookie_old_keys_base64<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.cookie_old_keys = keys.into_iter().map(|k| decode_key(k.as_ref())).collect();
        self
    }

    /// The cookie's `Secure` attribute (default `true`). Turn it off only for plain-HTTP
    /// development; it cannot be combined with [`cookie_host_prefix`](Self::cookie_host_prefix).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").cookie_secure(false); // http://localhost only
    /// # let _ = b;
    /// ```
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.cookie_secure = secure;
        self
    }

    /// Prefixes the cookie name with `__Host-` (the browser then guarantees `Secure`,
    /// `Path=/` and no `Domain`). Requires [`cookie_secure(true)`](Self::cookie_secure).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").cookie_host_prefix(true); // cookie name __Host-iampass
    /// # let _ = b;
    /// ```
    pub fn cookie_host_prefix(mut self, enabled: bool) -> Self {
        self.cookie_host_prefix = enabled;
        self
    }

    /// The cookie name (default `iampass`).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").cookie_name("my_app_login");
    /// # let _ = b;
    /// ```
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// How often IAMPASS is asked about a session (default [`Revalidate::EveryRequest`]).
    ///
    /// ```
    /// use iampass::actix::Revalidate;
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .revalidate(Revalidate::After(std::time::Duration::from_secs(5)));
    /// # let _ = b;
    /// ```
    pub fn revalidate(mut self, revalidate: Revalidate) -> Self {
        self.revalidate = revalidate;
        self
    }

    /// What to do when IAMPASS cannot be asked (default [`FailMode::Closed`]).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").fail_mode(iampass::actix::FailMode::Closed);
    /// # let _ = b;
    /// ```
    pub fn fail_mode(mut self, mode: FailMode) -> Self {
        self.fail_mode = mode;
        self
    }

    /// What `walkaway` does (default [`WalkawayPolicy::Deny`]).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").walkaway_policy(iampass::actix::WalkawayPolicy::EndSession);
    /// # let _ = b;
    /// ```
    pub fn walkaway_policy(mut self, policy: WalkawayPolicy) -> Self {
        self.walkaway = policy;
        self
    }

    /// Where [`Iampass::routes`](crate::core::Iampass::routes) mounts the login handlers (default `/auth`): `{prefix}/login`,
    /// `{prefix}/poll`, `{prefix}/logout`. `""` (or `"/"`) mounts them at the root. A
    /// trailing `/` is dropped.
    ///
    /// ```
    /// let iampass = iampass::actix::Iampass::builder("app", "secret")
    ///     .cookie_key(&[1; 64])
    ///     .routes_prefix("/account")
    ///     .build()?;
    /// assert_eq!(iampass.login_path(), "/account/login");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn routes_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.routes_prefix = prefix.into().trim_end_matches('/').to_owned();
        self
    }

    /// Where [`RequireIampass`](crate::actix::RequireIampass) sends HTML requests without a
    /// login, when that is not the crate's own login page (default `{routes_prefix}/login`).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").login_path("/signin");
    /// # let _ = b;
    /// ```
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        self.login_path = Some(path.into());
        self
    }

    /// Where a browser lands after `POST {prefix}/logout` (default `/`). Must be a local path.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").after_logout_path("/goodbye");
    /// # let _ = b;
    /// ```
    pub fn after_logout_path(mut self, path: impl Into<String>) -> Self {
        self.after_logout_path = path.into();
        self
    }

    /// The absolute lifetime of a login (default 1 h), also asked of IAMPASS as the
    /// session's `duration_seconds`. Re-issuing a cookie never extends it. Rounded up to whole
    /// seconds; zero fails [`build`](Self::build).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").session_max_age(std::time::Duration::from_secs(8 * 3600));
    /// # let _ = b;
    /// ```
    pub fn session_max_age(mut self, max_age: Duration) -> Self {
        self.session_max_age = max_age;
        self
    }

    /// Login starts allowed per IAMPASS user (default [`DEFAULT_RATE_PER_USER`], 5 per
    /// minute); `None` switches the limit off. Excess starts are answered `429` with
    /// `Retry-After`.
    ///
    /// ```
    /// use iampass::core::store::Rate;
    /// let b = iampass::actix::Iampass::builder("app", "secret").rate_limit_per_user(Rate::per_minute(3));
    /// # let _ = b;
    /// ```
    pub fn rate_limit_per_user(mut self, rate: impl Into<Option<Rate>>) -> Self {
        self.per_user = rate.into();
        self
    }

    /// Login starts allowed per client address, the TCP peer rather than a forwarded header
    /// (default [`DEFAULT_RATE_PER_ADDRESS`], 20 per minute); `None` switches the limit off.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").rate_limit_per_address(None); // off
    /// # let _ = b;
    /// ```
    pub fn rate_limit_per_address(mut self, rate: impl Into<Option<Rate>>) -> Self {
        self.per_address = rate.into();
        self
    }

    /// First-factor attempts allowed per user name and per client address (defaults
    /// [`DEFAULT_FIRST_FACTOR_PER_USER`](crate::core::defaults::DEFAULT_FIRST_FACTOR_PER_USER),
    /// 10 per minute, and
    /// [`DEFAULT_FIRST_FACTOR_PER_ADDRESS`](crate::core::defaults::DEFAULT_FIRST_FACTOR_PER_ADDRESS),
    /// 30 per minute), taken by
    /// [`Iampass::limit_first_factor`](crate::core::Iampass::limit_first_factor) before the
    /// application checks a password; apart from the login starts' allowance, in the same
    /// store. `None` switches one off.
    ///
    /// ```
    /// use iampass::core::store::Rate;
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .rate_limit_first_factor(Rate::per_minute(5), Rate::per_minute(20));
    /// # let _ = b;
    /// ```
    pub fn rate_limit_first_factor(
        mut self,
        per_user: impl Into<Option<Rate>>,
        per_address: impl Into<Option<Rate>>,
    ) -> Self {
        self.first_factor = (per_user.into(), per_address.into());
        self
    }

    /// Maps the user name typed at login to the IAMPASS user id (default: unchanged). An
    /// `Err` that [is an outage](Error::is_outage) answers `503`, any other `422`.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .user_resolver(|name: String| async move {
    ///         // e.g. look the user up in the application's database
    ///         Ok::<_, iampass::Error>(format!("{}@example.com", name.to_lowercase()))
    ///     });
    /// # let _ = b;
    /// ```
    pub fn user_resolver<F, Fut>(mut self, resolver: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, Error>> + Send + 'static,
    {
        self.resolver = Some(Arc::new(move |user| Box::pin(resolver(user))));
        self
    }

    /// The application's name, shown above the crate's login and wait pages and in their
    /// titles (default: none). At most 80 characters; escaped in the page.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").app_name("Acme Notes");
    /// # let _ = b;
    /// ```
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.branding.app_name = Some(name.into());
        self
    }

    /// A link home above the crate's pages (the application's name, or "Home"): a same-site
    /// path like `/`, or an `http(s)` URL. Anything else fails [`build`](Self::build).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").home_link("/");
    /// # let _ = b;
    /// ```
    pub fn home_link(mut self, href: impl Into<String>) -> Self {
        self.branding.home = Some(href.into());
        self
    }

    /// Sets a CSS custom property of the crate's pages, in every colour scheme: `--accent`
    /// (buttons, links), `--fail`, `--muted`, `--bg`, `--fg`, `--card`, `--border`, `--font`.
    /// They go in a `<style>` block the pages' CSP allows by its hash, so
    /// [`build`](Self::build) refuses a name that is not `--` and `a-z0-9-`, and a value with
    /// anything but letters, digits, spaces and `#%(),.-+/!'"` (no `<`, `;`, braces, comments
    /// or `url(`).
    ///
    /// ```
    /// let iampass = iampass::actix::Iampass::builder("app", "secret")
    ///     .cookie_key(&[1; 64])
    ///     .page_style("--accent", "#4338ca")
    ///     .page_style("--font", "\"Inter\", system-ui, sans-serif")
    ///     .build()?;
    /// # let _ = iampass;
    /// let hostile = iampass::actix::Iampass::builder("app", "secret")
    ///     .cookie_key(&[1; 64])
    ///     .page_style("--accent", "</style><script>alert(1)</script>")
    ///     .build();
    /// assert!(hostile.is_err());
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn page_style(mut self, property: impl Into<String>, value: impl Into<String>) -> Self {
        self.branding
            .properties
            .push((property.into(), value.into()));
        self
    }

    /// The colour scheme of the crate's pages (default [`ColorScheme::Auto`]: follow the
    /// visitor's system setting). An application without a dark mode sets
    /// [`ColorScheme::Light`], so the sign-in does not turn dark while the app stays light.
    ///
    /// ```
    /// use iampass::actix::{ColorScheme, Iampass};
    /// let b = Iampass::builder("app", "secret").color_scheme(ColorScheme::Light);
    /// # let _ = b;
    /// ```
    pub fn color_scheme(mut self, scheme: ColorScheme) -> Self {
        self.branding.color_scheme = scheme;
        self
    }

    /// Replaces the crate's login and wait pages with the application's own HTML: `render`
    /// gets the [`Page`] (raw text: escape it) and returns the whole document. The pages keep
    /// their security headers: scripts and styles must come from the application's own
    /// files (`'self'`), with no inline code.
    ///
    /// ```
    /// use iampass::actix::{Iampass, Page};
    /// let b = Iampass::builder("app", "secret").page_renderer(|page: &Page| match page {
    ///     Page::Login { .. } => "<!doctype html><title>Sign in</title>…".to_owned(),
    ///     _ => "<!doctype html><p>Check your phone.</p>".to_owned(),
    /// });
    /// # let _ = b;
    /// ```
    pub fn page_renderer<F>(mut self, render: F) -> Self
    where
        F: Fn(&Page) -> String + Send + Sync + 'static,
    {
        self.branding.renderer = Some(Arc::new(render));
        self
    }
}

/// Decodes a base64 key (standard or URL-safe, padding optional).
pub(crate) fn decode_key(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = text.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| "a cookie key is not valid base64".to_owned())
}

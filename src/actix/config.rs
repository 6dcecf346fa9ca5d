//! Configuration: [`IampassBuilder`] (and [`Iampass::from_env`]) producing the shared
//! [`Iampass`] value everything else is made from.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::cookie::Key;
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;
use futures_util::future::LocalBoxFuture;

use super::cookie::{CookieCodec, SessionCookie};
use super::identity::Denial;
use super::rate_limit::{LoginLimits, Rate};
use super::validator::Validator;
use crate::{AuthenticationApi, Error, Secret};

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

/// Minimum cookie key length in bytes (the cookie crate derives its AES-256 key from it).
///
/// ```
/// assert!(iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; iampass::actix::MIN_KEY_LEN - 1]).build().is_err());
/// ```
pub const MIN_KEY_LEN: usize = 64;

/// What happens when IAMPASS cannot be asked (unreachable, timing out, answering 5xx).
///
/// Never "signed out": the cookie is kept either way. A user's deny (`closed`, `failed`,
/// `walkaway`, ...) is never overridden by a fail mode.
///
/// ```
/// use std::time::Duration;
/// use iampass::actix::{FailMode, Iampass};
/// let builder = Iampass::builder("app", "secret")
///     .fail_mode(FailMode::StaleIfError(Duration::from_secs(60)));
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// Requests that need the identity are answered `503` (the default).
    #[default]
    Closed,
    /// The last good `active` answer for the session still counts for this long (logged as
    /// a warning); after that, as [`FailMode::Closed`].
    StaleIfError(Duration),
}

/// What `walkaway` (the phone left the area of the login) does to the session.
///
/// ```
/// use iampass::actix::{Iampass, WalkawayPolicy};
/// let builder = Iampass::builder("app", "secret").walkaway_policy(WalkawayPolicy::EndSession);
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WalkawayPolicy {
    /// Anonymous while the phone is away; the cookie is kept, so access returns when the
    /// phone comes back (the default).
    #[default]
    Deny,
    /// The cookie is removed: the user signs in again.
    EndSession,
}

type Resolver =
    Arc<dyn Fn(String) -> LocalBoxFuture<'static, Result<String, Error>> + Send + Sync + 'static>;
type Responder = Arc<dyn Fn(&HttpRequest, &Denial) -> HttpResponse + Send + Sync + 'static>;

/// Builds an [`Iampass`]. Start with [`Iampass::builder`] or [`Iampass::from_env`].
///
/// ```
/// use std::time::Duration;
/// use iampass::actix::{FailMode, Iampass, WalkawayPolicy};
/// let key = [7u8; 64]; // use 64 random bytes, kept secret and stable across restarts
/// let iampass = Iampass::builder("app-id", "app-secret")
///     .server("http://127.0.0.1:8765")
///     .cookie_key(&key)
///     .secure_cookie(false) // plain-HTTP development only
///     .revalidate_after(Duration::from_secs(5))
///     .fail_mode(FailMode::Closed)
///     .walkaway_policy(WalkawayPolicy::Deny)
///     .login_path("/auth/login")
///     .rate_limit_per_user(5, Duration::from_secs(60))
///     .user_resolver(|user: String| async move { Ok::<_, iampass::Error>(user.to_lowercase()) })
///     .build()?;
/// # let _ = iampass;
/// # Ok::<(), iampass::Error>(())
/// ```
#[must_use]
pub struct IampassBuilder {
    application_id: String,
    application_secret: Secret,
    server: Option<String>,
    cookie_key: Option<Result<Vec<u8>, String>>,
    old_cookie_keys: Vec<Result<Vec<u8>, String>>,
    secure: bool,
    host_prefix: bool,
    cookie_name: String,
    revalidate_after: Option<Duration>,
    fail_mode: FailMode,
    walkaway: WalkawayPolicy,
    login_path: Option<String>,
    after_logout_path: String,
    request_timeout: Duration,
    session_max_age: Duration,
    per_user: Option<Rate>,
    per_address: Option<Rate>,
    resolver: Option<Resolver>,
    responder: Option<Responder>,
    http: Option<reqwest::Client>,
}

impl std::fmt::Debug for IampassBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IampassBuilder")
            .field("application_id", &self.application_id)
            .field("application_secret", &self.application_secret)
            .field("server", &self.server)
            .field(
                "cookie_key",
                &self.cookie_key.as_ref().map(|_| "<redacted>"),
            )
            .field("old_cookie_keys", &self.old_cookie_keys.len())
            .field("secure", &self.secure)
            .field("host_prefix", &self.host_prefix)
            .field("cookie_name", &self.cookie_name)
            .field("revalidate_after", &self.revalidate_after)
            .field("fail_mode", &self.fail_mode)
            .field("walkaway", &self.walkaway)
            .field("login_path", &self.login_path)
            .field("after_logout_path", &self.after_logout_path)
            .field("request_timeout", &self.request_timeout)
            .field("session_max_age", &self.session_max_age)
            .finish_non_exhaustive()
    }
}

/// Default cookie name (`__Host-iampass` with [`IampassBuilder::host_prefix`]).
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_COOKIE_NAME, "iampass");
/// ```
pub const DEFAULT_COOKIE_NAME: &str = "iampass";
/// Default time allowed for one IAMPASS call made by the middleware and handlers.
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_REQUEST_TIMEOUT.as_secs(), 5);
/// ```
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Default absolute lifetime of a login (also sent to IAMPASS as `duration_seconds`).
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_SESSION_MAX_AGE.as_secs(), 3600);
/// ```
pub const DEFAULT_SESSION_MAX_AGE: Duration = Duration::from_secs(3600);
/// Lifetime of a pending-login cookie.
pub(crate) const PENDING_MAX_AGE: Duration = Duration::from_secs(600);
/// Default login path (what [`Iampass::routes`] mounted at `/auth` serves).
///
/// ```
/// assert_eq!(iampass::actix::DEFAULT_LOGIN_PATH, "/auth/login");
/// ```
pub const DEFAULT_LOGIN_PATH: &str = "/auth/login";

fn decode_key(text: &str) -> Result<Vec<u8>, String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = text.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| "a cookie key is not valid base64".to_owned())
}

impl IampassBuilder {
    pub(crate) fn new(application_id: String, application_secret: Secret) -> Self {
        IampassBuilder {
            application_id,
            application_secret,
            server: None,
            cookie_key: None,
            old_cookie_keys: Vec::new(),
            secure: true,
            host_prefix: false,
            cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
            revalidate_after: None,
            fail_mode: FailMode::Closed,
            walkaway: WalkawayPolicy::Deny,
            login_path: None,
            after_logout_path: "/".to_owned(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            session_max_age: DEFAULT_SESSION_MAX_AGE,
            per_user: Some(Rate {
                count: 5,
                per: Duration::from_secs(60),
            }),
            per_address: Some(Rate {
                count: 20,
                per: Duration::from_secs(60),
            }),
            resolver: None,
            responder: None,
            http: None,
        }
    }

    /// The IAMPASS base URL; else `IAMPASS_SERVER`, else `https://iam-api.com`.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").server("http://127.0.0.1:8765");
    /// # let _ = b;
    /// ```
    pub fn server(mut self, url: impl Into<String>) -> Self {
        self.server = Some(url.into());
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
    /// let b = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[2u8; 64]).old_cookie_keys(vec![[1u8; 64]]);
    /// # let _ = b;
    /// ```
    pub fn old_cookie_keys<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        self.old_cookie_keys = keys.into_iter().map(|k| Ok(k.as_ref().to_vec())).collect();
        self
    }

    /// [`old_cookie_keys`](Self::old_cookie_keys) from base64 strings.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").old_cookie_keys_base64(["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="]);
    /// # let _ = b;
    /// ```
    pub fn old_cookie_keys_base64<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.old_cookie_keys = keys.into_iter().map(|k| decode_key(k.as_ref())).collect();
        self
    }

    /// The cookie's `Secure` attribute (default `true`). Turn it off only for plain-HTTP
    /// development; it cannot be combined with [`host_prefix`](Self::host_prefix).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").secure_cookie(false); // http://localhost only
    /// # let _ = b;
    /// ```
    pub fn secure_cookie(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Prefixes the cookie name with `__Host-` (the browser then guarantees `Secure`,
    /// `Path=/` and no `Domain`). Requires [`secure_cookie(true)`](Self::secure_cookie).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").host_prefix(true); // cookie name __Host-iampass
    /// # let _ = b;
    /// ```
    pub fn host_prefix(mut self, enabled: bool) -> Self {
        self.host_prefix = enabled;
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

    /// Reuses an IAMPASS answer for this long per session instead of asking on every
    /// request (concurrent requests always share one call either way).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").revalidate_after(std::time::Duration::from_secs(5));
    /// # let _ = b;
    /// ```
    pub fn revalidate_after(mut self, after: Duration) -> Self {
        self.revalidate_after = Some(after).filter(|d| !d.is_zero());
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

    /// Where [`RequireIampass`](super::RequireIampass) sends HTML requests without a login.
    /// Default: `{prefix}/login` of the first [`Iampass::routes`] call, else `/auth/login`.
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

    /// Time allowed for one IAMPASS call (default 5 s): a slow IAMPASS is an outage.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").request_timeout(std::time::Duration::from_secs(2));
    /// # let _ = b;
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The absolute lifetime of a login (default 1 h), also asked of IAMPASS as the
    /// session's `duration_seconds`. Re-issuing a cookie never extends it.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").session_max_age(std::time::Duration::from_secs(8 * 3600));
    /// # let _ = b;
    /// ```
    pub fn session_max_age(mut self, max_age: Duration) -> Self {
        self.session_max_age = max_age;
        self
    }

    /// At most `count` login starts per IAMPASS user per `per` (default 5 per minute);
    /// `count == 0` disables the limit. Excess starts are answered `429` with `Retry-After`.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").rate_limit_per_user(3, std::time::Duration::from_secs(60));
    /// # let _ = b;
    /// ```
    pub fn rate_limit_per_user(mut self, count: u32, per: Duration) -> Self {
        self.per_user = Some(Rate { count, per });
        self
    }

    /// At most `count` login starts per client address (the TCP peer, not a forwarded
    /// header) per `per` (default 20 per minute); `count == 0` disables the limit.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").rate_limit_per_address(0, std::time::Duration::from_secs(60)); // off
    /// # let _ = b;
    /// ```
    pub fn rate_limit_per_address(mut self, count: u32, per: Duration) -> Self {
        self.per_address = Some(Rate { count, per });
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
        Fut: Future<Output = Result<String, Error>> + 'static,
    {
        self.resolver = Some(Arc::new(move |user| Box::pin(resolver(user))));
        self
    }

    /// Answers requests that need an identity and have none (see [`Denial`]), instead of the
    /// default `303`-to-login / `401` JSON / `503`.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret")
    ///     .unauthenticated_responder(|req, denial| denial.default_response(req));
    /// # let _ = b;
    /// ```
    pub fn unauthenticated_responder<F>(mut self, responder: F) -> Self
    where
        F: Fn(&HttpRequest, &Denial) -> HttpResponse + Send + Sync + 'static,
    {
        self.responder = Some(Arc::new(responder));
        self
    }

    /// Shares an existing `reqwest::Client` for the calls to IAMPASS.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").http_client(reqwest::Client::new());
    /// # let _ = b;
    /// ```
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the configuration and builds the [`Iampass`] value.
    ///
    /// Fails on: a missing or short (< 64 bytes) or undecodable cookie key, `__Host-` with
    /// `Secure` off, a bad cookie name or login path, a bad server URL, an empty
    /// application id.
    ///
    /// ```
    /// let refused = iampass::actix::Iampass::builder("app", "secret").build();
    /// assert!(refused.is_err()); // no cookie key
    /// let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[1; 64]).build()?;
    /// # let _ = iampass;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn build(self) -> Result<Iampass, Error> {
        let mut keys = Vec::new();
        let primary = match self.cookie_key {
            None => {
                return Err(Error::Config(format!(
                    "no cookie key: call cookie_key()/cookie_key_base64() or set {COOKIE_KEY_ENV} \
                     (base64 of at least {MIN_KEY_LEN} random bytes, e.g. `openssl rand -base64 64`)"
                )));
            }
            Some(key) => key.map_err(Error::Config)?,
        };
        for key in std::iter::once(Ok(primary)).chain(self.old_cookie_keys) {
            let key = key.map_err(Error::Config)?;
            if key.len() < MIN_KEY_LEN {
                return Err(Error::Config(format!(
                    "a cookie key is {} bytes; at least {MIN_KEY_LEN} are required",
                    key.len()
                )));
            }
            keys.push(
                Key::try_from(key.as_slice())
                    .map_err(|e| Error::Config(format!("cookie key: {e}")))?,
            );
        }
        if self.host_prefix && !self.secure {
            return Err(Error::Config(
                "the __Host- cookie prefix requires a Secure cookie: do not combine \
                 host_prefix(true) with secure_cookie(false)"
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
        let name = if self.host_prefix {
            format!("__Host-{}", self.cookie_name)
        } else {
            self.cookie_name
        };
        if let Some(path) = self
            .login_path
            .as_ref()
            .filter(|p| !super::redirect::is_safe_redirect(p))
        {
            return Err(Error::Config(format!(
                "login path {path:?} must be a local path starting with '/'"
            )));
        }
        if !super::redirect::is_safe_redirect(&self.after_logout_path) {
            return Err(Error::Config(format!(
                "after-logout path {:?} must be a local path starting with '/'",
                self.after_logout_path
            )));
        }
        let mut api = AuthenticationApi::builder(self.application_id, self.application_secret)
            .timeout(self.request_timeout);
        if let Some(server) = self.server {
            api = api.server(server);
        }
        if let Some(http) = self.http {
            api = api.http_client(http);
        }
        let api = api.build()?;
        let resolver = self
            .resolver
            .unwrap_or_else(|| Arc::new(|user| Box::pin(async move { Ok(user) })));
        Ok(Iampass {
            inner: Arc::new(Inner {
                api,
                codec: CookieCodec::new(name, self.secure, keys),
                validator: Validator::new(self.revalidate_after, self.fail_mode),
                fail_mode: self.fail_mode,
                walkaway: self.walkaway,
                login_path: self.login_path,
                after_logout_path: self.after_logout_path,
                routes_login_path: OnceLock::new(),
                session_max_age: self.session_max_age,
                limits: LoginLimits::new(self.per_user, self.per_address),
                resolver,
                responder: self.responder,
            }),
        })
    }
}

/// The actix-web integration, configured: makes the [middleware](Iampass::middleware),
/// the [login routes](Iampass::routes) and the [scope guard](Iampass::require).
///
/// Cheap to clone (one `Arc`): build it once, outside `HttpServer::new`, so every worker
/// shares the key ring, the caches and the rate limiters.
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
/// use iampass::actix::{Iampass, IampassIdentity, RequireIampass};
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let iampass = Iampass::from_env()
///         .and_then(|b| b.build())
///         .expect("IAMPASS configuration");
///     HttpServer::new(move || {
///         App::new()
///             .wrap(iampass.middleware())
///             .configure(iampass.routes("/auth"))
///             .route("/", web::get().to(|who: Option<IampassIdentity>| async move {
///                 match who {
///                     Some(who) => format!("hello {}", who.user()),
///                     None => "hello stranger: /auth/login".to_owned(),
///                 }
///             }))
///             .route("/dashboard", web::get().to(|who: RequireIampass| async move {
///                 format!("dashboard of {}", who.user())
///             }))
///             .service(web::scope("/admin").wrap(iampass.require()).route(
///                 "",
///                 web::get().to(|| async { "admin" }),
///             ))
///     })
///     .bind(("127.0.0.1", 8080))?
///     .run()
///     .await
/// }
/// ```
#[derive(Clone)]
pub struct Iampass {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Iampass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iampass")
            .field("application_id", &self.inner.api.application_id())
            .field("server", &self.inner.api.server())
            .field("cookie", &self.inner.codec)
            .field("fail_mode", &self.inner.fail_mode)
            .field("walkaway", &self.inner.walkaway)
            .field("login_path", &self.login_path())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) api: AuthenticationApi,
    pub(crate) codec: CookieCodec,
    pub(crate) validator: Validator,
    pub(crate) fail_mode: FailMode,
    pub(crate) walkaway: WalkawayPolicy,
    login_path: Option<String>,
    pub(crate) after_logout_path: String,
    routes_login_path: OnceLock<String>,
    pub(crate) session_max_age: Duration,
    pub(crate) limits: LoginLimits,
    pub(crate) resolver: Resolver,
    pub(crate) responder: Option<Responder>,
}

impl Iampass {
    /// A builder for the application's credentials; see [`IampassBuilder`].
    ///
    /// ```
    /// let iampass = iampass::actix::Iampass::builder("app-id", "app-secret")
    ///     .cookie_key(&[1u8; 64])
    ///     .build()?;
    /// # let _ = iampass;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn builder(
        application_id: impl Into<String>,
        application_secret: impl Into<Secret>,
    ) -> IampassBuilder {
        IampassBuilder::new(application_id.into(), application_secret.into())
    }

    /// A builder from the environment: `IAMPASS_APPLICATION_ID` and
    /// `IAMPASS_APPLICATION_SECRET` (required), `IAMPASS_SERVER` (optional),
    /// `IAMPASS_COOKIE_KEY` (base64, at least 64 bytes; may instead be given to the builder)
    /// and `IAMPASS_COOKIE_OLD_KEYS` (comma-separated base64, optional).
    ///
    /// ```no_run
    /// let iampass = iampass::actix::Iampass::from_env()?.secure_cookie(false).build()?;
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
        if let Some(server) = var(crate::client::SERVER_ENV) {
            builder = builder.server(server);
        }
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
            builder = builder.old_cookie_keys(keys);
        }
        Ok(builder)
    }

    /// The IAMPASS client the integration uses (same server, credentials and timeout).
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[1; 64]).build()?;
    /// assert_eq!(iampass.authentication_api().application_id(), "app");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn authentication_api(&self) -> &AuthenticationApi {
        &self.inner.api
    }

    /// The session cookie's name on the wire (with the `__Host-` prefix when configured).
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[1; 64]).build()?;
    /// assert_eq!(iampass.cookie_name(), "iampass");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn cookie_name(&self) -> &str {
        &self.inner.codec.name
    }

    /// Where requests without a login are sent (see [`IampassBuilder::login_path`]).
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[1; 64]).build()?;
    /// assert_eq!(iampass.login_path(), "/auth/login");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn login_path(&self) -> &str {
        self.inner
            .login_path
            .as_deref()
            .or_else(|| self.inner.routes_login_path.get().map(String::as_str))
            .unwrap_or(DEFAULT_LOGIN_PATH)
    }

    pub(crate) fn note_routes_prefix(&self, prefix: &str) {
        let _ = self.inner.routes_login_path.set(format!("{prefix}/login"));
    }

    /// Seals a cookie payload with the current key into a complete cookie (all attributes
    /// set). Fails when the result would not fit in 4 KiB.
    ///
    /// ```
    /// use std::time::Duration;
    /// use iampass::{Session, Status};
    /// use iampass::actix::{CookieState, Iampass, SessionCookie};
    /// let iampass = Iampass::builder("app", "secret").cookie_key(&[3u8; 64]).build()?;
    /// let session = Session::new("tok", "sec", "http://x/s", "http://x/l", Status::Active);
    /// let payload = SessionCookie::new(session, "alice", "alice", CookieState::Authenticated,
    ///     Duration::from_secs(60), None);
    /// let cookie = iampass.seal_cookie(&payload)?;
    /// assert_eq!(iampass.open_cookie(cookie.value())?.user(), "alice");
    /// assert!(iampass.open_cookie("tampered").is_err());
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn seal_cookie(
        &self,
        payload: &SessionCookie,
    ) -> Result<actix_web::cookie::Cookie<'static>, Error> {
        self.inner.codec.seal(payload)
    }

    /// Opens a cookie value with the key ring and checks its format version and expiry.
    /// Every failure is the same opaque [`Error::Cookie`].
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[1; 64]).build()?;
    /// assert!(matches!(iampass.open_cookie("garbage"), Err(iampass::Error::Cookie(_))));
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn open_cookie(&self, value: &str) -> Result<SessionCookie, Error> {
        self.inner
            .codec
            .open(value)
            .map(|(payload, _)| payload)
            .map_err(|why| Error::Cookie(format!("session cookie refused: {why:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            base()
                .cookie_key(&[1; 64])
                .old_cookie_keys([[2u8; 10]])
                .build()
                .is_err()
        );
        assert!(
            base()
                .cookie_key(&[1; 64])
                .host_prefix(true)
                .secure_cookie(false)
                .build()
                .is_err()
        );
        assert!(
            base()
                .cookie_key(&[1; 64])
                .cookie_name("a b")
                .build()
                .is_err()
        );
        assert!(
            base()
                .cookie_key(&[1; 64])
                .login_path("//evil")
                .build()
                .is_err()
        );
        let ok = base()
            .cookie_key_base64(&base64::engine::general_purpose::STANDARD.encode([9u8; 64]))
            .old_cookie_keys(vec![vec![2u8; 64]])
            .host_prefix(true)
            .build()
            .unwrap();
        assert_eq!(ok.cookie_name(), "__Host-iampass");
        assert_eq!(ok.login_path(), DEFAULT_LOGIN_PATH);
        ok.note_routes_prefix("/login-prefix");
        assert_eq!(ok.login_path(), "/login-prefix/login");
        assert!(!format!("{:?}", base().cookie_key(&[1; 64])).contains("secret\""));
    }
}

//! [`Iampass`]: one deployment's settings and live state behind one cheap-clone handle, the
//! value every adapter is made from.

use std::sync::Arc;

use crate::core::cookie::SessionCookie;
use crate::core::request::RequestHead;
use crate::core::settings::{IampassBuilder, Settings};
use crate::core::state::State;
use crate::core::store::Store;
use crate::{AuthenticationApi, Error, Secret};

/// IAMPASS in a web application, configured: the settings checked by
/// [`IampassBuilder::build`] and the live state (caches, limits, pending logins) they made.
/// An adapter makes its middleware, extractors and routes from it (with feature `actix`:
/// `middleware()`, `routes()`, `require()`).
///
/// Cheap to clone (one `Arc`): build it once (outside actix's `HttpServer::new`), so every worker
/// shares the key ring, the caches and the rate limiters.
///
/// ```
/// use iampass::core::Iampass;
/// let iampass = Iampass::builder("app-id", "app-secret")
///     .cookie_key(&[7u8; 64]) // 64 random bytes from configuration in real life
///     .build()?;
/// assert_eq!(iampass.login_path(), "/auth/login");
/// # Ok::<(), iampass::Error>(())
/// ```
///
/// The adapters' module docs show it serving an app: [`crate::actix`], [`crate::axum`].
#[derive(Clone)]
pub struct Iampass {
    inner: Arc<Shared>,
}

/// What the handle shares: settings, and the state made from them.
struct Shared {
    settings: Settings,
    state: State,
}

impl std::fmt::Debug for Iampass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iampass")
            .field("application_id", &self.settings().api.application_id())
            .field("server", &self.settings().api.server())
            .field("cookie", &self.settings().codec)
            .field("fail_mode", &self.settings().fail_mode)
            .field("walkaway", &self.settings().walkaway)
            .field("routes_prefix", &self.settings().routes_prefix)
            .field("login_path", &self.settings().login_path)
            .finish_non_exhaustive()
    }
}

impl Iampass {
    /// The handle over checked `settings`, with fresh state made from them.
    pub(crate) fn new(settings: Settings) -> Self {
        let state = State::new(&settings);
        Iampass {
            inner: Arc::new(Shared { settings, state }),
        }
    }

    /// The settings, as `build()` checked them.
    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The live state made from them.
    pub(crate) fn state(&self) -> &State {
        &self.inner.state
    }

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
        IampassBuilder::from_env()
    }

    /// The IAMPASS client the integration uses (same server, credentials and timeout).
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[1; 64]).build()?;
    /// assert_eq!(iampass.authentication_api().application_id(), "app");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn authentication_api(&self) -> &AuthenticationApi {
        &self.settings().api
    }

    /// The session cookie's name on the wire (with the `__Host-` prefix when configured).
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[1; 64]).build()?;
    /// assert_eq!(iampass.cookie_name(), "iampass");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn cookie_name(&self) -> &str {
        &self.settings().codec.name
    }

    /// Where [`Iampass::routes`] mounts the login handlers (see
    /// [`IampassBuilder::routes_prefix`]).
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[1; 64]).build()?;
    /// assert_eq!(iampass.routes_prefix(), "/auth");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn routes_prefix(&self) -> &str {
        &self.settings().routes_prefix
    }

    /// Where requests without a login are sent: [`IampassBuilder::login_path`], else
    /// `{routes_prefix}/login`. Fixed when the value is built.
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[1; 64]).build()?;
    /// assert_eq!(iampass.login_path(), "/auth/login");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn login_path(&self) -> &str {
        &self.settings().login_path
    }

    /// Seals a cookie payload with the current key into a complete cookie (all attributes
    /// set). Fails when the result would not fit in 4 KiB.
    ///
    /// ```
    /// use std::time::Duration;
    /// use iampass::{Session, Status};
    /// use iampass::actix::{CookieState, Iampass, SessionCookie};
    /// let iampass = Iampass::builder("app", "secret")
    ///     .server("https://iam.example")
    ///     .cookie_key(&[3u8; 64])
    ///     .build()?;
    /// // The session's URLs must be on the configured server, or opening refuses the cookie.
    /// let session = Session::new("tok", "sec", "https://iam.example/s", "https://iam.example/l",
    ///     Status::Active);
    /// let payload = SessionCookie::new(session, "alice", "alice", CookieState::Authenticated,
    ///     Duration::from_secs(60), None);
    /// let cookie = iampass.seal_cookie(&payload)?;
    /// assert_eq!(iampass.open_cookie(cookie.value())?.user(), "alice");
    /// assert!(iampass.open_cookie("tampered").is_err());
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn seal_cookie(&self, payload: &SessionCookie) -> Result<cookie::Cookie<'static>, Error> {
        self.settings().codec.seal(payload)
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
        self.settings()
            .codec
            .open(value)
            .map(|(payload, _)| payload)
            .map_err(|why| Error::Cookie(format!("session cookie refused: {why:?}")))
    }

    /// Whether `POST {prefix}/login` starts logins from a user name alone (see
    /// [`IampassBuilder::public_login`]).
    ///
    /// ```
    /// let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
    /// assert!(iampass.public_login());
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn public_login(&self) -> bool {
        self.settings().login.public_login
    }

    /// The client's address for `req`: its TCP peer, or behind one of the configured
    /// [`trusted_proxies`](IampassBuilder::trusted_proxies) the address that proxy forwarded
    /// (as the crate's own per-address limits see it). For an application's own limits.
    ///
    /// In an actix-web handler: `iampass.client_ip(&req)` with the `HttpRequest`; in axum,
    /// with the request's `Parts`.
    pub fn client_ip(&self, req: &impl RequestHead) -> Option<std::net::IpAddr> {
        self.settings().login.trusted_proxies.client_ip(req)
    }

    /// The shared state of this deployment's instances (memory, or Redis); see
    /// [`IampassBuilder::store`].
    ///
    /// ```
    /// let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
    /// assert_eq!(iampass.store().backend_name(), "memory");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn store(&self) -> &Store {
        &self.settings().store
    }
}

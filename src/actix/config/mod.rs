//! Configuration: [`IampassBuilder`] (and [`Iampass::from_env`]) producing the shared
//! [`Iampass`] value everything else is made from.
//!
//! - `builder`: the knobs; `build`: the checks of `build()` and the assembly;
//! - `defaults`: the default of every knob;
//! - `policy`: [`FailMode`], [`WalkawayPolicy`], [`Revalidate`];
//! - `env`: the environment variable names and `from_env`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;

use super::cookie::{CookieCodec, SessionCookie};
use super::denial::Denial;
use super::live::LiveHub;
use super::pending::PendingLogins;
use super::security::rate_limit::LoginLimits;
use super::validate::Validator;
use crate::store::Store;
use crate::{AuthenticationApi, Error, Secret};

mod branding;
mod build;
mod builder;
mod defaults;
mod env;
mod login;
mod policy;

pub(crate) use branding::Branding;
pub use branding::{ColorScheme, Page};
pub use builder::IampassBuilder;
pub use defaults::{
    DEFAULT_COOKIE_NAME, DEFAULT_EVENTS_HEARTBEAT, DEFAULT_EVENTS_INTERVAL,
    DEFAULT_EVENTS_PER_ADDRESS, DEFAULT_EVENTS_PER_SESSION, DEFAULT_LOGIN_PATH,
    DEFAULT_RATE_PER_ADDRESS, DEFAULT_RATE_PER_USER, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_ROUTES_PREFIX, DEFAULT_SESSION_MAX_AGE, MIN_KEY_LEN,
};
pub use env::{APPLICATION_ID_ENV, APPLICATION_SECRET_ENV, COOKIE_KEY_ENV, COOKIE_OLD_KEYS_ENV};
pub(crate) use login::LoginSettings;
pub use login::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_DECOY_DELAY, DEFAULT_POLLS_PER_ADDRESS, DEFAULT_POLLS_PER_LOGIN,
};
pub use policy::{FailMode, Revalidate, WalkawayPolicy};

/// Lifetime of a pending-login cookie.
pub(crate) const PENDING_MAX_AGE: Duration = Duration::from_secs(600);

type Resolver =
    Arc<dyn Fn(String) -> LocalBoxFuture<'static, Result<String, Error>> + Send + Sync + 'static>;
type Responder = Arc<dyn Fn(&HttpRequest, &Denial) -> HttpResponse + Send + Sync + 'static>;

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
///             .configure(iampass.routes())
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
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Iampass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iampass")
            .field("application_id", &self.inner.api.application_id())
            .field("server", &self.inner.api.server())
            .field("cookie", &self.inner.codec)
            .field("fail_mode", &self.inner.fail_mode)
            .field("walkaway", &self.inner.walkaway)
            .field("routes_prefix", &self.inner.routes_prefix)
            .field("login_path", &self.inner.login_path)
            .finish_non_exhaustive()
    }
}

struct Inner {
    api: AuthenticationApi,
    codec: CookieCodec,
    validator: Validator,
    fail_mode: FailMode,
    walkaway: WalkawayPolicy,
    routes_prefix: String,
    login_path: String,
    after_logout_path: String,
    session_max_age: Duration,
    limits: LoginLimits,
    resolver: Resolver,
    responder: Option<Responder>,
    login: LoginSettings,
    pending: PendingLogins,
    events: builder::EventsSettings,
    live: LiveHub,
    store: Store,
    branding: Branding,
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

    /// Where [`Iampass::routes`] mounts the login handlers (see
    /// [`IampassBuilder::routes_prefix`]).
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("app", "secret").cookie_key(&[1; 64]).build()?;
    /// assert_eq!(iampass.routes_prefix(), "/auth");
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn routes_prefix(&self) -> &str {
        &self.inner.routes_prefix
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
        &self.inner.login_path
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

    pub(crate) fn codec(&self) -> &CookieCodec {
        &self.inner.codec
    }

    pub(crate) fn validator(&self) -> &Validator {
        &self.inner.validator
    }

    pub(crate) fn fail_mode(&self) -> FailMode {
        self.inner.fail_mode
    }

    pub(crate) fn walkaway(&self) -> WalkawayPolicy {
        self.inner.walkaway
    }

    pub(crate) fn after_logout_path(&self) -> &str {
        &self.inner.after_logout_path
    }

    pub(crate) fn session_max_age(&self) -> Duration {
        self.inner.session_max_age
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
        self.inner.login.public_login
    }

    pub(crate) fn login_settings(&self) -> &LoginSettings {
        &self.inner.login
    }

    pub(crate) fn pending_logins(&self) -> &PendingLogins {
        &self.inner.pending
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
        &self.inner.store
    }

    /// The look of the login and wait pages (see [`IampassBuilder::app_name`]).
    pub(crate) fn branding(&self) -> &Branding {
        &self.inner.branding
    }

    pub(crate) fn limits(&self) -> &LoginLimits {
        &self.inner.limits
    }

    /// The shared tickers and stream counters of `GET {prefix}/events`.
    pub(crate) fn live_hub(&self) -> &LiveHub {
        &self.inner.live
    }

    pub(crate) fn events_interval(&self) -> Duration {
        self.inner.events.interval
    }

    pub(crate) fn events_heartbeat(&self) -> Duration {
        self.inner.events.heartbeat
    }

    /// The stream caps: per session, per client address.
    pub(crate) fn events_caps(&self) -> (usize, usize) {
        (self.inner.events.per_session, self.inner.events.per_address)
    }

    /// The IAMPASS user id for a typed user name (the configured resolver).
    pub(crate) fn resolve_user(&self, user: String) -> impl Future<Output = Result<String, Error>> {
        (self.inner.resolver)(user)
    }

    /// The configured (or default) answer to a denial.
    pub(crate) fn answer(&self, req: &HttpRequest, denial: &Denial) -> HttpResponse {
        match &self.inner.responder {
            Some(responder) => responder(req, denial),
            None => denial.branded_response(req, self.branding()),
        }
    }
}

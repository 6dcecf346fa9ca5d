//! One builder for both APIs: server URL, timeouts, connection pool, call cap, circuit breaker,
//! HTTP client, user agent.

use std::marker::PhantomData;
use std::time::Duration;

use super::breaker::{DEFAULT_COOL_DOWN, DEFAULT_FAILURE_THRESHOLD};
use super::http::{HttpClient, HttpSettings};
use super::transport::{DEFAULT_TIMEOUT, Transport, TransportParts};
use super::{AuthenticationApi, Endpoint, ManagementApi};
use crate::{Error, Secret};

/// The IAMPASS service used when neither the builder nor the environment names one.
pub const DEFAULT_SERVER: &str = "https://iam-api.com";
/// Environment variable naming the IAMPASS server (as in the reference client).
pub const SERVER_ENV: &str = "IAMPASS_SERVER";
/// Default time allowed to open a TCP (and TLS) connection: a healthy IAMPASS connects in
/// milliseconds, so a black-holed one is noticed long before the request timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default cap on concurrent IAMPASS calls per client: far above what a healthy IAMPASS needs
/// (a few ms per call is thousands of calls per second), low enough that a burst or an outage
/// cannot open a connection per waiting request.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 64;
/// Default cap on idle pooled connections to IAMPASS: the call cap, so a burst's connections
/// are reused rather than reopened, and never more than a burst needed.
pub const DEFAULT_POOL_MAX_IDLE_PER_HOST: usize = DEFAULT_MAX_CONCURRENT_REQUESTS;
/// Default time an idle pooled connection is kept: long enough to carry steady traffic, short
/// enough that a burst's connections (and their memory) are released soon after it.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds a [`ManagementApi`] or an [`AuthenticationApi`].
///
/// Server: [`ClientBuilder::server`], else `IAMPASS_SERVER`, else `https://iam-api.com`.
/// Every knob has a default chosen for a web application in front of IAMPASS; see the
/// `DEFAULT_*` constants of [`crate::client`].
///
/// ```
/// use std::time::Duration;
/// use iampass::ManagementApi;
/// let api = ManagementApi::builder("app-id", "app-secret")
///     .server("http://127.0.0.1:8765")
///     .timeout(Duration::from_secs(3))
///     .connect_timeout(Duration::from_millis(500))
///     .max_concurrent_requests(16)
///     .circuit_breaker(5, Duration::from_secs(2))
///     .build()?;
/// # Ok::<(), iampass::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder<T> {
    application_id: String,
    application_secret: Secret,
    server: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    pool_max_idle_per_host: usize,
    pool_idle_timeout: Duration,
    max_concurrent_requests: usize,
    breaker: Option<(u32, Duration)>,
    http: Option<reqwest::Client>,
    user_agent: Option<String>,
    root_certificates: Vec<Vec<u8>>,
    _api: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for ClientBuilder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("application_id", &self.application_id)
            .field("application_secret", &self.application_secret)
            .field("server", &self.server)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("circuit_breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl<T> ClientBuilder<T> {
    pub(crate) fn new(
        application_id: impl Into<String>,
        application_secret: impl Into<Secret>,
    ) -> Self {
        ClientBuilder {
            application_id: application_id.into(),
            application_secret: application_secret.into(),
            server: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            pool_max_idle_per_host: DEFAULT_POOL_MAX_IDLE_PER_HOST,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            breaker: Some((DEFAULT_FAILURE_THRESHOLD, DEFAULT_COOL_DOWN)),
            http: None,
            user_agent: None,
            root_certificates: Vec::new(),
            _api: PhantomData,
        }
    }

    /// The IAMPASS base URL (`https://iam-api.com`, or an emulator's URL).
    pub fn server(mut self, url: impl Into<String>) -> Self {
        self.server = Some(url.into());
        self
    }

    /// Time allowed for one call, from its start to the end of the answer: waiting for a free
    /// slot ([`Self::max_concurrent_requests`]), connecting and a connect retry included
    /// (default 10 s, [`DEFAULT_TIMEOUT`](crate::client::DEFAULT_TIMEOUT)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time allowed to open a connection, separate from (and normally much shorter than) the
    /// request timeout (default 2 s, [`DEFAULT_CONNECT_TIMEOUT`]).
    /// Ignored with [`Self::http_client`] (configure that client instead).
    ///
    /// ```
    /// let api = iampass::AuthenticationApi::builder("app", "secret")
    ///     .connect_timeout(std::time::Duration::from_millis(300))
    ///     .build()?;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// At most this many idle connections to IAMPASS are kept in the pool (default
    /// [`DEFAULT_POOL_MAX_IDLE_PER_HOST`]). Ignored with [`Self::http_client`].
    ///
    /// ```
    /// let api = iampass::AuthenticationApi::builder("app", "secret")
    ///     .pool_max_idle_per_host(8)
    ///     .build()?;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// How long an idle pooled connection is kept (default 30 s,
    /// [`DEFAULT_POOL_IDLE_TIMEOUT`]). Ignored with [`Self::http_client`].
    ///
    /// ```
    /// let api = iampass::AuthenticationApi::builder("app", "secret")
    ///     .pool_idle_timeout(std::time::Duration::from_secs(10))
    ///     .build()?;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// At most this many IAMPASS calls of this client (its clones and its sessions included)
    /// are in flight at once (default [`DEFAULT_MAX_CONCURRENT_REQUESTS`]). A call that finds
    /// no free slot within its timeout fails with [`Error::Saturated`], an outage, having sent
    /// nothing. The same number caps the connections the client holds open, idle ones
    /// included: a call that finds none free takes the next one handed back rather than
    /// opening another (not with [`Self::http_client`] or a proxy from the environment, where
    /// reqwest's pool decides).
    ///
    /// ```
    /// let api = iampass::AuthenticationApi::builder("app", "secret")
    ///     .max_concurrent_requests(32)
    ///     .build()?;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn max_concurrent_requests(mut self, max: usize) -> Self {
        self.max_concurrent_requests = max;
        self
    }

    /// The circuit breaker's settings (on by default with
    /// [`DEFAULT_FAILURE_THRESHOLD`](crate::client::DEFAULT_FAILURE_THRESHOLD) = 5 and
    /// [`DEFAULT_COOL_DOWN`](crate::client::DEFAULT_COOL_DOWN) = 750 ms): after
    /// `failure_threshold` consecutive server failures (unreachable, timeout, `408`, `429`,
    /// `5xx`) calls fail at once with [`Error::CircuitOpen`] for `cool_down` (or the server's
    /// `Retry-After`, if longer); then one probe call at a time decides whether it closes (a
    /// probe unanswered for a whole `cool_down` is given up on, and the next call probes).
    ///
    /// ```
    /// let api = iampass::AuthenticationApi::builder("app", "secret")
    ///     .circuit_breaker(10, std::time::Duration::from_secs(5))
    ///     .build()?;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn circuit_breaker(mut self, failure_threshold: u32, cool_down: Duration) -> Self {
        self.breaker = Some((failure_threshold, cool_down));
        self
    }

    /// Turns the circuit breaker off: every call goes to IAMPASS and waits for its own
    /// timeout ([`circuit_state`](crate::AuthenticationApi::circuit_state) stays `Closed`).
    ///
    /// ```
    /// let api = iampass::AuthenticationApi::builder("app", "secret")
    ///     .without_circuit_breaker()
    ///     .build()?;
    /// assert_eq!(api.circuit_state(), iampass::client::CircuitState::Closed);
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn without_circuit_breaker(mut self) -> Self {
        self.breaker = None;
        self
    }

    /// Sends every call through an existing `reqwest::Client` (its connection pool, proxy
    /// and TLS settings) instead of the client the builder makes. The builder's timeout, call
    /// cap and breaker still apply to every call; its connect timeout, pool settings, root
    /// certificates and user agent do not (they belong to the client given), and the
    /// connection cap becomes a cap on calls only: reqwest's pool may open a few connections
    /// more than [`Self::max_concurrent_requests`] in a burst.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The `User-Agent` of the client the builder makes (ignored with [`Self::http_client`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Trusts the certificate authorities in `pem` (one or more PEM certificates) beside the
    /// bundled Mozilla roots: for an IAMPASS reached through a TLS proxy with a private CA, or
    /// an emulator served over TLS. Read at [`build`](ClientBuilder::build); a bundle with no
    /// certificate, or a bad one, fails the build with [`Error::Config`]. Ignored with
    /// [`Self::http_client`].
    ///
    /// ```no_run
    /// let pem = std::fs::read("/etc/ssl/private-ca.pem").unwrap();
    /// let api = iampass::AuthenticationApi::builder("app", "secret")
    ///     .server("https://iampass.internal")
    ///     .add_root_certificate(pem)
    ///     .build()?;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn add_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Refuses settings that would make every call fail or hang.
    fn check(&self) -> Result<(), Error> {
        let zero = |what: &str| Err(Error::Config(format!("{what} must be more than zero")));
        if self.timeout.is_zero() {
            return zero("timeout");
        }
        if self.connect_timeout.is_zero() {
            return zero("connect_timeout");
        }
        if self.max_concurrent_requests == 0 {
            return zero("max_concurrent_requests");
        }
        if self.max_concurrent_requests > tokio::sync::Semaphore::MAX_PERMITS {
            return Err(Error::Config(format!(
                "max_concurrent_requests must be at most {}",
                tokio::sync::Semaphore::MAX_PERMITS
            )));
        }
        if let Some((threshold, cool_down)) = self.breaker {
            if threshold == 0 {
                return zero("circuit breaker failure_threshold");
            }
            if cool_down.is_zero() {
                return zero("circuit breaker cool_down");
            }
        }
        Ok(())
    }

    /// The endpoint both APIs are made of; fails on an empty application id, a server URL
    /// that is not `http(s)://host` or a zero timeout, cap or breaker setting.
    fn endpoint(self) -> Result<Endpoint, Error> {
        if self.application_id.is_empty() {
            return Err(Error::Config("application id is empty".into()));
        }
        self.check()?;
        let server = match self.server {
            Some(s) => s,
            None => std::env::var(SERVER_ENV)
                .ok()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_SERVER.to_owned()),
        };
        let server = normalise_server(&server)?;
        let http = match self.http {
            Some(c) => HttpClient::Reqwest(c),
            None => HttpClient::build(&HttpSettings {
                user_agent: self.user_agent.as_deref(),
                connect_timeout: self.connect_timeout,
                call_timeout: self.timeout,
                max_connections: self.max_concurrent_requests,
                pool_max_idle_per_host: self.pool_max_idle_per_host,
                pool_idle_timeout: self.pool_idle_timeout,
                root_certificates: &self.root_certificates,
            })?,
        };
        Ok(Endpoint {
            server,
            application_id: self.application_id,
            application_secret: self.application_secret,
            transport: Transport::new(TransportParts {
                http,
                timeout: self.timeout,
                breaker: self.breaker,
                max_concurrent: self.max_concurrent_requests,
            }),
        })
    }
}

/// The transport of sessions used without an API value: every default.
impl AuthenticationApi {
    /// A client for the application, with the default server (`IAMPASS_SERVER` or
    /// `https://iam-api.com`) and timeout. See [`AuthenticationApi::builder`] for more.
    pub fn new(
        application_id: impl Into<String>,
        application_secret: impl Into<Secret>,
    ) -> Result<Self, Error> {
        Self::builder(application_id, application_secret).build()
    }

    /// A builder for the server URL, timeout, HTTP client and user agent.
    pub fn builder(
        application_id: impl Into<String>,
        application_secret: impl Into<Secret>,
    ) -> ClientBuilder<AuthenticationApi> {
        ClientBuilder::new(application_id, application_secret)
    }
}

impl ManagementApi {
    /// A client for the application, with the default server (`IAMPASS_SERVER` or
    /// `https://iam-api.com`) and timeout. See [`ManagementApi::builder`] for more.
    pub fn new(
        application_id: impl Into<String>,
        application_secret: impl Into<Secret>,
    ) -> Result<Self, Error> {
        Self::builder(application_id, application_secret).build()
    }

    /// A builder for the server URL, timeout, HTTP client and user agent.
    pub fn builder(
        application_id: impl Into<String>,
        application_secret: impl Into<Secret>,
    ) -> ClientBuilder<ManagementApi> {
        ClientBuilder::new(application_id, application_secret)
    }
}

impl Default for HttpSettings<'static> {
    fn default() -> Self {
        HttpSettings {
            user_agent: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            call_timeout: DEFAULT_TIMEOUT,
            max_connections: DEFAULT_MAX_CONCURRENT_REQUESTS,
            pool_max_idle_per_host: DEFAULT_POOL_MAX_IDLE_PER_HOST,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            root_certificates: &[],
        }
    }
}

impl ClientBuilder<ManagementApi> {
    /// Builds the client. Fails on an empty application id or a bad server URL.
    pub fn build(self) -> Result<ManagementApi, Error> {
        self.endpoint().map(|endpoint| ManagementApi { endpoint })
    }
}

impl ClientBuilder<AuthenticationApi> {
    /// Builds the client. Fails on an empty application id or a bad server URL.
    pub fn build(self) -> Result<AuthenticationApi, Error> {
        self.endpoint()
            .map(|endpoint| AuthenticationApi { endpoint })
    }
}

/// Checks the base URL and drops a trailing `/` so paths can be appended.
fn normalise_server(server: &str) -> Result<String, Error> {
    let trimmed = server.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed)
        .map_err(|e| Error::Config(format!("IAMPASS server URL {trimmed:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Config(format!(
            "IAMPASS server URL {trimmed:?} must be http(s)://host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "IAMPASS server URL {trimmed:?} must not have a query or fragment"
        )));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::normalise_server;

    #[test]
    fn server_urls_are_checked() {
        assert_eq!(normalise_server("http://h:1/").unwrap(), "http://h:1");
        assert_eq!(
            normalise_server("https://h/base/").unwrap(),
            "https://h/base"
        );
        for bad in ["", "h:1", "ftp://h", "http://h/?q", "not a url"] {
            assert!(normalise_server(bad).is_err(), "{bad}");
        }
    }
}

//! One builder for both APIs: server URL, timeout, HTTP client, user agent.

use std::marker::PhantomData;
use std::time::Duration;

use super::transport::{DEFAULT_TIMEOUT, Transport, default_http_client};
use super::{AuthenticationApi, Endpoint, ManagementApi};
use crate::{Error, Secret};

/// The IAMPASS service used when neither the builder nor the environment names one.
pub const DEFAULT_SERVER: &str = "https://iam-api.com";
/// Environment variable naming the IAMPASS server (as in the reference client).
pub const SERVER_ENV: &str = "IAMPASS_SERVER";

/// Builds a [`ManagementApi`] or an [`AuthenticationApi`].
///
/// Server: [`ClientBuilder::server`], else `IAMPASS_SERVER`, else `https://iam-api.com`.
///
/// ```
/// use std::time::Duration;
/// use iampass::ManagementApi;
/// let api = ManagementApi::builder("app-id", "app-secret")
///     .server("http://127.0.0.1:8765")
///     .timeout(Duration::from_secs(3))
///     .build()?;
/// # Ok::<(), iampass::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder<T> {
    application_id: String,
    application_secret: Secret,
    server: Option<String>,
    timeout: Duration,
    http: Option<reqwest::Client>,
    user_agent: Option<String>,
    _api: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for ClientBuilder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("application_id", &self.application_id)
            .field("application_secret", &self.application_secret)
            .field("server", &self.server)
            .field("timeout", &self.timeout)
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
            http: None,
            user_agent: None,
            _api: PhantomData,
        }
    }

    /// The IAMPASS base URL (`https://iam-api.com`, or an emulator's URL).
    pub fn server(mut self, url: impl Into<String>) -> Self {
        self.server = Some(url.into());
        self
    }

    /// Time allowed for one call, connection included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Shares an existing `reqwest::Client` (its connection pool) instead of building one.
    /// The builder's timeout still applies to every call.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The `User-Agent` of the client the builder makes (ignored with [`Self::http_client`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The endpoint both APIs are made of; fails on an empty application id or a server URL
    /// that is not `http(s)://host`.
    fn endpoint(self) -> Result<Endpoint, Error> {
        if self.application_id.is_empty() {
            return Err(Error::Config("application id is empty".into()));
        }
        let server = match self.server {
            Some(s) => s,
            None => std::env::var(SERVER_ENV)
                .ok()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_SERVER.to_owned()),
        };
        let server = normalise_server(&server)?;
        let http = match self.http {
            Some(c) => c,
            None => default_http_client(self.user_agent.as_deref())?,
        };
        Ok(Endpoint {
            server,
            application_id: self.application_id,
            application_secret: self.application_secret,
            transport: Transport::new(http, self.timeout),
        })
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

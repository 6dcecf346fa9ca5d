//! The async IAMPASS API client: [`ManagementApi`] for users and devices,
//! [`AuthenticationApi`] to start sessions. Both are built by [`ClientBuilder`].
//!
//! Every call goes through one shared layer per built client (its clones and the sessions it
//! creates or attaches included): a circuit breaker ([`CircuitState`]), a cap on concurrent
//! calls, a connect timeout and a bounded connection pool.

mod authentication;
mod breaker;
mod builder;
mod http;
mod management;
mod target;
pub(crate) mod transport;

pub use authentication::{AuthenticationApi, UNKNOWN_USER};
pub use breaker::{CircuitState, DEFAULT_COOL_DOWN, DEFAULT_FAILURE_THRESHOLD, MAX_RETRY_AFTER};
pub use builder::{
    ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_POOL_MAX_IDLE_PER_HOST, DEFAULT_SERVER, SERVER_ENV,
};
pub use management::{AddUserResult, AddedUsers, DeviceRegistration, ManagementApi};
pub use transport::DEFAULT_TIMEOUT;

use crate::metrics::{self, UpstreamCall};
use crate::{Error, Secret};
use transport::Transport;

/// What both APIs share: where IAMPASS is, the application's credentials and the HTTP layer.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub(crate) server: String,
    pub(crate) application_id: String,
    pub(crate) application_secret: Secret,
    pub(crate) transport: Transport,
}

impl Endpoint {
    /// `{server}/{prefix}/{app_id}` followed by `/`-joined, `quote_plus`-encoded segments.
    pub(crate) fn url(&self, prefix: &str, segments: &[&str]) -> String {
        let mut url = format!(
            "{}/{}/{}",
            self.server,
            prefix,
            crate::quote_plus(&self.application_id)
        );
        for segment in segments {
            url.push('/');
            url.push_str(&crate::quote_plus(segment));
        }
        url
    }

    pub(crate) async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        route: &'static str,
    ) -> Result<T, Error> {
        let calling =
            self.transport
                .get_json(url, route, &self.application_id, &self.application_secret);
        metrics::upstream(UpstreamCall::Management, calling).await
    }

    pub(crate) async fn post<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        route: &'static str,
        body: &serde_json::Value,
    ) -> Result<T, Error> {
        let calling = self.transport.post_json(
            url,
            route,
            &self.application_id,
            &self.application_secret,
            Some(body),
        );
        metrics::upstream(UpstreamCall::Management, calling).await
    }
}

/// Refuses an empty user id before anything is sent (the reference client raises).
pub(crate) fn check_user_id(user_id: &str) -> Result<(), Error> {
    if user_id.is_empty() {
        Err(Error::InvalidArgument("user_id cannot be empty".into()))
    } else {
        Ok(())
    }
}

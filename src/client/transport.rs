//! The HTTP layer every call goes through: signing, timeout, retry, error mapping, tracing.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::signing::{self, AUTHENTICATION_HEADER, TIMESTAMP_HEADER, VERSION_HEADER};
use crate::{Error, Secret};

/// Default time allowed for one IAMPASS call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this much of an error body is kept in [`Error::Http`].
const ERROR_BODY_LIMIT: usize = 512;

/// A shared HTTP client plus the per-call timeout. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    timeout: Duration,
}

impl Transport {
    pub(crate) fn new(http: reqwest::Client, timeout: Duration) -> Self {
        Transport { http, timeout }
    }

    /// The transport used by sessions that were deserialised rather than started by an API
    /// value (default timeout, one process-wide connection pool).
    pub(crate) fn shared_default() -> Result<Transport, Error> {
        static DEFAULT: OnceLock<Transport> = OnceLock::new();
        if let Some(t) = DEFAULT.get() {
            return Ok(t.clone());
        }
        let http = default_http_client(None)?;
        Ok(DEFAULT
            .get_or_init(|| Transport::new(http, DEFAULT_TIMEOUT))
            .clone())
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        route: &'static str,
        client_id: &str,
        secret: &Secret,
    ) -> Result<T, Error> {
        let url = parse_url(url)?;
        let body = self
            .send(Method::GET, url, route, client_id, secret, None)
            .await?;
        decode(&body)
    }

    pub(crate) async fn post_json<T: DeserializeOwned>(
        &self,
        url: &str,
        route: &'static str,
        client_id: &str,
        secret: &Secret,
        body: Option<&serde_json::Value>,
    ) -> Result<T, Error> {
        let url = parse_url(url)?;
        let body = body.map(|v| serde_json::to_vec(v).expect("JSON values serialise"));
        let answer = self
            .send(Method::POST, url, route, client_id, secret, body)
            .await?;
        decode(&answer)
    }

    /// Sends one signed request and returns the body of a 2xx answer. GETs are retried once
    /// on a connect error (nothing reached the server); POSTs never are.
    async fn send(
        &self,
        method: Method,
        url: Url,
        route: &'static str,
        client_id: &str,
        secret: &Secret,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, Error> {
        let span = tracing::debug_span!(
            "iampass.request",
            method = %method,
            route,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        async {
            let attempts = if method == Method::GET { 2 } else { 1 };
            let mut attempt = 0;
            let result = loop {
                attempt += 1;
                match self
                    .send_once(method.clone(), &url, client_id, secret, body.clone())
                    .await
                {
                    Err(Error::Connect(e)) if attempt < attempts => {
                        tracing::debug!(error = %e, "connect failed, retrying once");
                    }
                    other => break other,
                }
            };
            let span = tracing::Span::current();
            span.record("latency_ms", started.elapsed().as_millis() as u64);
            match &result {
                Ok((status, _)) => {
                    span.record("status", *status);
                }
                Err(Error::Http { status, .. }) => {
                    span.record("status", *status);
                }
                Err(e) => tracing::debug!(error = %e, "request failed"),
            }
            result.map(|(_, body)| body)
        }
        .instrument(span)
        .await
    }

    async fn send_once(
        &self,
        method: Method,
        url: &Url,
        client_id: &str,
        secret: &Secret,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>), Error> {
        // Sign the URL exactly as it goes on the wire (after url-crate normalisation).
        let headers = signing::sign_now(client_id, secret, url.as_str());
        let mut request = self
            .http
            .request(method, url.clone())
            .timeout(self.timeout)
            .header(AUTHENTICATION_HEADER, headers.authentication)
            .header(TIMESTAMP_HEADER, headers.timestamp)
            .header(VERSION_HEADER, headers.version)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::from_reqwest(e, self.timeout))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(e, self.timeout))?;
        if !(200..300).contains(&status) {
            let end = body.len().min(ERROR_BODY_LIMIT);
            return Err(Error::Http {
                status,
                body: String::from_utf8_lossy(&body[..end]).into_owned(),
            });
        }
        Ok((status, body.to_vec()))
    }
}

/// The client the crate builds when none is supplied: rustls, no cookies, a user agent.
pub(crate) fn default_http_client(user_agent: Option<&str>) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .user_agent(user_agent.unwrap_or(concat!("iampass-rust/", env!("CARGO_PKG_VERSION"))))
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

fn parse_url(url: &str) -> Result<Url, Error> {
    let parsed = Url::parse(url).map_err(|e| Error::Protocol(format!("bad URL {url:?}: {e}")))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(Error::Protocol(format!("unsupported URL scheme {other:?}"))),
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Protocol(format!("bad JSON answer: {e}")))
}

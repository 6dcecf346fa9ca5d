//! The HTTP layer every call goes through: circuit breaker, concurrency cap, signing, timeout,
//! retry, error mapping, tracing.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use super::breaker::{Breaker, CircuitState, Outcome};
use super::http::{HttpClient, Signed};
pub(crate) use super::target::Target;
use crate::signing;
use crate::{Error, Secret};
use bytes::Bytes;
use http::Method;
use http::header::HeaderValue;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument;

/// Default time allowed for one IAMPASS call, waiting for a free slot included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this much of an error body is kept in [`Error::Http`].
pub(crate) const ERROR_BODY_LIMIT: usize = 512;

/// The HTTP layer's settings and shared state. Cheap to clone: clones (and the sessions an
/// API value creates or attaches) share the connection pool, the breaker and the call cap.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    http: HttpClient,
    timeout: Duration,
    breaker: Option<Arc<Breaker>>,
    slots: Arc<Semaphore>,
    max_concurrent: usize,
}

/// What a [`Transport`] is made of (see `ClientBuilder`).
pub(crate) struct TransportParts {
    pub(crate) http: HttpClient,
    pub(crate) timeout: Duration,
    /// `(failure threshold, cool-down)`, or `None` for no breaker.
    pub(crate) breaker: Option<(u32, Duration)>,
    pub(crate) max_concurrent: usize,
}

impl Transport {
    pub(crate) fn new(parts: TransportParts) -> Self {
        Transport {
            http: parts.http,
            timeout: parts.timeout,
            breaker: parts
                .breaker
                .map(|(threshold, cool_down)| Arc::new(Breaker::new(threshold, cool_down))),
            slots: Arc::new(Semaphore::new(parts.max_concurrent)),
            max_concurrent: parts.max_concurrent,
        }
    }

    /// The breaker's state (`Closed` when there is none).
    pub(crate) fn circuit_state(&self) -> CircuitState {
        self.breaker
            .as_ref()
            .map_or(CircuitState::Closed, |b| b.state())
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        route: &'static str,
        client_id: &str,
        secret: &Secret,
    ) -> Result<T, Error> {
        let body = self.get(url, route, client_id, secret).await?;
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
        let answer = self.post(url, route, client_id, secret, body).await?;
        decode(&answer)
    }

    /// A signed GET; the raw body of a 2xx answer.
    pub(crate) async fn get(
        &self,
        url: &str,
        route: &'static str,
        client_id: &str,
        secret: &Secret,
    ) -> Result<Bytes, Error> {
        let target = Target::parse(url)?;
        self.send(Method::GET, &target, route, client_id, secret, None)
            .await
    }

    /// A signed GET of a target parsed beforehand (a session's status URL); the raw body of
    /// a 2xx answer.
    pub(crate) async fn get_target(
        &self,
        target: &Target,
        route: &'static str,
        client_id: &str,
        secret: &Secret,
    ) -> Result<Bytes, Error> {
        self.send(Method::GET, target, route, client_id, secret, None)
            .await
    }

    /// A signed POST (`body` as JSON, if any); the raw body of a 2xx answer.
    pub(crate) async fn post(
        &self,
        url: &str,
        route: &'static str,
        client_id: &str,
        secret: &Secret,
        body: Option<&serde_json::Value>,
    ) -> Result<Bytes, Error> {
        let target = Target::parse(url)?;
        let body = body.map(|v| serde_json::to_vec(v).expect("JSON values serialise"));
        self.send(Method::POST, &target, route, client_id, secret, body)
            .await
    }

    /// Sends one signed request and returns the body of a 2xx answer.
    ///
    /// The breaker is asked first (an open one refuses at once), then a slot of the call cap is
    /// awaited; the whole call, wait included, gets `timeout`. GETs are retried once on a
    /// connect error (nothing reached the server); POSTs never are.
    async fn send(
        &self,
        method: Method,
        target: &Target,
        route: &'static str,
        client_id: &str,
        secret: &Secret,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, Error> {
        let span = tracing::debug_span!(
            "iampass.request",
            method = %method,
            route,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        async {
            let ticket = match &self.breaker {
                Some(breaker) => Some(breaker.acquire().inspect_err(|e| {
                    tracing::debug!(error = e.to_string(), "not sent: circuit open");
                })?),
                None => None,
            };
            let deadline = started + self.timeout;
            let _slot = match tokio::time::timeout_at(deadline, self.slots.acquire()).await {
                Ok(Ok(permit)) => permit,
                // The semaphore is never closed; treat it like a full one.
                Ok(Err(_)) | Err(_) => {
                    let e = Error::Saturated {
                        limit: self.max_concurrent,
                        waited: started.elapsed(),
                    };
                    tracing::debug!(error = e.to_string(), "not sent: too many calls in flight");
                    // Dropping the ticket decides nothing: the server was not asked.
                    return Err(e);
                }
            };
            let attempts = if method == Method::GET { 2 } else { 1 };
            let mut attempt = 0;
            let result = loop {
                attempt += 1;
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    break Err(Error::Timeout(self.timeout));
                }
                match self
                    .send_once(
                        method.clone(),
                        target,
                        client_id,
                        secret,
                        body.clone(),
                        remaining,
                    )
                    .await
                {
                    Err(Error::Connect(e)) if attempt < attempts => {
                        tracing::debug!(error = e.to_string(), "connect failed, retrying once");
                    }
                    other => break other,
                }
            };
            if let Some(ticket) = ticket {
                ticket.record(Outcome::of(&result));
            }
            let span = tracing::Span::current();
            span.record("latency_ms", started.elapsed().as_millis() as u64);
            match &result {
                Ok((status, _)) => {
                    span.record("status", *status);
                }
                Err(Error::Http { status, .. }) => {
                    span.record("status", *status);
                }
                Err(e) => tracing::debug!(error = e.to_string(), "request failed"),
            }
            result.map(|(_, body)| body)
        }
        .instrument(span)
        .await
    }

    async fn send_once(
        &self,
        method: Method,
        target: &Target,
        client_id: &str,
        secret: &Secret,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<(u16, Bytes), Error> {
        // Sign the URL exactly as it goes on the wire (after url-crate normalisation).
        let signed = sign_now(target, client_id, secret)?;
        let answer = self
            .http
            .send(method, target, signed, body, timeout, self.timeout)
            .await?;
        if !(200..300).contains(&answer.status) {
            let end = answer.body.len().min(ERROR_BODY_LIMIT);
            return Err(Error::Http {
                status: answer.status,
                body: String::from_utf8_lossy(&answer.body[..end]).into_owned(),
                retry_after: answer.retry_after,
            });
        }
        Ok((answer.status, answer.body))
    }
}

/// The signing headers for a request to `target` now, with a fresh random nonce: the same
/// bytes as [`signing::sign_now`], in one allocation (the timestamp's value is made once per
/// second per thread).
fn sign_now(target: &Target, client_id: &str, secret: &Secret) -> Result<Signed, Error> {
    let timestamp = timestamp_now();
    let authentication = signing::authentication_value(
        client_id,
        secret,
        target.signed_part(),
        rand::random::<u64>(),
        timestamp.to_str().expect("ASCII digits"),
    );
    let authentication = HeaderValue::from_maybe_shared(Bytes::from(authentication))
        .map_err(|e| Error::Protocol(format!("cannot build the request: {e}")))?;
    Ok(Signed {
        authentication,
        timestamp,
    })
}

thread_local! {
    /// The current second's timestamp header value (clones share its bytes).
    static TIMESTAMP: RefCell<(u64, HeaderValue)> =
        const { RefCell::new((u64::MAX, HeaderValue::from_static("0"))) };
}

/// The timestamp header value for now.
fn timestamp_now() -> HeaderValue {
    let now = signing::unix_now();
    TIMESTAMP.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != now {
            let mut digits = [0; 20];
            let value = Bytes::copy_from_slice(signing::decimal(now, &mut digits).as_bytes());
            *cached = (
                now,
                HeaderValue::from_maybe_shared(value).expect("digits are a header value"),
            );
        }
        cached.1.clone()
    })
}

pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Protocol(format!("bad JSON answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_without_a_free_slot_fails_as_an_outage_and_sends_nothing() {
        let transport = Transport::new(TransportParts {
            http: HttpClient::build(&Default::default()).unwrap(),
            timeout: Duration::from_millis(50),
            breaker: Some((1, Duration::from_secs(60))),
            max_concurrent: 2,
        });
        let clone = transport.clone();
        // Every slot taken (as by two calls still in flight), through a clone: they share.
        let _taken = clone.slots.clone().acquire_many_owned(2).await.unwrap();
        // Port 9 (discard) on loopback: were anything sent, this would be a connect error.
        let err = transport
            .get(
                "http://127.0.0.1:9/status",
                "status",
                "id",
                &Secret::new("s"),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Saturated { limit: 2, waited } if waited >= Duration::from_millis(50)),
            "{err}"
        );
        assert!(err.is_outage());
        assert_eq!(
            transport.circuit_state(),
            CircuitState::Closed,
            "a local wait is not a server failure"
        );
    }
}

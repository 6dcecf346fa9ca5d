//! The HTTP client under the transport: one request out, one whole answer back.
//!
//! By default the crate uses its own hyper client ([`HttpClient::direct`]) whose connector
//! holds one permit per open connection, so the client never has more than its cap of
//! connections to IAMPASS open — idle ones included. A cap on *calls* alone is not enough:
//! hyper hands a connection back to its pool a moment after the answer, and a call that starts
//! in that moment opens another (a burst of 1 000 requests overshot a cap of 64 by a third).
//! With the connector waiting for a permit, such a call takes the returning connection instead.
//!
//! A `reqwest::Client` is used instead when the application supplies one
//! ([`ClientBuilder::http_client`](super::ClientBuilder::http_client)) or when the
//! environment names a proxy (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`), which reqwest honours;
//! then only calls are capped.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{
    CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT,
};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::breaker::MAX_RETRY_AFTER;
use super::target::Target;
use crate::Error;
use crate::signing::SIGNATURE_VERSION;

/// The largest answer read from IAMPASS. Its answers are a few hundred bytes; a server (or
/// something in front of it) sending more is not read into memory.
pub(crate) const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The environment variables reqwest reads a proxy from (both spellings).
const PROXY_VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type DirectClient = Client<HttpsConnector<CountedConnector<HttpConnector>>, Full<Bytes>>;

/// How a built client reaches IAMPASS.
#[derive(Clone, Debug)]
pub(crate) enum HttpClient {
    /// The crate's own client: at most `open`'s permits of connections, ever.
    Direct(Arc<Direct>),
    /// A reqwest client (the application's, or the one used through a proxy).
    Reqwest(reqwest::Client),
}

/// The crate's own client and the permits of its connections.
pub(crate) struct Direct {
    client: DirectClient,
    user_agent: HeaderValue,
    open: Arc<Semaphore>,
    max_connections: usize,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct")
            .field("max_connections", &self.max_connections)
            .field("open_connections", &self.open_connections())
            .finish_non_exhaustive()
    }
}

impl Direct {
    /// Connections open now (in use, idle in the pool, or being opened).
    fn open_connections(&self) -> usize {
        self.max_connections - self.open.available_permits()
    }
}

/// What [`HttpClient::build`] needs.
pub(crate) struct HttpSettings<'a> {
    pub(crate) user_agent: Option<&'a str>,
    pub(crate) connect_timeout: Duration,
    /// The whole call's timeout: no call waits longer for a connection.
    pub(crate) call_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) pool_max_idle_per_host: usize,
    pub(crate) pool_idle_timeout: Duration,
    /// Extra trusted roots (PEM), beside the bundled Mozilla roots.
    pub(crate) root_certificates: &'a [Vec<u8>],
}

/// One answer, read whole.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Bytes,
}

impl HttpClient {
    /// The client a builder makes: the crate's own, or reqwest's when a proxy is configured
    /// in the environment.
    pub(crate) fn build(settings: &HttpSettings<'_>) -> Result<HttpClient, Error> {
        match PROXY_VARIABLES
            .iter()
            .find(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
        {
            Some(name) => {
                tracing::debug!(
                    variable = name,
                    "a proxy is configured: IAMPASS calls go through reqwest (only calls are capped)"
                );
                reqwest_client(settings).map(HttpClient::Reqwest)
            }
            None => HttpClient::direct(settings),
        }
    }

    /// The crate's own client, at most `max_connections` connections open at once.
    pub(crate) fn direct(settings: &HttpSettings<'_>) -> Result<HttpClient, Error> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(settings.connect_timeout));
        let open = Arc::new(Semaphore::new(settings.max_connections));
        let counted = CountedConnector {
            inner: tcp,
            open: open.clone(),
            wait: settings.call_timeout,
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(settings.root_certificates)?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(counted);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(settings.pool_idle_timeout)
            .pool_max_idle_per_host(settings.pool_max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        let user_agent =
            HeaderValue::from_str(settings.user_agent.unwrap_or(DEFAULT_USER_AGENT))
                .map_err(|_| Error::Config("the user agent is not a valid header value".into()))?;
        Ok(HttpClient::Direct(Arc::new(Direct {
            client,
            user_agent,
            open,
            max_connections: settings.max_connections,
        })))
    }

    /// Sends one signed request and reads the whole answer (at most [`MAX_ANSWER_BYTES`])
    /// within `timeout`; `call_timeout` is what a timeout error reports.
    pub(crate) async fn send(
        &self,
        method: Method,
        target: &Target,
        signed: Signed,
        body: Option<Vec<u8>>,
        timeout: Duration,
        call_timeout: Duration,
    ) -> Result<Answer, Error> {
        match self {
            HttpClient::Direct(direct) => {
                // Everything but the signature comes ready-made: the parsed URI and `Host`
                // (clones share their bytes), the header names and the constant values.
                // Room for seven: hyper-util reserves one more before it looks for `Host`.
                let mut headers = HeaderMap::with_capacity(7);
                headers.insert(HOST, target.host.clone());
                headers.insert(USER_AGENT, direct.user_agent.clone());
                headers.insert(AUTHENTICATION, signed.authentication);
                headers.insert(TIMESTAMP, signed.timestamp);
                headers.insert(VERSION, HeaderValue::from_static(SIGNATURE_VERSION));
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                let mut request = Request::new(Full::new(Bytes::from(body.unwrap_or_default())));
                *request.method_mut() = method;
                *request.uri_mut() = target.uri.clone();
                *request.headers_mut() = headers;
                let exchange = async {
                    let response = direct.client.request(request).await.map_err(|e| {
                        if e.is_connect() {
                            Error::Connect(described(&e))
                        } else {
                            Error::Transport(described(&e))
                        }
                    })?;
                    let status = response.status().as_u16();
                    let retry_after = retry_after_of(response.headers());
                    let body = read_body(response.into_body()).await?;
                    Ok(Answer {
                        status,
                        retry_after,
                        body,
                    })
                };
                tokio::time::timeout(timeout, exchange)
                    .await
                    .unwrap_or(Err(Error::Timeout(call_timeout)))
            }
            HttpClient::Reqwest(http) => {
                let mut request = http
                    .request(method, target.url.clone())
                    .timeout(timeout)
                    .header(AUTHENTICATION, signed.authentication)
                    .header(TIMESTAMP, signed.timestamp)
                    .header(VERSION, HeaderValue::from_static(SIGNATURE_VERSION))
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                if let Some(body) = body {
                    request = request.body(body);
                }
                let response = request
                    .send()
                    .await
                    .map_err(|e| Error::from_reqwest(e, call_timeout))?;
                let status = response.status().as_u16();
                let retry_after = retry_after_of(response.headers());
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| Error::from_reqwest(e, call_timeout))?;
                Ok(Answer {
                    status,
                    retry_after,
                    body,
                })
            }
        }
    }
}

/// The two header values that sign one request (the version is constant).
pub(crate) struct Signed {
    pub(crate) authentication: HeaderValue,
    pub(crate) timestamp: HeaderValue,
}

const AUTHENTICATION: HeaderName = HeaderName::from_static("authentication");
const TIMESTAMP: HeaderName = HeaderName::from_static("x-iampass-authentication-timestamp");
const VERSION: HeaderName = HeaderName::from_static("x-iamoass-authentication-version");

/// An answer's body, whole: the one chunk a small answer comes in is kept as it is (no copy,
/// no list of chunks); longer ones are joined. At most [`MAX_ANSWER_BYTES`].
async fn read_body(body: hyper::body::Incoming) -> Result<Bytes, Error> {
    let mut body = Limited::new(body, MAX_ANSWER_BYTES);
    let mut whole: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Error::Transport(described(&*e)))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        if let Some(joined) = &mut joined {
            joined.extend_from_slice(&data);
        } else if let Some(first) = whole.take() {
            let mut both = BytesMut::with_capacity(first.len() + data.len());
            both.extend_from_slice(&first);
            both.extend_from_slice(&data);
            joined = Some(both);
        } else {
            whole = Some(data);
        }
    }
    Ok(match joined {
        Some(joined) => joined.freeze(),
        None => whole.unwrap_or_default(),
    })
}

/// The user agent of the clients the crate builds.
const DEFAULT_USER_AGENT: &str = concat!("iampass-rust/", env!("CARGO_PKG_VERSION"));

/// reqwest's client with the builder's settings (used through a proxy).
fn reqwest_client(settings: &HttpSettings<'_>) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        .user_agent(settings.user_agent.unwrap_or(DEFAULT_USER_AGENT))
        .connect_timeout(settings.connect_timeout)
        .pool_max_idle_per_host(settings.pool_max_idle_per_host)
        .pool_idle_timeout(settings.pool_idle_timeout);
    for pem in settings.root_certificates {
        for certificate in reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| Error::Config(format!("root certificate: {e}")))?
        {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

/// rustls with the *ring* provider (chosen explicitly: an application may link another) and
/// the Mozilla roots, plus the application's own.
fn tls_config(extra_roots: &[Vec<u8>]) -> Result<rustls::ClientConfig, Error> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for pem in extra_roots {
        let mut added = 0;
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate =
                certificate.map_err(|e| Error::Config(format!("root certificate: {e}")))?;
            roots
                .add(certificate)
                .map_err(|e| Error::Config(format!("root certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::Config(
                "root certificate: no PEM certificate found".into(),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The error with its causes in one message: hyper's own is generic ("client error
/// (Connect)"), the useful part ("Connection refused", "invalid peer certificate") is below it.
fn described(error: &(dyn std::error::Error + 'static)) -> BoxError {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message.into()
}

fn retry_after_of(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// A connector that opens a connection only with a permit, held until the connection closes.
///
/// While every permit is taken, a new connection waits; hyper's pool meanwhile hands the
/// waiting call the first connection that comes back, so calls queue on the connections
/// already open instead of opening more. hyper lets a connect that lost that race finish in
/// the background (to fill the pool); `wait` bounds how long such a connect waits for a
/// permit — a call's own wait is bounded by its timeout, which is never longer.
#[derive(Clone)]
struct CountedConnector<C> {
    inner: C,
    open: Arc<Semaphore>,
    wait: Duration,
}

impl<C> tower_service::Service<Uri> for CountedConnector<C>
where
    C: tower_service::Service<Uri> + Clone + Send + 'static,
    C::Future: Send,
    C::Error: Into<BoxError>,
{
    type Response = Counted<C::Response>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        // The ready service answers this call; a fresh clone waits for the next `poll_ready`.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (open, wait) = (self.open.clone(), self.wait);
        Box::pin(async move {
            let permit = tokio::time::timeout(wait, open.acquire_owned())
                .await
                .map_err(|_| format!("no connection to IAMPASS free within {wait:?}"))??;
            let conn = inner.call(uri).await.map_err(Into::into)?;
            Ok(Counted {
                conn,
                _permit: permit,
            })
        })
    }
}

/// A connection and its permit: closing it frees the permit.
struct Counted<T> {
    conn: T,
    _permit: OwnedSemaphorePermit,
}

impl<T: Connection> Connection for Counted<T> {
    /// What the inner connection says, without its `extra` (the socket addresses): hyper-util
    /// would copy that into every answer's extensions (three allocations per call), and no
    /// one reads it.
    fn connected(&self) -> Connected {
        let inner = self.conn.connected();
        let connected = Connected::new().proxy(inner.is_proxied());
        if inner.is_negotiated_h2() {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.conn).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.conn).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.conn).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.conn).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.conn.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.conn).poll_write_vectored(cx, bufs)
    }
}

/// A `Retry-After` value: delay-seconds or an HTTP date (RFC 9110 §10.2.3), capped at
/// [`MAX_RETRY_AFTER`]. A date in the past is zero; anything unreadable is `None`.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is "very long", not "unreadable".
        Duration::from_secs(value.parse().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(parse_retry_after("120", now), secs(120));
        assert_eq!(parse_retry_after(" 0 ", now), secs(0));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            secs(30)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            secs(0),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("99999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
        for bad in ["", "-5", "1.5", "soon", "Sun, 06 Nov 1994"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }
}

//! A running emulator: its address, and async methods that drive it through its control API.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::state::Shared;
use super::types::{Application, Behaviour, EmulatorSession, Faults, SessionAction, Sms, Stats};
use crate::{AuthenticationApi, Error, ManagementApi, Secret, Status, quote_plus};

/// Time allowed for one control API call.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// A running emulator, from [`EmulatorBuilder::start`](super::EmulatorBuilder::start).
///
/// Its async methods go through the control API over HTTP, exactly as a script would. It
/// stops serving when dropped or when [`shutdown`](Self::shutdown) is awaited.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use iampass::emulator::{Emulator, SessionAction};
/// use iampass::{ManagementApi, AuthenticationApi, Status};
///
/// let emulator = Emulator::builder().application("app-1", "secret-1").start().await?;
/// let management = emulator.management_api("app-1")?;
/// management.add_user("alice").await?;
/// emulator.register_device("app-1", "alice").await?;
///
/// let auth = emulator.authentication_api("app-1")?;
/// let mut session = auth.authenticate_user("alice").await?;
/// let token = session.session_token().unwrap().to_owned();
/// assert_eq!(emulator.session_action(&token, SessionAction::Approve).await?, Status::Active);
/// assert_eq!(session.get_status().await?, Status::Active);
/// emulator.shutdown().await;
/// # Ok(()) }
/// ```
pub struct RunningEmulator {
    addr: SocketAddr,
    base_url: String,
    shared: Arc<Shared>,
    http: reqwest::Client,
    handle: ServerHandle,
    control_token: Option<Secret>,
    task: Option<tokio::task::JoinHandle<io::Result<()>>>,
}

/// The HTTP client of the control calls, sending the token if there is one.
fn control_client(token: Option<&Secret>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = token
        && let Ok(mut value) =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
    {
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    reqwest::Client::builder()
        .timeout(CONTROL_TIMEOUT)
        .default_headers(headers)
        .build()
        .unwrap_or_default()
}

impl fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl RunningEmulator {
    pub(crate) fn new(
        addr: SocketAddr,
        shared: Arc<Shared>,
        server: Server,
        control_token: Option<Secret>,
    ) -> Self {
        let handle = server.handle();
        let task = tokio::spawn(server);
        // An unspecified address (0.0.0.0, ::) is reached through loopback.
        let reach = if addr.ip().is_unspecified() {
            let ip = if addr.is_ipv4() {
                std::net::IpAddr::from([127, 0, 0, 1])
            } else {
                std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
            };
            SocketAddr::new(ip, addr.port())
        } else {
            addr
        };
        RunningEmulator {
            addr,
            base_url: format!("http://{reach}"),
            shared,
            http: control_client(control_token.as_ref()),
            handle,
            control_token,
            task: Some(task),
        }
    }

    /// The token the control API wants (`Authorization: Bearer <token>`), if it wants one:
    /// the one given to [`control_token`](super::EmulatorBuilder::control_token), or the
    /// random one made for an emulator listening beyond loopback.
    ///
    /// ```no_run
    /// # fn run(emulator: iampass::emulator::RunningEmulator) {
    /// if let Some(token) = emulator.control_token() {
    ///     eprintln!("control token: {}", token.expose());
    /// }
    /// # }
    /// ```
    pub fn control_token(&self) -> Option<&Secret> {
        self.control_token.as_ref()
    }

    /// The address the server is bound to (with the real port when bound to port 0).
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// println!("listening on {}", emulator.local_addr());
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to use as the IAMPASS server: `http://127.0.0.1:PORT`.
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// let api = iampass::ManagementApi::builder("app-1", "secret-1")
    ///     .server(emulator.base_url())
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The phone page: `{base_url}/phone`.
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// println!("open {} in a browser", emulator.phone_url());
    /// # Ok(()) }
    /// ```
    pub fn phone_url(&self) -> String {
        format!("{}/phone", self.base_url)
    }

    /// Adds an application (or replaces its secret) while running.
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// emulator.add_application("app-2", "secret-2");
    /// emulator.management_api("app-2")?.add_user("alice").await?;
    /// # Ok(()) }
    /// ```
    pub fn add_application(&self, app_id: impl Into<String>, secret: impl Into<Secret>) {
        self.shared
            .world()
            .directory
            .add_application(&app_id.into(), secret.into());
    }

    fn secret_of(&self, app_id: &str) -> Result<Secret, Error> {
        self.shared
            .world()
            .directory
            .app_secret(app_id)
            .ok_or_else(|| Error::InvalidArgument(format!("unknown application {app_id:?}")))
    }

    /// A [`ManagementApi`] for one of the emulator's applications, pointed at it (without a
    /// circuit breaker, so faults injected with [`set_faults`](Self::set_faults) reach every call).
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// let management = emulator.management_api("app-1")?;
    /// management.add_user("alice").await?;
    /// # Ok(()) }
    /// ```
    pub fn management_api(&self, app_id: &str) -> Result<ManagementApi, Error> {
        ManagementApi::builder(app_id, self.secret_of(app_id)?)
            .server(self.base_url.clone())
            // Tests inject faults on purpose: every call should meet them, not a breaker.
            .without_circuit_breaker()
            .build()
    }

    /// An [`AuthenticationApi`] for one of the emulator's applications, pointed at it (without
    /// a circuit breaker, as [`management_api`](Self::management_api)).
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// let session = emulator.authentication_api("app-1")?.authenticate_user("alice").await?;
    /// println!("{:?}", session.session_status());
    /// # Ok(()) }
    /// ```
    pub fn authentication_api(&self, app_id: &str) -> Result<AuthenticationApi, Error> {
        AuthenticationApi::builder(app_id, self.secret_of(app_id)?)
            .server(self.base_url.clone())
            // Tests inject faults on purpose: every call should meet them, not a breaker.
            .without_circuit_breaker()
            .build()
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, Error> {
        let url = format!("{}{}", self.base_url, path);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::from_reqwest(e, CONTROL_TIMEOUT))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(e, CONTROL_TIMEOUT))?;
        if !(200..300).contains(&status) {
            return Err(Error::Http {
                status,
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned(),
                retry_after: None,
            });
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Protocol(format!("control API answer: {e}")))
    }

    /// The applications and their user counts (`GET /_emulator/applications`).
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// for app in emulator.applications().await? {
    ///     println!("{}: {} users", app.app_id, app.users);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn applications(&self) -> Result<Vec<Application>, Error> {
        self.call(Method::GET, "/_emulator/applications", None)
            .await
    }

    /// Registers a phone for the user, creating the user if needed, as opening a
    /// registration link would (`POST /_emulator/devices/{app_id}/{user}`).
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// emulator.register_device("app-1", "alice").await?;
    /// let management = emulator.management_api("app-1")?;
    /// assert_eq!(
    ///     management.has_registered_mobile_device("alice").await?,
    ///     iampass::DeviceRegistration::HasMobileDevice
    /// );
    /// # Ok(()) }
    /// ```
    pub async fn register_device(&self, app_id: &str, user: &str) -> Result<(), Error> {
        let path = format!(
            "/_emulator/devices/{}/{}",
            quote_plus(app_id),
            quote_plus(user)
        );
        self.call::<serde_json::Value>(Method::POST, &path, None)
            .await
            .map(drop)
    }

    /// Sessions, oldest first, optionally of one application and/or user
    /// (`GET /_emulator/sessions`).
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// for s in emulator.sessions(Some("app-1"), Some("alice")).await? {
    ///     println!("{} {}", s.session_token, s.session_status);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn sessions(
        &self,
        app_id: Option<&str>,
        user: Option<&str>,
    ) -> Result<Vec<EmulatorSession>, Error> {
        let mut params = Vec::new();
        if let Some(app_id) = app_id {
            params.push(format!("app_id={}", quote_plus(app_id)));
        }
        if let Some(user) = user {
            params.push(format!("user={}", quote_plus(user)));
        }
        let mut path = "/_emulator/sessions".to_owned();
        if !params.is_empty() {
            path.push('?');
            path.push_str(&params.join("&"));
        }
        self.call(Method::GET, &path, None).await
    }

    /// Waits (polling every 10 ms, at most `timeout`) until the user's newest session has
    /// the given status, and answers it. `Err(Error::Timeout)` if it never does.
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// use std::time::Duration;
    /// use iampass::Status;
    /// let pending = emulator
    ///     .wait_for_session("app-1", "alice", Status::Pending, Duration::from_secs(5))
    ///     .await?;
    /// println!("approve {}", pending.session_token);
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_session(
        &self,
        app_id: &str,
        user: &str,
        status: Status,
        timeout: Duration,
    ) -> Result<EmulatorSession, Error> {
        let started = Instant::now();
        loop {
            let newest = self.sessions(Some(app_id), Some(user)).await?.pop();
            if let Some(s) = newest.filter(|s| s.session_status == status) {
                return Ok(s);
            }
            if started.elapsed() >= timeout {
                return Err(Error::Timeout(timeout));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Acts on a session as the phone would (`POST /_emulator/sessions/{token}/{action}`);
    /// answers the new status. An illegal transition is `Error::Http { status: 409, .. }`,
    /// an unknown token `404`.
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// use iampass::emulator::SessionAction;
    /// let pending = emulator.sessions(Some("app-1"), Some("alice")).await?.pop().unwrap();
    /// emulator.session_action(&pending.session_token, SessionAction::Approve).await?;
    /// emulator.session_action(&pending.session_token, SessionAction::Walkaway).await?;
    /// # Ok(()) }
    /// ```
    pub async fn session_action(
        &self,
        session_token: &str,
        action: SessionAction,
    ) -> Result<Status, Error> {
        #[derive(serde::Deserialize)]
        struct Answer {
            session_status: Status,
        }
        let path = format!(
            "/_emulator/sessions/{}/{}",
            quote_plus(session_token),
            action.as_str()
        );
        let answer: Answer = self.call(Method::POST, &path, None).await?;
        Ok(answer.session_status)
    }

    /// Makes the user's phone answer new requests by itself
    /// (`PUT /_emulator/users/{app_id}/{user}/behaviour`).
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// use std::time::Duration;
    /// use iampass::emulator::Behaviour;
    /// let after = Duration::from_millis(200);
    /// emulator.set_behaviour("app-1", "alice", Behaviour::Approve { after }).await?;
    /// emulator.set_behaviour("app-1", "mallory", Behaviour::Deny { after }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_behaviour(
        &self,
        app_id: &str,
        user: &str,
        behaviour: Behaviour,
    ) -> Result<(), Error> {
        let path = format!(
            "/_emulator/users/{}/{}/behaviour",
            quote_plus(app_id),
            quote_plus(user)
        );
        let after_ms = u64::try_from(behaviour.after().as_millis()).unwrap_or(u64::MAX);
        let body = json!({"respond": behaviour.respond(), "after_ms": after_ms});
        self.call::<serde_json::Value>(Method::PUT, &path, Some(body))
            .await
            .map(drop)
    }

    /// Injects faults into the wire API (`PUT /_emulator/faults`); `Faults::default()`
    /// removes them. Faults the control API refuses (a rate outside 0–1, a latency over
    /// 10 min, a `retry_after` over a day) are an [`Error::Http`] `400` and change nothing.
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// use std::time::Duration;
    /// use iampass::emulator::Faults;
    /// let slow_and_flaky = Faults {
    ///     latency: Duration::from_millis(100),
    ///     error_rate: 0.1,
    ///     error_status: 503,
    ///     retry_after: Some(Duration::from_secs(2)),
    /// };
    /// emulator.set_faults(slow_and_flaky).await?;
    /// // ... exercise the application ...
    /// emulator.set_faults(Faults::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_faults(&self, faults: Faults) -> Result<(), Error> {
        let body = serde_json::to_value(faults.to_wire())
            .map_err(|e| Error::InvalidArgument(format!("faults: {e}")))?;
        self.call::<serde_json::Value>(Method::PUT, "/_emulator/faults", Some(body))
            .await
            .map(drop)
    }

    /// The SMS outbox of every application, oldest first (`GET /_emulator/sms`).
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// for sms in emulator.sms().await? {
    ///     println!("to {}: {}", sms.phone_number, sms.message);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn sms(&self) -> Result<Vec<Sms>, Error> {
        self.call(Method::GET, "/_emulator/sms", None).await
    }

    /// Request counts per wire API route (`GET /_emulator/stats`).
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// let stats = emulator.stats().await?;
    /// println!("{} status calls", stats.route_count("status"));
    /// # Ok(()) }
    /// ```
    pub async fn stats(&self) -> Result<Stats, Error> {
        self.call(Method::GET, "/_emulator/stats", None).await
    }

    /// Sets every request counter back to zero (`DELETE /_emulator/stats`).
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// emulator.reset_stats().await?;
    /// assert_eq!(emulator.stats().await?.total(), 0);
    /// # Ok(()) }
    /// ```
    pub async fn reset_stats(&self) -> Result<(), Error> {
        self.call::<serde_json::Value>(Method::DELETE, "/_emulator/stats", None)
            .await
            .map(drop)
    }

    /// Stops the server and waits until it has stopped (open connections get at most 1 s).
    ///
    /// ```no_run
    /// # async fn run(emulator: iampass::emulator::RunningEmulator) -> Result<(), iampass::Error> {
    /// emulator.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(mut self) {
        self.shared.stop();
        self.handle.stop(true).await;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.shared.stop();
            // The stop command is sent at once; the server task carries it out.
            drop(self.handle.stop(false));
        }
    }
}

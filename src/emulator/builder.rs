//! Configuring and starting an emulator.

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use super::handle::RunningEmulator;
use super::routes::{Access, LocalAddr, configure, guard, log_request};
use super::state::{DEFAULT_NONCE_CAPACITY, Settings, Shared, Timing};
use super::types::UnknownUserAnswer;
use crate::Secret;
use crate::signing::DEFAULT_WINDOW;

/// The IAMPASS emulator: an IAMPASS-compatible server with a simulated phone.
///
/// Start one with [`Emulator::builder`]; the running server is a [`RunningEmulator`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use iampass::emulator::Emulator;
/// let emulator = Emulator::builder().application("app-1", "secret-1").start().await?;
/// println!("IAMPASS_SERVER={}  phone: {}", emulator.base_url(), emulator.phone_url());
/// emulator.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults: no application, `127.0.0.1:0` (a free port), unanswered
    /// requests time out after 60 s, sessions live 3600 s, signatures valid ±300 s.
    ///
    /// ```
    /// use iampass::emulator::Emulator;
    /// let builder = Emulator::builder().application("app-1", "secret-1");
    /// ```
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures an emulator; [`EmulatorBuilder::start`] runs it on the current tokio runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use iampass::emulator::Emulator;
/// let emulator = Emulator::builder()
///     .application("app-1", "secret-1")
///     .application("app-2", "secret-2")
///     .bind("127.0.0.1:0")
///     .pending_timeout(Duration::from_secs(5))
///     .signature_window(Duration::from_secs(60))
///     .start()
///     .await?;
/// assert!(emulator.base_url().starts_with("http://127.0.0.1:"));
/// # Ok(()) }
/// ```
#[must_use]
#[derive(Debug)]
pub struct EmulatorBuilder {
    applications: Vec<(String, Secret)>,
    bind: Result<Vec<SocketAddr>, String>,
    timing: Timing,
    signature_window: Duration,
    unknown_user: UnknownUserAnswer,
    workers: usize,
    nonce_capacity: usize,
    control_token: Option<Secret>,
    hosts: Vec<String>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            applications: Vec::new(),
            bind: Ok(vec![SocketAddr::from(([127, 0, 0, 1], 0))]),
            timing: Timing::default(),
            signature_window: DEFAULT_WINDOW,
            unknown_user: UnknownUserAnswer::default(),
            workers: 2,
            nonce_capacity: DEFAULT_NONCE_CAPACITY,
            control_token: None,
            hosts: Vec::new(),
        }
    }
}

impl EmulatorBuilder {
    /// Adds an application with its id and secret (repeatable; a repeated id takes the last
    /// secret). More can be added while running ([`RunningEmulator::add_application`]).
    ///
    /// ```
    /// use iampass::emulator::Emulator;
    /// let builder = Emulator::builder().application("app-1", "secret-1").application("app-2", "secret-2");
    /// ```
    pub fn application(mut self, app_id: impl Into<String>, secret: impl Into<Secret>) -> Self {
        self.applications.push((app_id.into(), secret.into()));
        self
    }

    /// Where to listen: `"127.0.0.1:0"` (the default; port 0 picks a free port),
    /// `"0.0.0.0:8765"`, a `SocketAddr`... An address that does not resolve makes
    /// [`start`](Self::start) fail.
    ///
    /// ```
    /// use iampass::emulator::Emulator;
    /// let builder = Emulator::builder().bind("127.0.0.1:8765");
    /// let builder = Emulator::builder().bind(std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
    /// ```
    pub fn bind<A: ToSocketAddrs>(mut self, addr: A) -> Self {
        self.bind = addr
            .to_socket_addrs()
            .map(Iterator::collect)
            .map_err(|e| e.to_string());
        self
    }

    /// How long a request may stay unanswered (`pending`/`identifying`) before it becomes
    /// `timeout` (default 60 s).
    ///
    /// ```
    /// use iampass::emulator::Emulator;
    /// let builder = Emulator::builder().pending_timeout(std::time::Duration::from_millis(500));
    /// ```
    pub fn pending_timeout(mut self, timeout: Duration) -> Self {
        self.timing.pending_timeout = timeout;
        self
    }

    /// The lifetime of a session whose request names no `duration_seconds` (default 3600 s).
    ///
    /// ```
    /// use iampass::emulator::Emulator;
    /// let builder = Emulator::builder().session_duration(std::time::Duration::from_secs(60));
    /// ```
    pub fn session_duration(mut self, duration: Duration) -> Self {
        self.timing.default_duration = duration;
        self
    }

    /// Accepted clock difference of signed requests, either way (default 300 s). Nonces are
    /// remembered this long to refuse replays.
    ///
    /// ```
    /// use iampass::emulator::Emulator;
    /// let builder = Emulator::builder().signature_window(std::time::Duration::from_secs(30));
    /// ```
    pub fn signature_window(mut self, window: Duration) -> Self {
        self.signature_window = window;
        self
    }

    /// How `authenticate_user` answers for a user the application does not have: `200` with
    /// `reason: "UNKNOWN_USER"` (the default) or `404` `User <id> not found`, as IAMPASS's
    /// public documentation answers unknown users elsewhere.
    ///
    /// ```
    /// use iampass::emulator::{Emulator, UnknownUserAnswer};
    /// let builder = Emulator::builder().unknown_user_answer(UnknownUserAnswer::NotFound);
    /// ```
    pub fn unknown_user_answer(mut self, answer: UnknownUserAnswer) -> Self {
        self.unknown_user = answer;
        self
    }

    /// HTTP worker threads (default 2).
    ///
    /// ```
    /// use iampass::emulator::Emulator;
    /// let builder = Emulator::builder().workers(4);
    /// ```
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Most nonces remembered for replay protection (default 1 000 000); beyond it the oldest
    /// are forgotten.
    ///
    /// ```
    /// use iampass::emulator::Emulator;
    /// let builder = Emulator::builder().nonce_capacity(10_000);
    /// ```
    pub fn nonce_capacity(mut self, capacity: usize) -> Self {
        self.nonce_capacity = capacity.max(1);
        self
    }

    /// A token the control API (`/_emulator/*`) and the phone page want as
    /// `Authorization: Bearer <token>` (the phone page also takes it once as `?token=`, then
    /// keeps it in a cookie); without it they answer `401`. Not needed on loopback; when the
    /// emulator listens on any other address and none is given, [`start`](Self::start)
    /// makes a random one ([`RunningEmulator::control_token`]). The [`RunningEmulator`]'s
    /// own calls send it.
    ///
    /// ```
    /// use iampass::emulator::Emulator;
    /// let builder = Emulator::builder().bind("0.0.0.0:0").control_token("a-long-random-token");
    /// ```
    pub fn control_token(mut self, token: impl Into<Secret>) -> Self {
        self.control_token = Some(token.into());
        self
    }

    /// A further `Host` name the control API and phone page answer to (`name`, meaning with
    /// the emulator's port, or `name:port`), e.g. a container's name. By default they answer
    /// only to the address a request came in on and to `localhost`, `127.0.0.1` and `[::1]`
    /// with the port, and refuse other `Host`s and cross-site requests (`403`) against DNS
    /// rebinding and cross-site requests from a browser. The wire API answers any `Host`.
    ///
    /// ```
    /// use iampass::emulator::Emulator;
    /// let builder = Emulator::builder().allow_host("iampass-emulator");
    /// ```
    pub fn allow_host(mut self, name: impl Into<String>) -> Self {
        self.hosts.push(name.into().trim().to_ascii_lowercase());
        self
    }

    /// Binds the address and starts serving on the current tokio runtime (plain tokio or
    /// actix). Fails if the address cannot be bound. The server stops when the returned
    /// handle is dropped or [`RunningEmulator::shutdown`] is awaited.
    ///
    /// ```
    /// use iampass::emulator::Emulator;
    /// # async fn run() -> std::io::Result<()> {
    /// let emulator = Emulator::builder().application("app-1", "secret-1").start().await?;
    /// println!("{}", emulator.base_url());
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> io::Result<RunningEmulator> {
        let addrs = self
            .bind
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(&addrs[..])?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        // Beyond loopback, the control API wants a token: a random one unless given.
        let token = match self.control_token {
            Some(token) => Some(token),
            None if !local_addr.ip().is_loopback() => Some(Secret::new(random_token())),
            None => None,
        };
        let access = web::Data::new(Access {
            bound: Some(local_addr),
            hosts: self.hosts,
            token: token.clone(),
        });

        let settings = Settings {
            signature_window: self.signature_window,
            unknown_user: self.unknown_user,
        };
        let shared = Arc::new(Shared::new(self.timing, settings, self.nonce_capacity));
        {
            let mut world = shared.world();
            for (id, secret) in self.applications {
                world.directory.add_application(&id, secret);
            }
        }
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(guard))
                .wrap(from_fn(log_request))
                .configure(configure(data.clone(), access.clone()))
        })
        .on_connect(|connection, extensions| {
            // The address each connection came in on: the `Host` the control API accepts.
            if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>()
                && let Ok(addr) = stream.local_addr()
            {
                extensions.insert(LocalAddr(addr));
            }
        })
        .workers(self.workers)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        Ok(RunningEmulator::new(local_addr, shared, server, token))
    }
}

/// 32 random bytes, hex.
fn random_token() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

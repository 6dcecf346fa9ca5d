//! Everything the example does before and after serving, whatever the framework: reading the
//! environment (every setting before anything starts, so a bad one is one clear error), the
//! upstream IAMPASS (an embedded emulator, or `IAMPASS_SERVER`), the deployment's settings,
//! the demo account, and the lines printed once the app serves.

use std::error::Error;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use iampass::core::store::Store;
use iampass::core::{ColorScheme, Iampass, IampassBuilder, Revalidate};
use iampass::emulator::{Emulator, RunningEmulator};
use iampass::{ManagementApi, user_name};

use crate::api_key::StepUp;
use crate::metrics;
use crate::pages::{self, AppState, LoginMode};
use crate::passwords::{self, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, Passwords};

pub type BoxError = Box<dyn Error + Send + Sync>;

/// Where IAMPASS is and which application the app is.
struct Upstream {
    server: String,
    application_id: String,
    application_secret: String,
    /// Kept alive for as long as the app runs, when embedded.
    emulator: Option<RunningEmulator>,
}

/// The seeded account: `IAMPASS_DEMO_USER` and, in password mode, its password.
struct Demo {
    user: String,
    /// `IAMPASS_DEMO_PASSWORD`, never printed.
    password_from_env: Option<String>,
}

impl Demo {
    fn from_env() -> Result<Demo, BoxError> {
        let user = match env("IAMPASS_DEMO_USER") {
            None => "demo".to_owned(),
            Some(raw) => {
                let checked = user_name::check_new(&raw)
                    .map_err(|e| format!("IAMPASS_DEMO_USER {raw:?}: {e}"))?;
                if checked.name().chars().count() > pages::MAX_NAME_CHARS {
                    return Err(format!(
                        "IAMPASS_DEMO_USER is too long: at most {} characters",
                        pages::MAX_NAME_CHARS
                    )
                    .into());
                }
                checked.name().to_owned()
            }
        };
        let password_from_env = match env("IAMPASS_DEMO_PASSWORD") {
            Some(password)
                if password.chars().count() < MIN_PASSWORD_CHARS
                    || password.len() > MAX_PASSWORD_BYTES =>
            {
                return Err(format!(
                    "IAMPASS_DEMO_PASSWORD must be {MIN_PASSWORD_CHARS} characters to \
                     {MAX_PASSWORD_BYTES} bytes long"
                )
                .into());
            }
            password => password,
        };
        Ok(Demo {
            user,
            password_from_env,
        })
    }
}

/// The app, ready to serve: where to listen, how users sign in, and what its handlers share.
pub struct Setup {
    /// `BIND`.
    pub bind: String,
    pub mode: LoginMode,
    pub state: Arc<AppState>,
    upstream: Upstream,
    demo: Demo,
    /// The demo password made up for this run (embedded emulator, no
    /// `IAMPASS_DEMO_PASSWORD`), printed.
    random_password: Option<String>,
    /// `METRICS_BIND`, where the metrics are served (printed).
    metrics_bind: Option<SocketAddr>,
}

impl Setup {
    /// Reads the environment, starts (or names) IAMPASS, builds the deployment (with what
    /// only the framework's glue can add, by `adapter`: its unauthenticated responder) and
    /// seeds the demo account.
    pub async fn from_env(
        adapter: impl FnOnce(IampassBuilder) -> IampassBuilder,
    ) -> Result<Setup, BoxError> {
        init_log();
        let bind = env("BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        // Every setting is read before anything starts, so a bad one is one clear error.
        let mode = LoginMode::parse(env("LOGIN_MODE").as_deref())?;
        let revalidate = revalidate_from_env()?;
        let demo = Demo::from_env()?;
        let step_up = StepUp::from_env()?;
        let metrics_bind = metrics::bind_from_env()?;
        if let Some(addr) = metrics_bind {
            metrics::serve(addr)?;
        }
        let store = Store::from_env().map_err(|e| format!("IAMPASS_REDIS_URL: {e}"))?;
        let upstream = match env("IAMPASS_SERVER") {
            Some(server) => external_upstream(server)?,
            None => embedded_upstream(&demo.user).await?,
        };
        let builder = Iampass::builder(
            upstream.application_id.clone(),
            upstream.application_secret.clone(),
        )
        .server(upstream.server.clone())
        // The example serves plain HTTP on loopback, where browsers would drop a `Secure`
        // cookie. Anything reachable from another machine must be served over HTTPS and keep
        // the default.
        .cookie_secure(false)
        .revalidate(revalidate)
        .store(store)
        // The crate's pages (the phone wait page, and the login page in passwordless mode)
        // in the example's colours: its name, a link home, its indigo and font, and no dark
        // mode (the example has none).
        .app_name("Acme Notes")
        .home_link("/")
        .page_style("--accent", "#4338ca")
        .page_style("--bg", "#f6f7fb")
        .page_style("--fg", "#1b1f2a")
        .page_style(
            "--font",
            "system-ui, -apple-system, \"Segoe UI\", Roboto, \"Helvetica Neue\", Arial, sans-serif",
        )
        .color_scheme(ColorScheme::Light);
        // A browser whose phone walked away gets a "locked" page rather than the login form
        // (the framework's glue sets the responder: see `pages::unauthenticated`).
        let builder = adapter(builder);
        let builder = match mode {
            // Only the app's own /signin, after the password, starts a phone approval;
            // visitors without a session are sent there.
            LoginMode::Password => builder.public_login(false).login_path("/signin"),
            LoginMode::Passwordless => builder,
        };
        let builder = match env("IAMPASS_COOKIE_KEY") {
            Some(key) => builder.cookie_key_base64(&key).cookie_old_keys_base64(
                env("IAMPASS_COOKIE_OLD_KEYS")
                    .unwrap_or_default()
                    .split(',')
                    .filter(|k| !k.trim().is_empty()),
            ),
            None => {
                // A fresh key per run: restarting the app signs everyone out, which is fine
                // for a demo. A real deployment sets IAMPASS_COOKIE_KEY (64 random bytes,
                // base64) and rotates it through IAMPASS_COOKIE_OLD_KEYS.
                let mut key = [0u8; 64];
                rand::fill(&mut key[..]);
                builder.cookie_key(&key)
            }
        };
        let iampass = builder.build()?;
        let management = ManagementApi::builder(
            upstream.application_id.clone(),
            upstream.application_secret.clone(),
        )
        .server(upstream.server.clone())
        .build()?;

        let passwords = Passwords::new()?;
        // The demo password: IAMPASS_DEMO_PASSWORD (so instances share it), else a random one
        // printed below, on the embedded emulator only (an external IAMPASS's users have no
        // password here unless given one).
        let random_password = (demo.password_from_env.is_none() && upstream.emulator.is_some())
            .then(passwords::random_password);
        let demo_password = demo
            .password_from_env
            .as_deref()
            .or(random_password.as_deref());
        if mode == LoginMode::Password
            && let Some(password) = demo_password
        {
            passwords.set(&demo.user, password).await?;
        }
        let state = Arc::new(AppState {
            iampass,
            management,
            phone_url: upstream.emulator.as_ref().map(RunningEmulator::phone_url),
            names: pages::UserNames::with([demo.user.as_str()]),
            mode,
            passwords,
            step_up,
        });
        Ok(Setup {
            bind,
            mode,
            state,
            upstream,
            demo,
            random_password,
            metrics_bind,
        })
    }

    /// The deployment.
    pub fn iampass(&self) -> &Iampass {
        &self.state.iampass
    }

    /// Prints where the app (`example` is its name) and the emulator are, and how to sign
    /// in; call it once the app answers on `addr` (see [`wait_until_serving`]).
    pub fn announce(&self, example: &str, addr: SocketAddr) {
        let app_url = format!("http://{addr}");
        println!("{example} listening on {app_url}");
        if let Some(addr) = self.metrics_bind {
            println!("metrics on http://{addr}/metrics");
        }
        let demo_user = &self.demo.user;
        let mode = self.mode;
        if let Some(emulator) = &self.upstream.emulator {
            // Beyond loopback the emulator's phone page and control API want its token: the
            // URL printed here carries it (the page keeps it in a cookie); the app's own
            // footer links the page without it, as every visitor sees that link.
            let phone_url = match emulator.control_token() {
                Some(token) => format!(
                    "{}?token={}",
                    emulator.phone_url(),
                    percent_encoding::utf8_percent_encode(
                        token.expose(),
                        percent_encoding::NON_ALPHANUMERIC
                    )
                ),
                None => emulator.phone_url(),
            };
            println!(
                "iampass emulator on {} (phone: {phone_url})",
                emulator.base_url()
            );
            match mode {
                LoginMode::Password => {
                    match &self.random_password {
                        Some(password) => println!("demo password: {password}"),
                        None => {
                            println!("demo user: {demo_user} (password from IAMPASS_DEMO_PASSWORD)")
                        }
                    }
                    println!(
                        "Open {app_url} and sign in as `{demo_user}` with that password, then \
                         approve the request on the phone page ({phone_url}); or create your \
                         own account at {app_url}/register."
                    );
                }
                LoginMode::Passwordless => println!(
                    "Open {app_url} and sign in as `{demo_user}`, then approve the request on \
                     the phone page ({phone_url}); or create your own account at \
                     {app_url}/register."
                ),
            }
        } else {
            if mode == LoginMode::Password && self.demo.password_from_env.is_some() {
                println!("demo user: {demo_user} (password from IAMPASS_DEMO_PASSWORD)");
            }
            println!(
                "Open {app_url}, create an account at {app_url}/register or sign in with a \
                 user whose phone is registered with application {}.",
                self.upstream.application_id
            );
        }
    }
}

/// `IAMPASS_SERVER` is set: use it, with the application named in the environment.
fn external_upstream(server: String) -> Result<Upstream, BoxError> {
    let application_id = env("IAMPASS_APPLICATION_ID")
        .ok_or("IAMPASS_SERVER is set, so IAMPASS_APPLICATION_ID must be too")?;
    let application_secret = env("IAMPASS_APPLICATION_SECRET")
        .ok_or("IAMPASS_SERVER is set, so IAMPASS_APPLICATION_SECRET must be too")?;
    Ok(Upstream {
        server,
        application_id,
        application_secret,
        emulator: None,
    })
}

/// No `IAMPASS_SERVER`: an emulator in this process, a fresh application, and the demo
/// user's phone.
async fn embedded_upstream(demo_user: &str) -> Result<Upstream, BoxError> {
    let bind = env("IAMPASS_EMULATOR_BIND").unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let application_id = format!("acme-notes-{:08x}", rand::random::<u32>());
    let application_secret: String = rand::random::<[u8; 24]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let emulator = Emulator::builder()
        .application(application_id.as_str(), application_secret.as_str())
        .bind(&bind)
        .start()
        .await
        .map_err(|e| format!("cannot start the IAMPASS emulator on {bind}: {e}"))?;
    emulator.register_device(&application_id, demo_user).await?;
    Ok(Upstream {
        server: emulator.base_url().to_owned(),
        application_id,
        application_secret,
        emulator: Some(emulator),
    })
}

/// Waits until the app answers HTTP, so that the lines printed next are true.
pub async fn wait_until_serving(addr: SocketAddr) -> Result<(), BoxError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let url = format!("http://{addr}/favicon.svg");
    let mut last_error = None;
    for _ in 0..100 {
        match client.get(&url).send().await {
            Ok(_) => return Ok(()),
            Err(error) => last_error = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!(
        "the app does not answer on {addr}: {}",
        last_error.map_or_else(String::new, |e| e.to_string())
    )
    .into())
}

/// `IAMPASS_REVALIDATE_AFTER_SECS`: unset or `0` asks IAMPASS on every request (the
/// default); `N` at most every N seconds per session.
fn revalidate_from_env() -> Result<Revalidate, BoxError> {
    let Some(value) = env("IAMPASS_REVALIDATE_AFTER_SECS") else {
        return Ok(Revalidate::EveryRequest);
    };
    match value.trim().parse::<u64>() {
        Ok(0) => Ok(Revalidate::EveryRequest),
        Ok(secs) => Ok(Revalidate::After(Duration::from_secs(secs))),
        Err(_) => Err(format!(
            "IAMPASS_REVALIDATE_AFTER_SECS must be a whole number of seconds (0 = every \
             request), not {value:?}"
        )
        .into()),
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `warn`); `RUST_LOG=iampass=debug` shows
/// every sign-in step. Coloured only on a terminal: a log file or a pipe gets plain text.
fn init_log() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// A non-empty environment variable.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

//! Acme Notes: a small web app whose users sign in with IAMPASS.
//!
//! ```text
//! cargo run --example login_page --features emulator
//! ```
//!
//! With no configuration it starts an IAMPASS emulator in the same process, creates an
//! application on it and a user `demo` whose phone is already registered, with a random
//! password printed at start: open the app, sign in as `demo` with that password, and approve
//! the request on the emulator's phone page. (When the emulator listens beyond loopback, its
//! control API wants a token: the phone URL printed carries it as `?token=…`.)
//!
//! Two modes (`LOGIN_MODE`):
//!
//! - `password` (the default): IAMPASS as the **second factor**. `POST /signin` checks the
//!   password (Argon2id, kept in memory), then starts the phone approval with
//!   `Iampass::start_login`; the crate's public `POST /auth/login` is off
//!   (`public_login(false)`), so nobody can make a phone ring without the password.
//! - `passwordless`: the phone alone, through the crate's public user-name sign-in on
//!   `POST /auth/login` (its ready-made page at `GET /auth/login`).
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `BIND` | address the app listens on (`127.0.0.1:0` picks a free port) | `127.0.0.1:8080` |
//! | `IAMPASS_SERVER` | a real IAMPASS (or an external emulator); no embedded emulator then | unset |
//! | `IAMPASS_APPLICATION_ID`, `IAMPASS_APPLICATION_SECRET` | the application, with `IAMPASS_SERVER` | — |
//! | `IAMPASS_EMULATOR_BIND` | address of the embedded emulator | `127.0.0.1:0` |
//! | `IAMPASS_COOKIE_KEY` | base64 key (≥ 64 bytes) sealing the session cookie | random per run |
//! | `IAMPASS_COOKIE_OLD_KEYS` | comma-separated base64 keys that still open cookies (rotation) | none |
//! | `LOGIN_MODE` | `password` or `passwordless` | `password` |
//! | `IAMPASS_REDIS_URL` | shared state in Redis (build with `--features emulator,redis`) | in memory |
//! | `IAMPASS_REVALIDATE_AFTER_SECS` | ask IAMPASS at most every N s per session (`0`: every request) | every request |
//! | `IAMPASS_DEMO_USER` | the seeded user (given a phone on the embedded emulator; must exist at an external IAMPASS) | `demo` |
//! | `IAMPASS_DEMO_PASSWORD` | its password in password mode (8 characters to 256 bytes; never printed), so several instances share it; also seeded with `IAMPASS_SERVER` | random, printed (embedded emulator only) |
//! | `IAMPASS_STEP_UP_SECS` | how recent a phone approval must be to show `/settings/api-key` | `300` |
//! | `IAMPASS_STEP_UP_METHODS` | comma-separated methods that approval must have asked for (`acceptance`, `device`, `facial`) | `facial` |
//! | `METRICS_BIND` | serve the crate's metrics as Prometheus text at `http://METRICS_BIND/metrics`, on an address of its own (build with `--features emulator,metrics`) | no metrics |
//! | `RUST_LOG` | log filter, e.g. `iampass=debug`; colours only when stderr is a terminal | `warn` |
//!
//! Routes: `GET /` (public), `GET /dashboard` (signed-in users only), `GET|POST /register`
//! (sign-up: adds the user at IAMPASS, sets the password in password mode, and shows the phone
//! registration link as a QR code), `GET|POST /signin` (password mode's first factor),
//! `GET /locked` (where the dashboard sends you while your phone is away),
//! `GET /settings/api-key` (a sensitive page: a fresh phone approval first, through the
//! crate's step-up page `/auth/step-up`), and the crate's sign-in routes under `/auth`.
//!
//! Password guessing is limited before any hashing, per user name and per client address
//! (`Iampass::limit_first_factor`: by default 10 a minute per user, 30 per address; `429` with
//! `Retry-After`), and at most one password is hashed per CPU at a time (`503` with
//! `Retry-After: 1` at once when all are busy). Sign-ups are limited to 5 a minute per address
//! (`429`). These limits live in the store, so instances sharing Redis share them; passwords
//! are kept in each instance's memory (give instances the same `IAMPASS_DEMO_PASSWORD`).

#[path = "login_page/api_key.rs"]
mod api_key;
#[path = "login_page/metrics.rs"]
mod metrics;
#[path = "login_page/pages.rs"]
mod pages;
#[path = "login_page/passwords.rs"]
mod passwords;
#[path = "login_page/signin.rs"]
mod signin;

use std::error::Error;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use iampass::actix::{ColorScheme, Iampass, Revalidate};
use iampass::core::store::Store;
use iampass::emulator::{Emulator, RunningEmulator};
use iampass::{ManagementApi, user_name};

use pages::LoginMode;
use passwords::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, Passwords};

type BoxError = Box<dyn Error + Send + Sync>;

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

#[actix_web::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("login_page: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), BoxError> {
    init_log();
    let bind = env("BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    // Every setting is read before anything starts, so a bad one is one clear error.
    let mode = LoginMode::parse(env("LOGIN_MODE").as_deref())?;
    let revalidate = revalidate_from_env()?;
    let demo = Demo::from_env()?;
    let step_up = api_key::StepUp::from_env()?;
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
    // The example serves plain HTTP on loopback, where browsers would drop a `Secure` cookie.
    // Anything reachable from another machine must be served over HTTPS and keep the default.
    .cookie_secure(false)
    // A browser whose phone walked away gets a "locked" page rather than the login form.
    .unauthenticated_responder(pages::unauthenticated)
    .revalidate(revalidate)
    .store(store)
    // The crate's pages (the phone wait page, and the login page in passwordless mode) in
    // the example's colours: its name, a link home, its indigo and font, and no dark mode
    // (the example has none).
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
    let builder = match mode {
        // Only the app's own /signin, after the password, starts a phone approval; visitors
        // without a session are sent there.
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
            // A fresh key per run: restarting the app signs everyone out, which is fine for a
            // demo. A real deployment sets IAMPASS_COOKIE_KEY (64 random bytes, base64) and
            // rotates it through IAMPASS_COOKIE_OLD_KEYS.
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
    let state = web::Data::new(pages::AppState {
        management,
        phone_url: upstream.emulator.as_ref().map(RunningEmulator::phone_url),
        names: pages::UserNames::with([demo.user.as_str()]),
        mode,
        passwords,
    });
    let iampass_data = web::Data::new(iampass.clone());
    // The crate's sign-in handlers under the default prefix `/auth`: GET/POST /auth/login,
    // GET /auth/poll, POST /auth/logout; /auth/login is where `RequireIampass` sends
    // anonymous visitors.
    let auth_routes = iampass.routes();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(iampass_data.clone())
            // Validates the session with IAMPASS whenever a handler asks who the user is
            // (the default: on every such request), so walking away locks the app at once.
            .wrap(iampass.middleware())
            .configure(auth_routes.clone())
            .configure(pages::routes)
            // A sensitive page: a recent phone approval (a step-up) first.
            .service(api_key::scope(&iampass, &step_up))
            .configure(move |cfg| {
                if mode == LoginMode::Password {
                    signin::routes(cfg);
                }
            })
    })
    .workers(2)
    .bind(&bind)
    .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let addr = *server
        .addrs()
        .first()
        .ok_or_else(|| format!("no address to listen on for {bind}"))?;
    let server = server.run();
    let handle = server.handle();
    let running = actix_web::rt::spawn(server);
    wait_until_serving(addr).await?;

    let app_url = format!("http://{addr}");
    println!("login_page listening on {app_url}");
    if let Some(addr) = metrics_bind {
        println!("metrics on http://{addr}/metrics");
    }
    let demo_user = &demo.user;
    if let Some(emulator) = &upstream.emulator {
        // Beyond loopback the emulator's phone page and control API want its token: the URL
        // printed here carries it (the page keeps it in a cookie); the app's own footer links
        // the page without it, as every visitor sees that link.
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
                match &random_password {
                    Some(password) => println!("demo password: {password}"),
                    None => {
                        println!("demo user: {demo_user} (password from IAMPASS_DEMO_PASSWORD)")
                    }
                }
                println!(
                    "Open {app_url} and sign in as `{demo_user}` with that password, then approve \
                     the request on the phone page ({phone_url}); or create your own account at \
                     {app_url}/register."
                );
            }
            LoginMode::Passwordless => println!(
                "Open {app_url} and sign in as `{demo_user}`, then approve the request on the \
                 phone page ({phone_url}); or create your own account at {app_url}/register."
            ),
        }
    } else {
        if mode == LoginMode::Password && demo.password_from_env.is_some() {
            println!("demo user: {demo_user} (password from IAMPASS_DEMO_PASSWORD)");
        }
        println!(
            "Open {app_url}, create an account at {app_url}/register or sign in with a user \
             whose phone is registered with application {}.",
            upstream.application_id
        );
    }

    let result = running.await;
    handle.stop(true).await;
    drop(upstream);
    result??;
    Ok(())
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
async fn wait_until_serving(addr: SocketAddr) -> Result<(), BoxError> {
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
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
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
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

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
//!
//! The app itself (settings, pages, passwords, sign-up, sign-in) is framework-free, in
//! `examples/login_page/`, shared with the `axum_login_page` example; this file is its
//! actix-web glue.

#[path = "login_page/answer.rs"]
mod answer;
#[path = "login_page/api_key.rs"]
mod api_key;
#[path = "login_page/metrics.rs"]
mod metrics;
#[path = "login_page/pages.rs"]
mod pages;
#[path = "login_page/passwords.rs"]
mod passwords;
#[path = "login_page/register.rs"]
mod register;
#[path = "login_page/setup.rs"]
mod setup;
#[path = "login_page/signin.rs"]
mod signin;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use iampass::actix::{IampassIdentity, RecentApproval, RequireIampass};

use answer::Answer;
use pages::{AppState, LoginMode};
use setup::{BoxError, Setup};

#[actix_web::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("login_page: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), BoxError> {
    let setup = Setup::from_env(|builder| {
        // A browser whose phone walked away gets a "locked" page rather than the login form.
        builder.unauthenticated_responder(|request, denial| {
            pages::unauthenticated(request, denial)
                .map_or_else(|| denial.default_response(request), respond)
        })
    })
    .await?;
    let iampass = setup.iampass().clone();
    let mode = setup.mode;
    let state = web::Data::from(setup.state.clone());
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
            .configure(routes)
            // A sensitive page: a recent phone approval (a step-up) first.
            .service(
                web::scope("/settings")
                    .wrap(
                        iampass
                            .require_recent(state.step_up.window)
                            .methods(state.step_up.methods.iter().copied()),
                    )
                    .route("/api-key", web::get().to(api_key)),
            )
            .configure(move |cfg| {
                if mode == LoginMode::Password {
                    signin_routes(cfg);
                }
            })
    })
    .workers(2)
    .bind(&setup.bind)
    .map_err(|e| format!("cannot listen on {}: {e}", setup.bind))?;
    let addr = *server
        .addrs()
        .first()
        .ok_or_else(|| format!("no address to listen on for {}", setup.bind))?;
    let server = server.run();
    let handle = server.handle();
    let running = actix_web::rt::spawn(server);
    setup::wait_until_serving(addr).await?;
    setup.announce("login_page", addr);

    let result = running.await;
    handle.stop(true).await;
    drop(setup);
    result??;
    Ok(())
}

/// The example's routes; the crate's `/auth` routes are configured next to them.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/dashboard", web::get().to(dashboard))
        .route("/locked", web::get().to(locked))
        .route("/register", web::get().to(register_form))
        .route("/register", web::post().to(register_submit))
        .route("/static/app.css", web::get().to(stylesheet))
        .route("/favicon.svg", web::get().to(favicon))
        .route("/favicon.ico", web::get().to(favicon));
}

/// The routes of password mode.
fn signin_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/signin", web::get().to(signin_form))
        .route("/signin", web::post().to(signin_submit));
}

async fn home(who: Option<IampassIdentity>, state: web::Data<AppState>) -> HttpResponse {
    respond(pages::home(&state, who))
}

async fn dashboard(who: RequireIampass, state: web::Data<AppState>) -> HttpResponse {
    respond(pages::dashboard(&state, &who))
}

async fn api_key(who: RecentApproval, state: web::Data<AppState>) -> HttpResponse {
    respond(api_key::page(&state, &who))
}

async fn locked(
    request: HttpRequest,
    who: Option<IampassIdentity>,
    state: web::Data<AppState>,
) -> HttpResponse {
    respond(pages::locked(&state, &request, who))
}

async fn register_form(who: Option<IampassIdentity>, state: web::Data<AppState>) -> HttpResponse {
    respond(register::form(&state, who))
}

async fn register_submit(
    request: HttpRequest,
    body: web::Bytes,
    who: Option<IampassIdentity>,
    state: web::Data<AppState>,
) -> HttpResponse {
    respond(register::submit(&state, &request, &body, who).await)
}

async fn signin_form(
    request: HttpRequest,
    who: Option<IampassIdentity>,
    state: web::Data<AppState>,
) -> HttpResponse {
    respond(signin::form(&state, &request, who))
}

async fn signin_submit(
    request: HttpRequest,
    body: web::Bytes,
    who: Option<IampassIdentity>,
    state: web::Data<AppState>,
) -> HttpResponse {
    respond(signin::submit(&state, &request, &body, who).await)
}

async fn stylesheet() -> HttpResponse {
    respond(pages::stylesheet())
}

async fn favicon() -> HttpResponse {
    respond(pages::favicon())
}

/// The shared handlers' answer as actix's response (the crate's own answers through its
/// actix adapter).
fn respond(answer: Answer) -> HttpResponse {
    match answer {
        Answer::Started(started) => (*started).into_http_response(),
        Answer::Own(response) => {
            let (head, body) = response.into_parts();
            let status = StatusCode::from_u16(head.status.as_u16())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut builder = HttpResponse::build(status);
            for (name, value) in &head.headers {
                if let Ok(value) = value.to_str() {
                    builder.insert_header((name.as_str(), value));
                }
            }
            builder.body(body)
        }
    }
}

//! Acme Notes on axum: the `login_page` example (see its documentation for the whole story)
//! with the same routes, pages, environment variables and printed lines, served by axum
//! through the crate's axum adapter.
//!
//! ```text
//! cargo run --example axum_login_page --features axum,emulator
//! ```
//!
//! The app itself (settings, pages, passwords, sign-up, sign-in) is framework-free, in
//! `examples/login_page/`, shared with the actix-web example; this file is its axum glue:
//! the routes, the extractors, [`IampassLayer`] and the server. The variables are those of
//! `login_page` (`BIND`, `LOGIN_MODE`, `IAMPASS_SERVER`, `IAMPASS_EMULATOR_BIND`,
//! `IAMPASS_COOKIE_KEY`, `IAMPASS_REDIS_URL`, `IAMPASS_REVALIDATE_AFTER_SECS`, …), and it
//! prints `axum_login_page listening on http://…` once it serves.

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

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::request::Parts;
use iampass::axum::{
    IampassIdentity, IampassLayer, RecentApproval, RequireIampass, RequireRecentLayer,
};

use answer::Answer;
use pages::{AppState, LoginMode};
use setup::{BoxError, Setup};

/// The largest form body read (actix-web's default, so both examples refuse the same).
const BODY_LIMIT: usize = 256 * 1024;

type AppData = State<Arc<AppState>>;

#[tokio::main(worker_threads = 2)]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("axum_login_page: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), BoxError> {
    let setup = Setup::from_env(|builder| {
        // A browser whose phone walked away gets a "locked" page rather than the login form.
        builder.axum_unauthenticated_responder(|parts, denial| {
            pages::unauthenticated(parts, denial)
                .map_or_else(|| denial.default_reply(parts).into_response(), respond)
        })
    })
    .await?;
    let iampass = setup.iampass().clone();
    let mut app = Router::new()
        .route("/", get(home))
        .route("/dashboard", get(dashboard))
        .route("/locked", get(locked))
        // A sensitive page: a recent phone approval (a step-up) first.
        .route(
            "/settings/api-key",
            get(api_key).layer(
                RequireRecentLayer::new(&iampass, setup.state.step_up.window)
                    .methods(setup.state.step_up.methods.iter().copied()),
            ),
        )
        .route("/register", get(register_form).post(register_submit))
        .route("/static/app.css", get(stylesheet))
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon));
    if setup.mode == LoginMode::Password {
        app = app.route("/signin", get(signin_form).post(signin_submit));
    }
    let app = app
        // The crate's sign-in handlers under the default prefix `/auth`: GET/POST
        // /auth/login, GET /auth/poll, POST /auth/logout; /auth/login is where
        // `RequireIampass` sends anonymous visitors.
        .merge(iampass::axum::routes(&iampass))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Validates the session with IAMPASS whenever a handler asks who the user is (the
        // default: on every such request), so walking away locks the app at once.
        .layer(IampassLayer::new(&iampass))
        .with_state(setup.state.clone());
    let listener = tokio::net::TcpListener::bind(&setup.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", setup.bind))?;
    let addr = listener.local_addr()?;
    // The client's address (the per-address limits) comes from `ConnectInfo`.
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown());
    let running = tokio::spawn(async move { server.await });
    setup::wait_until_serving(addr).await?;
    setup.announce("axum_login_page", addr);

    let result = running.await;
    drop(setup);
    result??;
    Ok(())
}

/// Ctrl-C, or `SIGTERM` on Unix: stop taking connections and finish the requests under way.
async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

async fn home(State(state): AppData, who: Option<IampassIdentity>) -> Response {
    respond(pages::home(&state, who))
}

async fn dashboard(State(state): AppData, who: RequireIampass) -> Response {
    respond(pages::dashboard(&state, &who))
}

async fn api_key(State(state): AppData, who: RecentApproval) -> Response {
    respond(api_key::page(&state, &who))
}

async fn locked(State(state): AppData, who: Option<IampassIdentity>, request: Parts) -> Response {
    respond(pages::locked(&state, &request, who))
}

async fn register_form(State(state): AppData, who: Option<IampassIdentity>) -> Response {
    respond(register::form(&state, who))
}

async fn register_submit(
    State(state): AppData,
    who: Option<IampassIdentity>,
    request: Parts,
    body: Bytes,
) -> Response {
    respond(register::submit(&state, &request, &body, who).await)
}

async fn signin_form(
    State(state): AppData,
    who: Option<IampassIdentity>,
    request: Parts,
) -> Response {
    respond(signin::form(&state, &request, who))
}

async fn signin_submit(
    State(state): AppData,
    who: Option<IampassIdentity>,
    request: Parts,
    body: Bytes,
) -> Response {
    respond(signin::submit(&state, &request, &body, who).await)
}

async fn stylesheet() -> Response {
    respond(pages::stylesheet())
}

async fn favicon() -> Response {
    respond(pages::favicon())
}

/// The shared handlers' answer as axum's response (the crate's own answers through its axum
/// adapter).
fn respond(answer: Answer) -> Response {
    match answer {
        Answer::Started(started) => (*started).into_response(),
        Answer::Own(response) => response.into_response(),
    }
}

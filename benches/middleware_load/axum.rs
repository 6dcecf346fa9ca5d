//! The axum section of the middleware benchmark, measured in the same rounds as the actix one:
//! real axum servers on loopback (each on its own tokio runtime with `workers` threads, so
//! their CPU time is their own) answering the same handler body:
//!
//! - a bare axum route, no middleware;
//! - `tower-sessions` (in-memory store, the cookie holds the session id) + `axum-login`,
//!   `AuthSession` extractor (the usual axum session stack);
//! - ours, `IampassLayer` + `RequireIampass`, `Revalidate::After(5 s)` and every request.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
use iampass::axum::{IampassLayer, RequireIampass};
use iampass::core::{Iampass, IampassBuilder, Revalidate};
use tower_sessions::{MemoryStore, SessionManagerLayer};

use super::{Scenario, Server, Stop, body, load};

/// The axum servers and the cookies of their signed-in users.
pub struct AxumSection {
    bare: Server,
    peer: Server,
    cached: Server,
    every: Server,
    peer_cookies: Vec<String>,
    cached_cookies: Vec<String>,
    every_cookies: Vec<String>,
}

impl AxumSection {
    /// Starts the section's servers and signs `sessions` users in on each (their phones
    /// approve at once: see `load::approving_phone`).
    pub async fn start(
        builder: impl Fn() -> IampassBuilder,
        users: &[String],
        workers: usize,
    ) -> AxumSection {
        let bare = serve(
            workers,
            Router::new().route("/hello", get(|| async { body("user") })),
        )
        .await;
        let peer = serve(workers, peer_app()).await;
        let cached = serve(
            workers,
            ours(
                builder()
                    .revalidate(Revalidate::After(Duration::from_secs(5)))
                    .build()
                    .expect("config"),
            ),
        )
        .await;
        let every = serve(workers, ours(builder().build().expect("config"))).await;
        let http = reqwest::Client::new();
        let mut section = AxumSection {
            bare,
            peer,
            cached,
            every,
            peer_cookies: Vec::new(),
            cached_cookies: Vec::new(),
            every_cookies: Vec::new(),
        };
        for user in users {
            let done = http
                .post(format!("{}/login/{user}", section.peer.url))
                .send()
                .await
                .expect("axum-login login");
            assert!(done.status().is_success(), "axum-login login of {user}");
            let cookie = load::cookie_of(&done, "id").expect("tower-sessions cookie");
            section.peer_cookies.push(cookie);
            let cached = load::sign_in(&http, &section.cached.url, "iampass", user).await;
            section.cached_cookies.push(cached);
            let every = load::sign_in(&http, &section.every.url, "iampass", user).await;
            section.every_cookies.push(every);
        }
        section
    }

    /// Its rows, in the order printed.
    pub fn scenarios(&self) -> Vec<Scenario<'_>> {
        vec![
            (
                "axum: bare route, no middleware",
                format!("{}/hello", self.bare.url),
                &[][..],
                &self.bare,
            ),
            (
                "axum: tower-sessions + axum-login",
                format!("{}/protected", self.peer.url),
                &self.peer_cookies[..],
                &self.peer,
            ),
            (
                "axum: ours, RequireIampass, revalidate_after(5 s)",
                format!("{}/protected", self.cached.url),
                &self.cached_cookies[..],
                &self.cached,
            ),
            (
                "axum: ours, RequireIampass, every request",
                format!("{}/protected", self.every.url),
                &self.every_cookies[..],
                &self.every,
            ),
        ]
    }

    /// Stops its servers.
    pub async fn stop(self) {
        for server in [self.bare, self.peer, self.cached, self.every] {
            server.stop().await;
        }
    }
}

/// Ours: the layer, the crate's routes (to sign in) and a protected route.
fn ours(iampass: Iampass) -> Router {
    Router::new()
        .route(
            "/protected",
            get(|who: RequireIampass| async move { body(who.user()) }),
        )
        .merge(iampass::axum::routes(&iampass))
        .layer(IampassLayer::new(&iampass))
}

/// A signed-up user of the peer stack.
#[derive(Debug, Clone)]
struct User {
    name: String,
}

impl AuthUser for User {
    type Id = String;

    fn id(&self) -> String {
        self.name.clone()
    }

    fn session_auth_hash(&self) -> &[u8] {
        // What axum-login compares on every request (usually the password hash).
        self.name.as_bytes()
    }
}

/// Every user exists (the bench measures the session stack, not a user database).
#[derive(Debug, Clone)]
struct Backend;

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = String;
    type Error = Infallible;

    async fn authenticate(&self, name: String) -> Result<Option<User>, Infallible> {
        Ok(Some(User { name }))
    }

    async fn get_user(&self, name: &UserId<Self>) -> Result<Option<User>, Infallible> {
        Ok(Some(User { name: name.clone() }))
    }
}

/// tower-sessions (in memory) + axum-login: `POST /login/{user}`, `GET /protected`.
fn peer_app() -> Router {
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    let auth = AuthManagerLayerBuilder::new(Backend, sessions).build();
    Router::new()
        .route(
            "/login/{user}",
            post(
                |mut session: AuthSession<Backend>, Path(user): Path<String>| async move {
                    session.login(&User { name: user }).await.expect("login");
                    StatusCode::OK
                },
            ),
        )
        .route(
            "/protected",
            get(|session: AuthSession<Backend>| async move {
                match session.user {
                    Some(user) => body(&user.name).into_response(),
                    None => StatusCode::UNAUTHORIZED.into_response(),
                }
            }),
        )
        .layer(auth)
}

/// Serves `app` on a loopback port from its own runtime (`workers` threads named
/// `axum-app`), noting which threads are its own.
async fn serve(workers: usize, app: Router) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let before = load::thread_ids();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .thread_name("axum-app")
        .enable_all()
        .build()
        .expect("runtime");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            // Served by the runtime's workers, not by this thread.
            tokio::spawn(async move { server.await.expect("serve") })
                .await
                .expect("server task");
        });
    });
    let threads = load::new_threads(&before, "axum-app", workers.max(1)).await;
    Server {
        url,
        stop: Stop::Axum(stop),
        threads,
    }
}

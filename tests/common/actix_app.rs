//! A real actix `HttpServer` on loopback wrapped by the IAMPASS middleware (against the
//! emulator of `super::emulator`), and a cookie-carrying HTTP client. Used by the `actix` and
//! `store` suites.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpResponse, HttpServer, web};
use iampass::AuthenticationApi;
use iampass::actix::{
    CookieState, Iampass, IampassBuilder, IampassIdentity, RecentApproval, RequireIampass,
    SessionCookie,
};
use iampass::core::store::Rate;
use iampass::emulator::{RunningEmulator, SessionAction};
use iampass::{Session, Status};
use serde_json::{Value, json};

use super::emulator::{APP, SECRET, phone_approving_at_once};
use super::emulator_control::session_action;

pub const KEY: [u8; 64] = [11; 64];
pub const KEY2: [u8; 64] = [22; 64];

/// An IAMPASS client for the test application at `server`, with a per-call `timeout`.
pub fn client_for(server: &str, timeout: Duration) -> AuthenticationApi {
    AuthenticationApi::builder(APP, SECRET)
        .server(server)
        .timeout(timeout)
        .build()
        .expect("client")
}

/// The usual builder for tests: the emulator (2 s per call), key 1, plain HTTP, generous
/// rate limits.
pub fn builder(emulator: &RunningEmulator) -> IampassBuilder {
    Iampass::builder(APP, SECRET)
        .client(client_for(emulator.base_url(), Duration::from_secs(2)))
        .cookie_key(&KEY)
        .cookie_secure(false)
        .rate_limit_per_user(Rate::per_minute(1000))
        .rate_limit_per_address(Rate::per_minute(1000))
}

/// A running app: `/` (optional identity), `/dashboard` (RequireIampass), `/recent`
/// (RecentApproval), `/admin` (scope guard), `/public`, and the login routes under `/auth`.
pub struct TestApp {
    pub url: String,
    pub iampass: Iampass,
    handle: ServerHandle,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop in the background; the test's runtime may be ending.
        drop(tokio::spawn(async move { handle.stop(false).await }));
    }
}

async fn home(who: Option<IampassIdentity>) -> HttpResponse {
    HttpResponse::Ok().json(match who {
        Some(who) => json!({
            "user": who.user(),
            "iampass_user_id": who.iampass_user_id(),
            "issued_at": who.issued_at().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
        }),
        None => json!({"user": null}),
    })
}

async fn presence(presence: iampass::actix::Presence) -> String {
    use iampass::actix::Presence;
    match presence {
        Presence::SignedIn(who) => format!("signed in as {}", who.user()),
        Presence::Away => "away".into(),
        Presence::Unavailable => "unavailable".into(),
        _ => "anonymous".into(),
    }
}

async fn dashboard(who: RequireIampass) -> String {
    format!("hi {}", who.user())
}

/// A route that needs a recent approval (the builder's step-up window and methods).
async fn recent(who: RecentApproval) -> String {
    format!("recent {}", who.user())
}

pub fn start_app(iampass: Iampass) -> TestApp {
    serve(iampass, 2, |iampass| {
        App::new()
            .wrap(iampass.middleware())
            .configure(iampass.routes())
            .route("/", web::get().to(home))
            .route("/dashboard", web::get().to(dashboard))
            .route("/recent", web::get().to(recent))
            .route("/public", web::get().to(|| async { "public" }))
            .route("/presence", web::get().to(presence))
            .service(
                web::scope("/admin")
                    .wrap(iampass.require())
                    .route("", web::get().to(|| async { "admin" }))
                    .route("/{rest:.*}", web::get().to(|| async { "admin" })),
            )
    })
}

/// The same routes, without the middleware (a misconfigured app).
pub fn start_app_without_middleware(iampass: Iampass) -> TestApp {
    serve(iampass, 1, |iampass| {
        App::new()
            .route("/", web::get().to(home))
            .route("/dashboard", web::get().to(dashboard))
            .service(
                web::scope("/admin")
                    .wrap(iampass.require())
                    .route("", web::get().to(|| async { "admin" })),
            )
    })
}

/// Serves `app` (built for each of `workers` worker threads) on a free loopback port, in the
/// background.
pub fn serve<T, B>(iampass: Iampass, workers: usize, app: fn(&Iampass) -> App<T>) -> TestApp
where
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app_iampass = iampass.clone();
    let server = HttpServer::new(move || app(&app_iampass))
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .unwrap()
        .run();
    let handle = server.handle();
    tokio::spawn(server);
    TestApp {
        url,
        iampass,
        handle,
    }
}

/// One HTTP answer, body read.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
    pub elapsed: Duration,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {:?}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` headers for `name`.
    pub fn set_cookies(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
            .collect()
    }
}

/// A browser-like client for one app: no automatic redirects, one cookie carried by hand.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pub base: String,
    pub cookie_name: String,
    pub cookie: Option<String>,
    /// The crate's other cookies (named after the session cookie, e.g. `iampass-step-up`),
    /// carried like a browser would.
    pub others: std::collections::BTreeMap<String, String>,
    /// Extra headers on every request.
    pub extra: Vec<(String, String)>,
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

impl Client {
    pub fn new(app: &TestApp) -> Self {
        Client::at(&app.url, &app.iampass)
    }

    /// A client of the app at `base` (any framework) serving `iampass`'s deployment.
    pub fn at(base: &str, iampass: &Iampass) -> Self {
        Client {
            http: http(),
            base: base.to_owned(),
            cookie_name: iampass.cookie_name().to_owned(),
            cookie: None,
            others: Default::default(),
            extra: Vec::new(),
        }
    }

    /// The same cookie, against another app.
    pub fn to(&self, app: &TestApp) -> Self {
        let mut c = Client::new(app);
        c.cookie = self.cookie.clone();
        c.others = self.others.clone();
        c
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let mut request = request;
        let mut pairs: Vec<String> = self
            .cookie
            .iter()
            .map(|cookie| format!("{}={}", self.cookie_name, cookie))
            .collect();
        pairs.extend(self.others.iter().map(|(k, v)| format!("{k}={v}")));
        if !pairs.is_empty() {
            request = request.header("cookie", pairs.join("; "));
        }
        for (k, v) in &self.extra {
            request = request.header(k.as_str(), v.as_str());
        }
        let started = Instant::now();
        let response = request.send().await.expect("the app answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        let answer = Answer {
            status,
            headers,
            body,
            elapsed: started.elapsed(),
        };
        assert!(
            answer.status < 500 || answer.status == 503,
            "unexpected server error {}: {}",
            answer.status,
            answer.body
        );
        for set in answer.set_cookies(&self.cookie_name) {
            let value = set
                .split(';')
                .next()
                .unwrap()
                .split_once('=')
                .unwrap()
                .1
                .to_owned();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookie = None;
            } else {
                self.cookie = Some(value);
            }
        }
        let prefix = format!("{}-", self.cookie_name);
        for set in answer.headers.get_all("set-cookie").iter() {
            let Ok(set) = set.to_str() else { continue };
            let Some((name, rest)) = set.split_once('=') else {
                continue;
            };
            if !name.starts_with(&prefix) {
                continue;
            }
            let value = rest.split(';').next().unwrap_or_default().to_owned();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.others.remove(name);
            } else {
                self.others.insert(name.to_owned(), value);
            }
        }
        answer
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("accept", "application/json");
        self.send(r).await
    }

    pub async fn get_html(&mut self, path: &str) -> Answer {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        self.send(r).await
    }

    pub async fn post_json(&mut self, path: &str, body: Value) -> Answer {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("accept", "application/json")
            .json(&body);
        self.send(r).await
    }

    pub async fn post_raw(&mut self, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("accept", "application/json")
            .header("content-type", content_type)
            .body(body);
        self.send(r).await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("accept", "text/html")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(r).await
    }

    /// Posts a login for `user` (JSON), whatever the answer.
    pub async fn post_login(&mut self, user: &str) -> Answer {
        self.post_json("/auth/login", json!({"user": user})).await
    }

    /// Starts a login for `user` (JSON) and answers the 202.
    pub async fn start_login(&mut self, user: &str, next: Option<&str>) -> Answer {
        let mut body = json!({"user": user});
        if let Some(next) = next {
            body["next"] = json!(next);
        }
        let answer = self.post_json("/auth/login", body).await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        assert_eq!(answer.json()["status"], "pending");
        answer
    }

    /// Polls until the login leaves `pending`/`identifying` (bounded), answers the last poll.
    pub async fn poll_until_done(&mut self) -> Answer {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = self.get("/auth/poll?wait=5").await;
            let status = answer.json()["status"].as_str().unwrap_or("").to_owned();
            if !matches!(status.as_str(), "pending" | "identifying") || Instant::now() > deadline {
                return answer;
            }
        }
    }
}

/// Registers a phone for `user` that approves at once, and signs the client in.
pub async fn sign_in(emulator: &RunningEmulator, client: &mut Client, user: &str) -> Answer {
    phone_approving_at_once(emulator, user).await;
    client.start_login(user, Some("/dashboard")).await;
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["status"], "active", "{}", done.body);
    assert!(client.cookie.is_some());
    done
}

/// The newest emulator session of `user`, waiting (bounded) for `status`.
pub async fn session_of(emulator: &RunningEmulator, user: &str, status: Status) -> String {
    emulator
        .wait_for_session(APP, user, status, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("no {status} session for {user}: {e}"))
        .session_token
}

/// The phone does `action` to the pending login of `user` once it is there (bounded wait);
/// answers its session token.
pub async fn act_on_pending(
    emulator: &RunningEmulator,
    user: &str,
    action: SessionAction,
) -> String {
    let token = session_of(emulator, user, Status::Pending).await;
    session_action(emulator, &token, action).await;
    token
}

/// The value of a signed-in cookie for `session` of `user`, sealed by `iampass`.
pub fn signed_in_cookie(iampass: &Iampass, session: Session, user: &str) -> String {
    let payload = SessionCookie::new(
        session,
        user,
        user,
        CookieState::Authenticated,
        Duration::from_secs(600),
        None,
    );
    iampass.seal_cookie(&payload).unwrap().value().to_owned()
}

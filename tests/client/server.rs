//! A small scripted HTTP/1.1 server on loopback: records each request, answers the scripted
//! reply, and counts arrivals and requests in flight so tests can await events and check caps.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iampass::signing::{self, Authentication, SignedRequest};
use iampass::{AuthenticationApi, ManagementApi, Secret, Session, Status};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub const APP: &str = "app-1";
pub const SECRET: &str = "app-secret";

/// A request as the scripted server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub target: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    /// Checks the signature the way a verifier does, with `secret`.
    pub fn assert_signed_with(&self, client_id: &str, secret: &str) {
        let header = &self.headers["authentication"];
        let auth = Authentication::parse(header).expect("Authentication header parses");
        assert_eq!(auth.client_id, client_id);
        assert_eq!(self.headers["x-iamoass-authentication-version"], "1");
        let signed_url = format!("{}{}", self.headers["host"], self.target);
        let request = SignedRequest {
            authentication: auth,
            timestamp: &self.headers["x-iampass-authentication-timestamp"],
            version: Some("1"),
            signed_url: &signed_url,
        };
        signing::verify(
            &request,
            &Secret::new(secret),
            signing::unix_now(),
            signing::DEFAULT_WINDOW,
            |_, _| true,
        )
        .expect("signature verifies");
    }
}

/// What the scripted server answers.
#[derive(Clone)]
pub enum Reply {
    /// A status and a raw body.
    Answer(u16, String),
    /// A status, a raw body and extra headers (e.g. `Retry-After`).
    WithHeaders(u16, String, Vec<(&'static str, String)>),
    /// A status and a raw body, once the test [releases](ScriptedServer::release) a permit.
    Held(u16, String),
    /// Nothing at all: the connection stays open.
    Never,
}

/// A one-route-fits-all HTTP/1.1 server.
pub struct ScriptedServer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    reply: Arc<Mutex<Reply>>,
    arrivals: watch::Receiver<usize>,
    gate: Arc<Semaphore>,
    max_in_flight: Arc<AtomicUsize>,
}

impl ScriptedServer {
    pub async fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let reply = Arc::new(Mutex::new(reply));
        let (arrived, arrivals) = watch::channel(0usize);
        let arrived = Arc::new(arrived);
        let gate = Arc::new(Semaphore::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let (rec, rep, g, max) = (
            received.clone(),
            reply.clone(),
            gate.clone(),
            max_in_flight.clone(),
        );
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (rec, rep, arrived, gate) =
                    (rec.clone(), rep.clone(), arrived.clone(), g.clone());
                let (in_flight, max) = (in_flight.clone(), max.clone());
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or_default().to_owned();
                    let target = parts.next().unwrap_or_default().to_owned();
                    let mut headers = HashMap::new();
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).await.unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        let (k, v) = h.split_once(':').unwrap();
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                    }
                    let len: usize = headers
                        .get("content-length")
                        .map(|v| v.parse().unwrap())
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).await.unwrap();
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    rec.lock().unwrap().push(Received {
                        method,
                        target,
                        headers,
                        body,
                    });
                    arrived.send_modify(|n| *n += 1);
                    let reply = rep.lock().unwrap().clone();
                    let (status, body, extra) = match reply {
                        Reply::Answer(status, body) => (status, body, Vec::new()),
                        Reply::WithHeaders(status, body, extra) => (status, body, extra),
                        Reply::Held(status, body) => {
                            gate.acquire().await.unwrap().forget();
                            (status, body, Vec::new())
                        }
                        Reply::Never => {
                            // Hold the connection open and never answer.
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            return;
                        }
                    };
                    // Out of flight before the client can see the answer and send the next.
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let extra: String =
                        extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
                        body.len()
                    );
                    let _ = write.write_all(response.as_bytes()).await;
                });
            }
        });
        ScriptedServer {
            url,
            received,
            reply,
            arrivals,
            gate,
            max_in_flight,
        }
    }

    pub async fn answering(status: u16, body: Value) -> Self {
        Self::start(Reply::Answer(status, body.to_string())).await
    }

    pub fn set_reply(&self, status: u16, body: Value) {
        self.set(Reply::Answer(status, body.to_string()));
    }

    pub fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn last(&self) -> Received {
        self.requests().pop().expect("a request was received")
    }

    /// Resolves once `n` requests have arrived in total.
    pub async fn arrived(&self, n: usize) {
        let mut arrivals = self.arrivals.clone();
        arrivals.wait_for(|seen| *seen >= n).await.unwrap();
    }

    /// Lets `n` held requests answer.
    pub fn release(&self, n: usize) {
        self.gate.add_permits(n);
    }

    /// The most requests the server held at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn management(&self) -> ManagementApi {
        ManagementApi::builder(APP, SECRET)
            .server(&self.url)
            .build()
            .unwrap()
    }

    pub fn authentication(&self) -> AuthenticationApi {
        AuthenticationApi::builder(APP, SECRET)
            .server(&self.url)
            .build()
            .unwrap()
    }

    /// A started session whose status and logout URLs point here, attached to `api`.
    pub fn session(&self, api: &AuthenticationApi, status: Status) -> Session {
        session_at(&self.url, api, status)
    }
}

/// A session `tok-1` whose status and logout URLs are on the server at `url`, attached to
/// `api`.
pub fn session_at(url: &str, api: &AuthenticationApi, status: Status) -> Session {
    api.attach(Session::new(
        "tok-1",
        "sess-secret",
        format!("{url}/authentication/status/tok-1"),
        format!("{url}/authentication/logout/tok-1"),
        status,
    ))
}

/// The answer of an authentication that started: a pending session `tok-1` whose secret is
/// `sess-secret`.
pub fn started(server: &ScriptedServer) -> Value {
    json!({"authentication_status": {
        "authenticated": true, "session_status": "pending", "reason": null,
        "session_token": "tok-1", "session_secret": "sess-secret",
        "status_url": format!("{}/authentication/status/tok-1", server.url),
        "logout_url": format!("{}/authentication/logout/tok-1", server.url)}})
}

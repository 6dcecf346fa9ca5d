//! The client's connection pool seen from the wire: a keep-alive server that counts the
//! connections it accepts and the ones that closed, and can close each one after its first
//! answer (as a server whose keep-alive timeout is shorter than the client's idle timeout).

use std::sync::Arc;
use std::time::Duration;

use iampass::{AuthenticationApi, Session, Status};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::server::{APP, SECRET, session_at};

const ACTIVE: &str = r#"{"session_status": "active"}"#;

/// How the server treats a connection after an answer.
#[derive(Clone, Copy, PartialEq)]
enum AfterAnswer {
    /// Keeps it open for the next request.
    KeepAlive,
    /// Closes it without saying so (no `Connection: close`).
    Close,
}

/// Connections accepted and closed so far, and requests answered.
#[derive(Clone, Copy, Default, Debug)]
struct Counts {
    accepted: usize,
    closed: usize,
    answered: usize,
}

struct KeepAliveServer {
    url: String,
    counts: watch::Receiver<Counts>,
    /// Answers wait for a permit when `held`.
    gate: Arc<Semaphore>,
}

impl KeepAliveServer {
    async fn start(after: AfterAnswer, held: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (counter, counts) = watch::channel(Counts::default());
        let counter = Arc::new(counter);
        let gate = Arc::new(Semaphore::new(0));
        let g = gate.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.send_modify(|c| c.accepted += 1);
                let (counter, gate) = (counter.clone(), g.clone());
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    loop {
                        // A GET: the request line and headers, no body.
                        let mut lines = 0;
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                                counter.send_modify(|c| c.closed += 1);
                                return;
                            }
                            lines += 1;
                            if line.trim_end().is_empty() && lines > 1 {
                                break;
                            }
                        }
                        if held {
                            gate.acquire().await.unwrap().forget();
                        }
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ACTIVE}",
                            ACTIVE.len()
                        );
                        if write.write_all(answer.as_bytes()).await.is_err() {
                            break;
                        }
                        counter.send_modify(|c| c.answered += 1);
                        if after == AfterAnswer::Close {
                            break;
                        }
                    }
                    drop((reader, write));
                    counter.send_modify(|c| c.closed += 1);
                });
            }
        });
        KeepAliveServer { url, counts, gate }
    }

    fn counts(&self) -> Counts {
        *self.counts.borrow()
    }

    /// Resolves once `check` holds for the counts.
    async fn until(&self, check: impl Fn(&Counts) -> bool) -> Counts {
        let mut counts = self.counts.clone();
        let waited = tokio::time::timeout(Duration::from_secs(10), counts.wait_for(check)).await;
        *waited
            .expect("the server reached the expected state")
            .unwrap()
    }

    fn session(&self, api: &AuthenticationApi) -> Session {
        session_at(&self.url, api, Status::Active)
    }
}

fn api(server: &KeepAliveServer) -> iampass::ClientBuilder<AuthenticationApi> {
    AuthenticationApi::builder(APP, SECRET).server(&server.url)
}

#[tokio::test]
async fn calls_one_after_another_share_one_connection() {
    let server = KeepAliveServer::start(AfterAnswer::KeepAlive, false).await;
    let api = api(&server).build().unwrap();
    let session = server.session(&api);
    for _ in 0..20 {
        assert_eq!(session.fetch_status().await.unwrap(), Status::Active);
    }
    let counts = server.counts();
    assert_eq!(counts.answered, 20);
    assert_eq!(counts.accepted, 1, "{counts:?}");
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_never_used() {
    let server = KeepAliveServer::start(AfterAnswer::Close, false).await;
    let api = api(&server).build().unwrap();
    let session = server.session(&api);
    for n in 1..=5 {
        assert_eq!(session.fetch_status().await.unwrap(), Status::Active);
        // The server has closed the connection the client keeps idle.
        server.until(|c| c.closed >= n).await;
    }
    let counts = server.counts();
    assert_eq!((counts.accepted, counts.answered), (5, 5), "{counts:?}");
}

#[tokio::test]
async fn idle_connections_beyond_the_bound_are_closed_and_the_rest_reused() {
    const CALLS: usize = 6;
    const KEPT: usize = 2;
    let server = KeepAliveServer::start(AfterAnswer::KeepAlive, true).await;
    let api = api(&server).pool_max_idle_per_host(KEPT).build().unwrap();
    let session = server.session(&api);
    let calls: Vec<_> = (0..CALLS)
        .map(|_| {
            let session = session.clone();
            tokio::spawn(async move { session.fetch_status().await })
        })
        .collect();
    // All six in flight at once, each on its own connection.
    server.until(|c| c.accepted == CALLS).await;
    server.gate.add_permits(CALLS);
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), Status::Active);
    }
    let counts = server.until(|c| c.closed == CALLS - KEPT).await;
    assert_eq!(counts.accepted, CALLS);
    // The two kept serve the next calls: no new connection.
    server.gate.add_permits(KEPT);
    for _ in 0..KEPT {
        assert_eq!(session.fetch_status().await.unwrap(), Status::Active);
    }
    let counts = server.counts();
    assert_eq!(
        (counts.accepted, counts.closed),
        (CALLS, CALLS - KEPT),
        "{counts:?}"
    );
}

#[tokio::test]
async fn a_connection_idle_past_the_idle_timeout_is_not_reused() {
    let server = KeepAliveServer::start(AfterAnswer::KeepAlive, false).await;
    let idle_timeout = Duration::from_millis(100);
    let api = api(&server)
        .pool_idle_timeout(idle_timeout)
        .build()
        .unwrap();
    let session = server.session(&api);
    assert_eq!(session.fetch_status().await.unwrap(), Status::Active);
    // The passing of time is what is tested: the connection is now older than the timeout.
    tokio::time::sleep(idle_timeout * 2).await;
    assert_eq!(session.fetch_status().await.unwrap(), Status::Active);
    let counts = server.until(|c| c.closed == 1).await;
    assert_eq!(counts.accepted, 2, "{counts:?}");
}

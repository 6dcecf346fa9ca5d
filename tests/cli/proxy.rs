//! A proxy named in the environment carries the binary's IAMPASS calls (the client then goes
//! through reqwest, which honours `HTTP_PROXY` and friends; without one it connects directly).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::*;

/// A plain-HTTP forward proxy for one upstream: it reads each connection's first request line
/// (absolute-form, as clients send to a proxy), records its target, and relays the connection
/// to `upstream` unchanged.
async fn forward_proxy(upstream: std::net::SocketAddr) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let absolute_requests = Arc::new(AtomicUsize::new(0));
    let seen = absolute_requests.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut client = BufReader::new(client);
                let mut line = String::new();
                if client.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line
                    .split_whitespace()
                    .nth(1)
                    .is_some_and(|t| t.starts_with("http://"))
                {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                if server.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (url, absolute_requests)
}

#[tokio::test]
async fn http_proxy_from_the_environment_carries_the_calls() {
    let emulator = emulator().await;
    let (proxy, through_proxy) = forward_proxy(emulator.local_addr()).await;

    let out = run(iampass(&emulator)
        .env("HTTP_PROXY", &proxy)
        .args(["users", "add", "alice"]))
    .await;
    check(&out).code(0).stdout("added \"alice\"\n");
    assert!(
        through_proxy.load(Ordering::SeqCst) >= 1,
        "the call went through the proxy"
    );
    assert_eq!(emulator.applications().await.unwrap()[0].users, 1);

    // Without the variable the same command does not touch the proxy.
    let before = through_proxy.load(Ordering::SeqCst);
    let out = run(iampass(&emulator).args(["users", "add", "bob"])).await;
    check(&out).code(0).stdout("added \"bob\"\n");
    assert_eq!(through_proxy.load(Ordering::SeqCst), before);
}

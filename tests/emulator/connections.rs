//! The client's connection cap seen from the wire: a TCP relay in front of the emulator counts
//! the connections the client holds open at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use iampass::AuthenticationApi;
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// Forwards every connection to `target` and counts them: open now and most open at once.
struct CountingRelay {
    url: String,
    open: Arc<AtomicUsize>,
    max_open: Arc<AtomicUsize>,
}

impl CountingRelay {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let open = Arc::new(AtomicUsize::new(0));
        let max_open = Arc::new(AtomicUsize::new(0));
        let (o, m) = (open.clone(), max_open.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let now = o.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                let o = o.clone();
                tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        CountingRelay {
            url,
            open,
            max_open,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_calls_opens_at_most_the_cap_of_connections() {
    const CAP: usize = 16;
    const CALLS: usize = 4000;
    let emulator = emulator().await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let relay = CountingRelay::start(emulator.local_addr()).await;
    let api = AuthenticationApi::builder(APP, SECRET)
        .server(&relay.url)
        .max_concurrent_requests(CAP)
        .build()
        .unwrap();
    let mut sessions = Vec::new();
    for _ in 0..8 {
        let session = api.authenticate_user("alice").await.unwrap();
        // The emulator names its URLs after the Host it was asked on: the relay.
        assert!(
            session.status_url().unwrap().starts_with(&relay.url),
            "{session:?}"
        );
        sessions.push(session);
    }

    // Every call at once: a queued call starts when another ends and hands its connection
    // back to the pool, the moment in which a pool that caps only calls opens one more (with
    // reqwest's pool behind the same call cap this test saw 17 and 18 connections in two of
    // three runs).
    let calls: Vec<_> = (0..CALLS)
        .map(|i| {
            let session = sessions[i % sessions.len()].clone();
            tokio::spawn(async move { session.fetch_status().await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), Status::Pending);
    }

    let max_open = relay.max_open.load(Ordering::SeqCst);
    assert!(max_open <= CAP, "{max_open} connections open at once");
    // The calls did overlap (16 in every run here; the bound above is what matters).
    assert!(
        max_open > 1,
        "{max_open} connection(s): the burst was not concurrent"
    );
    assert!(relay.open.load(Ordering::SeqCst) <= CAP);
}

//! The crate's own HTTPS client against a TLS server on loopback whose certificate (in
//! `tests/data/tls`, self-signed for `localhost` and `127.0.0.1`) no public CA signed.

use std::sync::Arc;

use iampass::{AuthenticationApi, Error, Session, Status};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::server::{APP, SECRET, session_at};

const CERTIFICATE: &[u8] = include_bytes!("../data/tls/localhost.pem");
const KEY: &[u8] = include_bytes!("../data/tls/localhost.key");
const ACTIVE: &str =
    r#"{"authentication_status": {"authenticated": true, "session_status": "active"}}"#;

/// Serves TLS on loopback and answers every request with [`ACTIVE`]; counts the requests it
/// read (a client that refused the certificate never gets that far).
struct TlsServer {
    url: String,
    requests: watch::Receiver<usize>,
}

impl TlsServer {
    async fn start() -> TlsServer {
        let certificate = CertificateDer::from_pem_slice(CERTIFICATE).unwrap();
        let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let (counted, requests) = watch::channel(0usize);
        let counted = Arc::new(counted);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, counted) = (acceptor.clone(), counted.clone());
                tokio::spawn(async move {
                    // A refused handshake ends here, which is what one test expects.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if tls.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    counted.send_modify(|n| *n += 1);
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ACTIVE}",
                        ACTIVE.len()
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        TlsServer { url, requests }
    }

    fn session(&self, api: &AuthenticationApi) -> Session {
        session_at(&self.url, api, Status::Pending)
    }
}

#[tokio::test]
async fn a_private_ca_added_as_a_root_is_trusted() {
    let server = TlsServer::start().await;
    let api = AuthenticationApi::builder(APP, SECRET)
        .server(&server.url)
        .add_root_certificate(CERTIFICATE)
        .build()
        .unwrap();
    let status = server.session(&api).fetch_status().await.unwrap();
    assert_eq!(status, Status::Active);
    assert_eq!(*server.requests.borrow(), 1);
}

#[tokio::test]
async fn an_unknown_ca_is_refused_as_an_outage_before_anything_is_sent() {
    let server = TlsServer::start().await;
    let api = AuthenticationApi::builder(APP, SECRET)
        .server(&server.url)
        .build()
        .unwrap();
    let err = server.session(&api).fetch_status().await.unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err}");
    assert!(err.is_outage(), "{err}");
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(&err);
    while let Some(e) = source {
        chain.push_str(&format!("{e}; "));
        source = e.source();
    }
    assert!(chain.contains("certificate"), "{chain}");
    assert_eq!(*server.requests.borrow(), 0, "no request was read");
}

#[test]
fn a_bundle_without_a_certificate_fails_the_build() {
    for bad in [&b""[..], b"not a certificate", KEY] {
        let err = AuthenticationApi::builder(APP, SECRET)
            .server("https://127.0.0.1:1")
            .add_root_certificate(bad)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
}

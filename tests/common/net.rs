//! Loopback addresses where nothing listens.

use std::net::TcpListener;

/// A loopback port with nothing listening (a port just bound, then released).
pub fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// `http://127.0.0.1:PORT` where nothing listens.
pub fn dead_url() -> String {
    format!("http://127.0.0.1:{}", dead_port())
}

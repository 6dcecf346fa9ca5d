//! A real `redis-server` for one test: on a free loopback port, without persistence, killed
//! on drop. Where Redis is not installed the test skips with a message, or fails when
//! `IAMPASS_REQUIRE_REDIS=1` (as `.ci/run` sets).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a starting server may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running (or stopped, restartable) `redis-server` on `127.0.0.1:port`.
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// A fresh server for `test`, or `None` (skip) when `redis-server` is not installed.
    pub fn start(test: &str) -> Option<RedisServer> {
        let Some(binary) = redis_server_binary() else {
            let required = std::env::var("IAMPASS_REQUIRE_REDIS").is_ok_and(|v| v == "1");
            let message = format!(
                "{test} needs `redis-server` (not found on PATH or in IAMPASS_REDIS_SERVER); \
                 install it with `apt-get install redis-server`"
            );
            assert!(!required, "IAMPASS_REQUIRE_REDIS=1 but {message}");
            eprintln!("SKIPPED: {message}, or set IAMPASS_REQUIRE_REDIS=1 to make this a failure");
            return None;
        };
        let port = free_port();
        let mut server = RedisServer {
            binary,
            port,
            child: None,
        };
        server.restart();
        Some(server)
    }

    /// A free loopback port where no server listens (for a store made before its Redis).
    pub fn unused(test: &str) -> Option<RedisServer> {
        let mut server = RedisServer::start(test)?;
        server.stop();
        Some(server)
    }

    /// `redis://127.0.0.1:port/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (connections drop, the port refuses).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers `PING`.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        self.wait_until_ready();
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers. `resume` thaws.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a paused server (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("server running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Polls `PING` (bounded) until the server answers.
    fn wait_until_ready(&mut self) {
        let client = redis::Client::open(self.url()).expect("redis URL");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let pong = client
                .get_connection_with_timeout(Duration::from_millis(200))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if pong.as_deref() == Ok("PONG") {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("redis-server on port {} exited: {status}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within {START_TIMEOUT:?}: {pong:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn redis_server_binary() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("IAMPASS_REDIS_SERVER") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}

/// A free loopback port (like `tests/common/net.rs`'s `dead_port`, written here again because
/// `benches/middleware_load.rs` includes this file alone, without `tests/common/`).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

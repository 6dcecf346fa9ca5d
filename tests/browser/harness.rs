//! Processes the browser tests run: the `login_page` example and `chromedriver`, each killed
//! by a drop guard (also when a test panics).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Debian's Chromium; `IAMPASS_CHROMIUM` names another binary.
pub fn chromium() -> String {
    std::env::var("IAMPASS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// Debian's chromedriver (package `chromium-driver`); `IAMPASS_CHROMEDRIVER` names another.
pub fn chromedriver() -> String {
    std::env::var("IAMPASS_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned())
}

/// `target/<profile>`, from the test executable's place (`target/<profile>/deps/browser-…`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executable is in target/<profile>/deps")
        .to_path_buf()
}

/// `target/browser-test/`: where screenshots go.
pub fn artifacts_dir() -> PathBuf {
    let profile = profile_dir();
    profile.parent().unwrap_or(&profile).join("browser-test")
}

/// The built `login_page` example.
///
/// `cargo test` builds examples, but `cargo test --test browser` does not, so the first call
/// runs `cargo build --example login_page` (a no-op when it is up to date) when cargo is
/// known. `IAMPASS_EXAMPLE_BIN` overrides the path and skips the build.
pub fn example_binary() -> TestResult<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("IAMPASS_EXAMPLE_BIN") {
                return Ok(PathBuf::from(path));
            }
            let profile = profile_dir();
            let binary = profile.join("examples").join("login_page");
            if let Some(cargo) = std::env::var_os("CARGO") {
                let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
                let mut build = Command::new(cargo);
                build
                    .args([
                        "build",
                        "--quiet",
                        "--all-features",
                        "--example",
                        "login_page",
                    ])
                    .arg("--manifest-path")
                    .arg(&manifest);
                match profile.file_name().and_then(|n| n.to_str()) {
                    Some("debug") | None => {}
                    Some("release") => {
                        build.arg("--release");
                    }
                    Some(other) => {
                        build.args(["--profile", other]);
                    }
                }
                if let Some(target_dir) = profile.parent() {
                    build.env("CARGO_TARGET_DIR", target_dir);
                }
                let status = build
                    .status()
                    .map_err(|e| format!("cannot run cargo to build the example: {e}"))?;
                if !status.success() {
                    return Err(format!("building the login_page example failed: {status}"));
                }
            }
            if binary.is_file() {
                Ok(binary)
            } else {
                Err(format!(
                    "{} is missing: run `cargo build --all-features --example login_page`",
                    binary.display()
                ))
            }
        })
        .clone()
        .map_err(Into::into)
}

/// A running `login_page` example (with its embedded emulator), killed on drop.
pub struct ExampleApp {
    child: Child,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    /// The emulator's base URL.
    pub emulator_url: String,
    /// The emulator's phone page.
    pub phone_url: String,
    /// Every line the app printed, for failure reports.
    output: std::sync::Arc<Mutex<Vec<String>>>,
}

impl ExampleApp {
    /// Starts the example on free ports, without `IAMPASS_SERVER`, and waits for the lines it
    /// prints once both servers accept connections.
    pub fn start() -> TestResult<ExampleApp> {
        let binary = example_binary()?;
        let mut child = Command::new(&binary)
            .env("BIND", "127.0.0.1:0")
            .env("IAMPASS_EMULATOR_BIND", "127.0.0.1:0")
            .env_remove("IAMPASS_SERVER")
            .env_remove("IAMPASS_APPLICATION_ID")
            .env_remove("IAMPASS_APPLICATION_SECRET")
            .env_remove("IAMPASS_COOKIE_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let output = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (lines_tx, lines_rx) = mpsc::channel();
        {
            let output = output.clone();
            // Drains stdout for the app's whole life, so it never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    eprintln!("[login_page] {line}");
                    output.lock().unwrap().push(line.clone());
                    let _ = lines_tx.send(line);
                }
            });
        }
        let mut app = ExampleApp {
            child,
            url: String::new(),
            emulator_url: String::new(),
            phone_url: String::new(),
            output,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while app.url.is_empty() || app.phone_url.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match lines_rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    let status = app.child.try_wait().ok().flatten();
                    return Err(format!(
                        "the example did not print its addresses within 60 s (exit: {status:?}); \
                         output: {:?}",
                        app.output()
                    )
                    .into());
                }
            };
            if let Some(url) = line.strip_prefix("login_page listening on ") {
                app.url = url.trim().trim_end_matches('/').to_owned();
            } else if let Some(rest) = line.strip_prefix("iampass emulator on ") {
                // "http://ADDR (phone: http://ADDR/phone)"
                let (base, phone) = rest
                    .split_once(" (phone: ")
                    .ok_or_else(|| format!("unexpected emulator line: {line}"))?;
                app.emulator_url = base.trim().to_owned();
                app.phone_url = phone.trim().trim_end_matches(')').to_owned();
            }
        }
        Ok(app)
    }

    /// What the app printed so far.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for ExampleApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether Chromium and chromedriver are installed. When they are not: a failure with
/// `IAMPASS_REQUIRE_BROWSER=1`, otherwise a skip (returns `false`) with a message.
pub fn browser_available() -> bool {
    let wanted = [chromium(), chromedriver()];
    let missing: Vec<&str> = wanted
        .iter()
        .map(String::as_str)
        .filter(|path| !Path::new(path).is_file())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let required = std::env::var("IAMPASS_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let message = format!(
        "browser test needs {} (missing: {}); install them with \
         `apt-get install chromium chromium-driver`",
        wanted.join(" and "),
        missing.join(", ")
    );
    if required {
        panic!("IAMPASS_REQUIRE_BROWSER=1 but the {message}");
    }
    eprintln!("SKIPPED: the {message}, or set IAMPASS_REQUIRE_BROWSER=1 to make this a failure");
    false
}

/// A running chromedriver on a free loopback port, killed on drop.
pub struct Chromedriver {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Chromedriver {
    /// Starts chromedriver and waits (bounded) until `GET /status` says it is ready.
    pub async fn start() -> TestResult<Chromedriver> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = chromedriver();
        let mut command = Command::new(&driver);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that Chromium goes too when the test kills it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {driver}: {e}"))?;
        let mut driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = http.get(format!("{}/status", driver.url)).send().await {
                let ready = response
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|status| status["value"]["ready"].as_bool())
                    .unwrap_or(false);
                if ready {
                    return Ok(driver);
                }
            }
            if let Ok(Some(status)) = driver.child.try_wait() {
                return Err(format!("chromedriver exited early: {status}").into());
            }
            if Instant::now() > deadline {
                return Err("chromedriver did not become ready within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browser it started (normally already closed
        // with the WebDriver session, but not after a panic).
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh, empty directory removed on drop (Chromium's profile).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TestResult<TempDir> {
        let dir = std::env::temp_dir().join(format!(
            "{prefix}-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

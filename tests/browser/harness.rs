//! The process the browser tests run: the `login_page` example, killed by a drop guard (also
//! when a test panics). chromedriver and Chromium are in `tests/common/chromium.rs`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

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

/// How to start the example: its mode, more environment, and where its stderr goes.
pub struct Launch {
    mode: &'static str,
    env: Vec<(String, String)>,
    stderr: Option<PathBuf>,
}

impl Launch {
    /// `LOGIN_MODE=mode`, on free loopback ports, with its embedded emulator.
    pub fn mode(mode: &'static str) -> Launch {
        Launch {
            mode,
            env: Vec::new(),
            stderr: None,
        }
    }

    /// One more environment variable (set after the defaults, so it wins).
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Launch {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// Writes the app's stderr to `path` rather than the test's own.
    pub fn stderr_to(mut self, path: PathBuf) -> Launch {
        self.stderr = Some(path);
        self
    }
}

/// A running `login_page` example (with its embedded emulator, unless launched with
/// `IAMPASS_SERVER`), killed on drop.
pub struct ExampleApp {
    child: Child,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    /// The embedded emulator's base URL (empty with `IAMPASS_SERVER`).
    pub emulator_url: String,
    /// The embedded emulator's phone page, as printed (empty with `IAMPASS_SERVER`).
    pub phone_url: String,
    /// The seeded `demo` user's password (password mode only).
    pub demo_password: Option<String>,
    /// Every line the app printed, for failure reports.
    output: std::sync::Arc<Mutex<Vec<String>>>,
}

impl ExampleApp {
    /// Starts the example in passwordless mode (the phone alone) on free ports, without
    /// `IAMPASS_SERVER`, and waits for the lines it prints once both servers accept
    /// connections.
    pub fn start() -> TestResult<ExampleApp> {
        ExampleApp::launch(Launch::mode("passwordless"))
    }

    /// Starts the example in password mode (a password, then the phone), and reads the
    /// seeded `demo` user's password from what it prints.
    pub fn start_password() -> TestResult<ExampleApp> {
        ExampleApp::launch(Launch::mode("password"))
    }

    /// Starts the example as `launch` says, and waits for the last line it prints once it
    /// serves (`Open …`).
    pub fn launch(launch: Launch) -> TestResult<ExampleApp> {
        let binary = example_binary()?;
        let mut command = Command::new(&binary);
        command
            .env("LOGIN_MODE", launch.mode)
            .env("BIND", "127.0.0.1:0")
            .env("IAMPASS_EMULATOR_BIND", "127.0.0.1:0");
        for name in [
            "IAMPASS_SERVER",
            "IAMPASS_APPLICATION_ID",
            "IAMPASS_APPLICATION_SECRET",
            "IAMPASS_COOKIE_KEY",
            "IAMPASS_COOKIE_OLD_KEYS",
            "IAMPASS_DEMO_USER",
            "IAMPASS_DEMO_PASSWORD",
            "IAMPASS_REDIS_URL",
        ] {
            command.env_remove(name);
        }
        for (name, value) in &launch.env {
            command.env(name, value);
        }
        let stderr = match &launch.stderr {
            Some(path) => Stdio::from(
                std::fs::File::create(path)
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
            ),
            None => Stdio::inherit(),
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
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
            demo_password: None,
            output,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut ready = false;
        while !ready {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match lines_rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    let status = app.child.try_wait().ok().flatten();
                    return Err(format!(
                        "the example was not ready within 60 s (exit: {status:?}); \
                         output: {:?}",
                        app.output()
                    )
                    .into());
                }
            };
            if line.starts_with("Open ") {
                // The last line, printed once the app serves.
                ready = true;
            } else if let Some(password) = line.strip_prefix("demo password: ") {
                app.demo_password = Some(password.trim().to_owned());
            } else if let Some(url) = line.strip_prefix("login_page listening on ") {
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

//! The process the browser tests run: the `login_page` example (actix-web) or the
//! `axum_login_page` one (the same app on axum), killed by a drop guard (also when a test
//! panics). [`each_example!`] runs one test body against both. chromedriver and Chromium are
//! in `tests/common/chromium.rs`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
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

/// Which of the two apps a test runs: the same Acme Notes on actix-web or on axum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Example {
    /// `login_page`.
    Actix,
    /// `axum_login_page`.
    Axum,
}

impl Example {
    /// The example's name, as cargo and its `… listening on` line know it.
    pub fn name(self) -> &'static str {
        match self {
            Example::Actix => "login_page",
            Example::Axum => "axum_login_page",
        }
    }

    /// This example in passwordless mode (see [`ExampleApp::start`]).
    pub fn start(self) -> TestResult<ExampleApp> {
        self.launch(Launch::mode("passwordless"))
    }

    /// This example in password mode (a password, then the phone), reading the seeded `demo`
    /// user's password from what it prints.
    pub fn start_password(self) -> TestResult<ExampleApp> {
        self.launch(Launch::mode("password"))
    }

    /// This example as `launch` says (see [`ExampleApp::launch`]).
    pub fn launch(self, launch: Launch) -> TestResult<ExampleApp> {
        ExampleApp::launch(Launch {
            example: self,
            ..launch
        })
    }
}

/// One test body, run against both examples: `async fn name(example) -> TestResult { … }`
/// becomes the module `name` with the tests `login_page` and `axum_login_page` (each with the
/// attributes given, e.g. `#[tokio::test]`), where `example` is the [`Example`] to start.
macro_rules! each_example {
    ($(#[$attr:meta])* async fn $name:ident($example:ident) -> TestResult $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($example: $crate::harness::Example) -> $crate::harness::TestResult
            $body

            $(#[$attr])*
            async fn login_page() -> $crate::harness::TestResult {
                body($crate::harness::Example::Actix).await
            }

            $(#[$attr])*
            async fn axum_login_page() -> $crate::harness::TestResult {
                body($crate::harness::Example::Axum).await
            }
        }
    };
}

/// The built example.
///
/// `cargo test` builds examples, but `cargo test --test browser` does not, so the first call
/// for each example runs `cargo build --example NAME` (a no-op when it is up to date) when
/// cargo is known. `IAMPASS_EXAMPLE_BIN` (`login_page`) and `IAMPASS_AXUM_EXAMPLE_BIN`
/// (`axum_login_page`) override the path and skip the build.
pub fn example_binary(example: Example) -> TestResult<PathBuf> {
    static BUILT: Mutex<Option<HashMap<Example, Result<PathBuf, String>>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    built
        .get_or_insert_with(HashMap::new)
        .entry(example)
        .or_insert_with(|| {
            let variable = match example {
                Example::Actix => "IAMPASS_EXAMPLE_BIN",
                Example::Axum => "IAMPASS_AXUM_EXAMPLE_BIN",
            };
            if let Some(path) = std::env::var_os(variable) {
                return Ok(PathBuf::from(path));
            }
            let name = example.name();
            let profile = profile_dir();
            let binary = profile.join("examples").join(name);
            if let Some(cargo) = std::env::var_os("CARGO") {
                let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
                let mut build = Command::new(cargo);
                build
                    .args(["build", "--quiet", "--all-features", "--example", name])
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
                    return Err(format!("building the {name} example failed: {status}"));
                }
            }
            if binary.is_file() {
                Ok(binary)
            } else {
                Err(format!(
                    "{} is missing: run `cargo build --all-features --example {name}`",
                    binary.display()
                ))
            }
        })
        .clone()
        .map_err(Into::into)
}

/// How to start the example: which one, its mode, more environment, and where its stderr
/// goes.
pub struct Launch {
    example: Example,
    mode: &'static str,
    env: Vec<(String, String)>,
    stderr: Option<PathBuf>,
}

impl Launch {
    /// `LOGIN_MODE=mode`, on free loopback ports, with its embedded emulator (the actix
    /// example unless started through [`Example::launch`]).
    pub fn mode(mode: &'static str) -> Launch {
        Launch {
            example: Example::Actix,
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

/// A running example (with its embedded emulator, unless launched with `IAMPASS_SERVER`),
/// killed on drop.
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
    /// Starts the actix example in passwordless mode (the phone alone) on free ports, without
    /// `IAMPASS_SERVER`, and waits for the lines it prints once both servers accept
    /// connections.
    pub fn start() -> TestResult<ExampleApp> {
        ExampleApp::launch(Launch::mode("passwordless"))
    }

    /// Starts the example as `launch` says, and waits for the last line it prints once it
    /// serves (`Open …`).
    pub fn launch(launch: Launch) -> TestResult<ExampleApp> {
        let binary = example_binary(launch.example)?;
        let name = launch.example.name();
        let listening = format!("{name} listening on ");
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
                    eprintln!("[{name}] {line}");
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
            } else if let Some(url) = line.strip_prefix(listening.as_str()) {
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

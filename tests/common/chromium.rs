//! Headless Chromium through chromedriver, shared by the browser tests (`tests/browser/e2e.rs`
//! and `tests/emulator/browser.rs`): where the binaries are, whether the test can run, a
//! chromedriver killed (with its browser) on drop, a throw-away profile, the WebDriver session
//! and the browser console.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install chromium
//! chromium-driver`; other paths through `IAMPASS_CHROMIUM` and `IAMPASS_CHROMEDRIVER`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

/// Debian's Chromium; `IAMPASS_CHROMIUM` names another binary.
pub fn chromium() -> String {
    std::env::var("IAMPASS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// Debian's chromedriver (package `chromium-driver`); `IAMPASS_CHROMEDRIVER` names another.
pub fn chromedriver() -> String {
    std::env::var("IAMPASS_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned())
}

/// Whether Chromium and chromedriver are installed, for `test` (named in the messages). When
/// they are not: a failure with `IAMPASS_REQUIRE_BROWSER=1`, otherwise a skip (returns `false`)
/// with a message.
pub fn browser_available(test: &str) -> bool {
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
        "{test} needs {} (missing: {}); install them with \
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

/// A running chromedriver and the fresh profile its browser uses; chromedriver and the browser
/// it started are killed on drop, then the profile is removed.
pub struct Chromium {
    driver: Chromedriver,
    profile: TempDir,
}

impl Chromium {
    /// Starts chromedriver with an empty profile directory named `profile_prefix-…`.
    pub async fn start(profile_prefix: &str) -> Result<Chromium> {
        Ok(Chromium {
            driver: Chromedriver::start().await?,
            profile: TempDir::new(profile_prefix)?,
        })
    }

    /// A headless Chromium session (console log on) with a window of `window_size`
    /// (`"WIDTH,HEIGHT"`).
    pub async fn connect(&self, window_size: &str) -> Result<Client> {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium(),
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", self.profile.0.display()),
                    format!("--window-size={window_size}"),
                ],
            }),
        );
        capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        // fantoccini's rustls connector needs a process-wide crypto provider; two are compiled
        // in (see the `rustls` dev-dependency), so name one. `Err` means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()?
            .capabilities(capabilities)
            .connect(&self.driver.url)
            .await
            .map_err(|e| format!("cannot start a Chromium session through chromedriver: {e}"))?;
        Ok(client)
    }
}

/// A running chromedriver on a free loopback port, killed on drop.
struct Chromedriver {
    child: Child,
    /// `http://127.0.0.1:PORT`
    url: String,
}

impl Chromedriver {
    /// Starts chromedriver and waits (bounded) until `GET /status` says it is ready.
    async fn start() -> Result<Chromedriver> {
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
                    .json::<Value>()
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
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Result<TempDir> {
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

/// The `SEVERE` messages of the browser's console since the last read (chromedriver keeps the
/// log per session and clears it on read); none when the log cannot be read.
pub async fn console_errors(client: &Client) -> Vec<String> {
    match client.issue_cmd(BrowserLog).await {
        Ok(Value::Array(entries)) => entries
            .into_iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// chromedriver's console log endpoint (`POST /session/{id}/se/log {"type": "browser"}`),
/// which fantoccini has no call for.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (reqwest::Method, Option<String>) {
        (
            reqwest::Method::POST,
            Some(r#"{"type":"browser"}"#.to_owned()),
        )
    }
}

//! The phone page in headless Chromium, driven through chromedriver: a registration link
//! registers the phone, requests appear without a reload and its buttons drive the session
//! state machine, user strings stay text, and the console stays free of errors.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (other paths through
//! `IAMPASS_CHROMIUM` and `IAMPASS_CHROMEDRIVER`); without them the test skips, or fails when
//! `IAMPASS_REQUIRE_BROWSER=1`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};

use super::*;

fn chromium() -> String {
    std::env::var("IAMPASS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

fn chromedriver() -> String {
    std::env::var("IAMPASS_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned())
}

/// `false` (skip) when Chromium or chromedriver is missing, unless the browser is required.
fn browser_available() -> bool {
    let missing: Vec<String> = [chromium(), chromedriver()]
        .into_iter()
        .filter(|p| !Path::new(p).is_file())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("IAMPASS_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "IAMPASS_REQUIRE_BROWSER=1 but {missing:?} is missing"
    );
    eprintln!("skipping the phone page browser test: {missing:?} missing");
    false
}

/// chromedriver on a free port, in its own process group, killed (with Chromium) on drop.
struct Driver {
    child: Child,
    url: String,
    profile: PathBuf,
}

impl Driver {
    async fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(chromedriver());
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let profile = std::env::temp_dir().join(format!(
            "iampass-phone-test-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let driver = Driver {
            child: command.spawn().expect("chromedriver starts"),
            url: format!("http://127.0.0.1:{port}"),
            profile,
        };
        let http = reqwest::Client::new();
        let status = format!("{}/status", driver.url);
        eventually("chromedriver to be ready", || {
            let request = http.get(&status);
            async move {
                match request.send().await {
                    Ok(r) => r
                        .json::<Value>()
                        .await
                        .is_ok_and(|v| v["value"]["ready"] == json!(true)),
                    Err(_) => false,
                }
            }
        })
        .await;
        driver
    }

    async fn connect(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium(),
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-background-networking",
                    format!("--user-data-dir={}", self.profile.display()),
                    "--window-size=420,900",
                ],
            }),
        );
        capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        // Two rustls crypto providers are compiled in; name one (`Err`: already installed).
        let _ = rustls::crypto::ring::default_provider().install_default();
        ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session through chromedriver")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `POST /session/{id}/se/log {"type": "browser"}`: the console log since the last read.
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

async fn console_errors(client: &Client) -> Vec<String> {
    match client.issue_cmd(BrowserLog).await {
        Ok(Value::Array(entries)) => entries
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// The text of the first element matching `css`, once there is one.
async fn text_of(client: &Client, css: &str) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            return text;
        }
        assert!(Instant::now() < deadline, "{css} never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks the first element matching `css` once it is there (retrying a stale element).
async fn click(client: &Client, css: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && element.click().await.is_ok()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{css} never became clickable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_gone(client: &Client, css: &str) {
    let deadline = Instant::now() + DEADLINE;
    while client
        .find_all(Locator::Css(css))
        .await
        .is_ok_and(|found| !found.is_empty())
    {
        assert!(Instant::now() < deadline, "{css} never went away");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_page_in_a_browser() {
    if !browser_available() {
        return;
    }
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();
    let user = r#"Zoë <b>"x"&"#;
    management.add_user(user).await.unwrap();
    let link = management
        .get_registration_link(user, Some("Zoë <i>Z</i>"))
        .await
        .unwrap();

    let driver = Driver::start().await;
    let client = driver.connect().await;
    client.goto(&link).await.unwrap();
    // A marker that survives only as long as the page is not reloaded.
    client
        .execute("window.iampassMarker = 42; return 1;", vec![])
        .await
        .unwrap();

    // Registration.
    let panel = text_of(&client, "#registration").await;
    assert!(panel.contains("Zoë <i>Z</i>"), "{panel}");
    click(&client, r#"#registration button[data-action="register"]"#).await;
    let done = text_of(&client, "#registration .registered").await;
    assert!(done.contains("Zoë <i>Z</i>"), "{done}");
    let devices = text_of(&client, "#devices li.item").await;
    assert!(devices.contains(user), "{devices}");
    assert_eq!(
        management.has_registered_mobile_device(user).await.unwrap(),
        DeviceRegistration::HasMobileDevice
    );

    // A request appears by itself; Approve, Walk away, Come back, Log out.
    let (mut session, token) = start_session(&emulator, APP, user).await;
    let item = format!(r#"li[data-session="{token}"]"#);
    click(
        &client,
        &format!(r#"#pending {item} button[data-action="approve"]"#),
    )
    .await;
    await_status(&mut session, Status::Active).await;
    click(
        &client,
        &format!(r#"#sessions {item}[data-status="active"] button[data-action="walkaway"]"#),
    )
    .await;
    await_status(&mut session, Status::Walkaway).await;
    click(
        &client,
        &format!(r#"#sessions {item}[data-status="walkaway"] button[data-action="return"]"#),
    )
    .await;
    await_status(&mut session, Status::Active).await;
    click(
        &client,
        &format!(r#"#sessions {item}[data-status="active"] button[data-action="close"]"#),
    )
    .await;
    await_status(&mut session, Status::Closed).await;
    wait_gone(&client, &format!("#sessions {item}")).await;

    // Deny.
    let (mut session, token) = start_session(&emulator, APP, user).await;
    click(
        &client,
        &format!(r#"#pending li[data-session="{token}"] button[data-action="deny"]"#),
    )
    .await;
    await_status(&mut session, Status::Failed).await;
    wait_gone(&client, "#pending li").await;

    // A request answered elsewhere (the control API) leaves the list.
    let (_, token) = start_session(&emulator, APP, user).await;
    text_of(&client, &format!(r#"#pending li[data-session="{token}"]"#)).await;
    emulator
        .session_action(&token, SessionAction::Cancel)
        .await
        .unwrap();
    wait_gone(&client, "#pending li").await;

    // SMS show up as text, never as markup.
    management
        .send_registration_sms(
            user,
            None,
            "+15551234567",
            Some("<img src=x onerror=\"window.pwned=1\">"),
        )
        .await
        .unwrap();
    let sms = text_of(&client, "#sms li.item").await;
    assert!(
        sms.contains("<img src=x onerror=\"window.pwned=1\">"),
        "{sms}"
    );

    let state = client
        .execute(
            "return [window.iampassMarker, typeof window.pwned];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(state, json!([42, "undefined"]), "reloaded, or markup ran");
    let errors = console_errors(&client).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    client.close().await.unwrap();
    emulator.shutdown().await;
}

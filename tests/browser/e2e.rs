//! The whole story in headless Chromium: sign up → register the phone → sign in → approve on
//! the phone page → dashboard → walk away (locked) → come back (open) → sign out (refused).

use std::future::Future;
use std::path::PathBuf;

use fantoccini::wd::WindowHandle;
use fantoccini::{Client, Locator};

use crate::chromium::{Chromium, browser_available, console_errors};
use crate::harness::{ExampleApp, TestResult, artifacts_dir};
use crate::page::{check, find};

/// The new user: the space checks that ids are encoded everywhere.
const USER: &str = "new user 1";
const DISPLAY_NAME: &str = "New User";

#[tokio::test]
async fn sign_up_sign_in_walk_away_come_back_sign_out() -> TestResult {
    if !browser_available("browser test") {
        return Ok(());
    }
    let app = ExampleApp::start()?;
    let chromium = Chromium::start("iampass-browser-test").await?;
    let client = chromium.connect("1280,900").await?;
    let app_tab = client.window().await?;
    let mut run = Run {
        client: client.clone(),
        app_url: app.url.clone(),
        phone_url: app.phone_url.clone(),
        app_tab,
        phone_tab: None,
        steps: Vec::new(),
        console_errors: Vec::new(),
        finished: false,
    };

    let outcome = run.story().await;
    if let Err(error) = &outcome {
        eprintln!("browser test failed: {error}");
        run.capture_failure().await;
        eprintln!("example output: {:#?}", app.output());
    } else {
        run.finished = true;
    }
    run.save_screenshots();
    let _ = client.close().await;
    outcome
}

/// One screenshot, taken after a step.
struct Step {
    name: String,
    png: Vec<u8>,
}

struct Run {
    client: Client,
    app_url: String,
    phone_url: String,
    app_tab: WindowHandle,
    phone_tab: Option<WindowHandle>,
    steps: Vec<Step>,
    /// `(step, message)` for every console error the browser reported.
    console_errors: Vec<(String, String)>,
    finished: bool,
}

impl Run {
    async fn story(&mut self) -> TestResult {
        let c = self.client.clone();

        // 1. Sign up.
        c.goto(&format!("{}/register", self.app_url)).await?;
        let user_field = self.wait_css("#user").await?;
        user_field.send_keys(USER).await?;
        c.find(Locator::Css("#display_name"))
            .await?
            .send_keys(DISPLAY_NAME)
            .await?;
        self.step("sign-up-form").await?;
        c.find(Locator::Css("#register-submit"))
            .await?
            .click()
            .await?;

        // 2. The registration code and link.
        let link = self.wait_css("a#registration-link").await?;
        c.find(Locator::Css("#registration-qr svg")).await?;
        let text = c
            .find(Locator::Css("#registered-user"))
            .await?
            .text()
            .await?;
        check(text == USER, format!("registration page names {text:?}"))?;
        self.step("registration-qr-code").await?;

        // 3. Open the link (as scanning the code would) and register the phone.
        link.follow().await?;
        let register = self.wait_css(r#"button[data-action="register"]"#).await?;
        self.step("phone-registration-page").await?;
        register.click().await?;
        self.wait_for("the phone page to list the new device", || {
            let c = c.clone();
            async move {
                Ok(match find(&c, "#devices").await? {
                    Some(list) => list.text().await?.contains(USER).then_some(()),
                    None => None,
                })
            }
        })
        .await?;
        self.step("phone-registered").await?;

        // 4. Sign in: the protected dashboard sends us to the login page.
        c.goto(&format!("{}/dashboard", self.app_url)).await?;
        self.wait_path("/auth/login").await?;
        let user_input = self.wait_css("#iampass-user").await?;
        user_input.send_keys(USER).await?;
        self.step("login-page").await?;
        c.find(Locator::Css(r#"#iampass-login button[type="submit"]"#))
            .await?
            .click()
            .await?;
        self.wait_for("the login page to say it is waiting", || {
            let c = c.clone();
            async move {
                Ok(match find(&c, "#iampass-status").await? {
                    Some(status) => Some(status.text().await?).filter(|t| !t.trim().is_empty()),
                    None => None,
                })
            }
        })
        .await?;
        self.step("login-waiting-for-phone").await?;

        // 5. Approve on the phone page, in a second tab.
        let phone_tab = c.new_window(true).await?.handle;
        self.phone_tab = Some(phone_tab.clone());
        c.switch_to_window(phone_tab.clone()).await?;
        c.goto(&self.phone_url).await?;
        let pending = format!("#pending [data-user={}]", css_string(USER));
        let item = self.wait_css(&pending).await?;
        let session = item
            .attr("data-session")
            .await?
            .ok_or("pending item has no data-session")?;
        self.step("phone-pending-request").await?;
        item.find(Locator::Css(r#"button[data-action="approve"]"#))
            .await?
            .click()
            .await?;
        let in_sessions = |status: &str| {
            format!(
                "#sessions [data-session={}][data-status={}]",
                css_string(&session),
                css_string(status)
            )
        };
        // The `action` button of the session, listed as `status`.
        let session_button = |status: &str, action: &str| {
            format!(r#"{} button[data-action="{action}"]"#, in_sessions(status))
        };
        self.wait_css(&in_sessions("active")).await?;
        self.step("phone-approved").await?;

        // 6. The app's tab moves on to the dashboard by itself.
        c.switch_to_window(self.app_tab.clone()).await?;
        self.wait_path("/dashboard").await?;
        self.wait_signed_in().await?;
        self.step("dashboard").await?;

        // 7. Walk away: the dashboard refuses at once.
        c.switch_to_window(phone_tab.clone()).await?;
        self.wait_css(&session_button("active", "walkaway"))
            .await?
            .click()
            .await?;
        self.wait_css(&in_sessions("walkaway")).await?;
        self.step("phone-walked-away").await?;
        c.switch_to_window(self.app_tab.clone()).await?;
        c.goto(&format!("{}/dashboard", self.app_url)).await?;
        self.wait_path("/locked").await?;
        self.wait_css("#locked").await?;
        check(
            find(&c, "#signed-in-user").await?.is_none(),
            "the locked page shows the dashboard's user",
        )?;
        self.step("dashboard-locked-while-away").await?;

        // 8. Come back: the dashboard opens again.
        c.switch_to_window(phone_tab.clone()).await?;
        self.wait_css(&session_button("walkaway", "return"))
            .await?
            .click()
            .await?;
        self.wait_css(&in_sessions("active")).await?;
        self.step("phone-came-back").await?;
        c.switch_to_window(self.app_tab.clone()).await?;
        c.find(Locator::Css("#check-again")).await?.click().await?;
        self.wait_path("/dashboard").await?;
        self.wait_signed_in().await?;
        self.step("dashboard-after-coming-back").await?;

        // 9. Sign out: home page, and the dashboard refuses.
        c.find(Locator::Css("button#sign-out"))
            .await?
            .click()
            .await?;
        self.wait_path("/").await?;
        self.wait_css("#sign-in").await?;
        check(
            find(&c, "#home-user").await?.is_none(),
            "the home page still shows a user after signing out",
        )?;
        self.step("signed-out-home").await?;
        c.goto(&format!("{}/dashboard", self.app_url)).await?;
        self.wait_refused().await?;
        self.step("dashboard-refused-after-sign-out").await?;

        // 10. The pages on a phone-sized screen.
        c.set_window_size(390, 844).await?;
        c.goto(&format!("{}/", self.app_url)).await?;
        self.wait_css("#sign-in").await?;
        self.step("mobile-home").await?;
        c.goto(&format!("{}/register", self.app_url)).await?;
        self.wait_css("#user").await?;
        self.step("mobile-sign-up").await?;

        check(
            self.console_errors.is_empty(),
            format!(
                "the browser console reported errors: {:#?}",
                self.console_errors
            ),
        )?;
        Ok(())
    }

    /// Records a screenshot of the current tab and the console errors since the last step.
    async fn step(&mut self, name: &str) -> TestResult {
        let name = format!("{:02}-{name}", self.steps.len() + 1);
        let png = self.client.screenshot().await?;
        self.collect_console(&name).await;
        self.steps.push(Step { name, png });
        Ok(())
    }

    /// Reads the browser's console log (chromedriver keeps it per session, cleared on read).
    async fn collect_console(&mut self, step: &str) {
        for message in console_errors(&self.client).await {
            eprintln!("console error at {step}: {message}");
            self.console_errors.push((step.to_owned(), message));
        }
    }

    /// After a failure: a last screenshot of each tab and its HTML.
    async fn capture_failure(&mut self) {
        let tabs = [Some(self.app_tab.clone()), self.phone_tab.clone()];
        for (label, tab) in ["app", "phone"].into_iter().zip(tabs) {
            let Some(tab) = tab else { continue };
            if self.client.switch_to_window(tab).await.is_err() {
                continue;
            }
            let url = self.client.current_url().await.map(|u| u.to_string());
            eprintln!("{label} tab at failure: {url:?}");
            if let Ok(html) = self.client.source().await {
                let path = artifacts_dir().join(format!("failure-{label}.html"));
                if std::fs::create_dir_all(artifacts_dir()).is_ok()
                    && std::fs::write(&path, html).is_ok()
                {
                    eprintln!("saved {}", path.display());
                }
            }
            let _ = self.step(&format!("failure-{label}-tab")).await;
        }
    }

    /// Writes the screenshots to `target/browser-test/` on failure, or when
    /// `IAMPASS_BROWSER_SCREENSHOTS=1`.
    fn save_screenshots(&self) {
        let wanted = std::env::var("IAMPASS_BROWSER_SCREENSHOTS").is_ok_and(|v| v == "1");
        if self.finished && !wanted {
            return;
        }
        let dir = artifacts_dir();
        if let Err(error) = std::fs::create_dir_all(&dir) {
            eprintln!("cannot create {}: {error}", dir.display());
            return;
        }
        // Only this run's pictures in the folder.
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if entry.path().extension().is_some_and(|e| e == "png") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        for step in &self.steps {
            let path: PathBuf = dir.join(format!("{}.png", step.name));
            match std::fs::write(&path, &step.png) {
                Ok(()) => eprintln!("screenshot: {}", path.display()),
                Err(error) => eprintln!("cannot write {}: {error}", path.display()),
            }
        }
    }

    async fn wait_css(&self, selector: &str) -> TestResult<fantoccini::elements::Element> {
        crate::page::wait_css(&self.client, selector).await
    }

    async fn wait_path(&self, path: &str) -> TestResult {
        crate::page::wait_path(&self.client, path).await
    }

    /// The dashboard shows the new user.
    async fn wait_signed_in(&self) -> TestResult {
        let c = self.client.clone();
        self.wait_for("the dashboard to show the signed-in user", || {
            let c = c.clone();
            async move {
                Ok(match find(&c, "#signed-in-user").await? {
                    Some(who) => (who.text().await? == USER).then_some(()),
                    None => None,
                })
            }
        })
        .await
    }

    /// The dashboard was refused: we were sent to the login page.
    async fn wait_refused(&self) -> TestResult {
        self.wait_path("/auth/login").await?;
        self.wait_css("#iampass-user").await?;
        check(
            find(&self.client, "#signed-in-user").await?.is_none(),
            "the login page shows a signed-in user",
        )
    }

    /// Polls `check` until it answers `Some` (see [`crate::page::wait_for`]).
    async fn wait_for<T, F, Fut>(&self, what: &str, check: F) -> TestResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = TestResult<Option<T>>>,
    {
        crate::page::wait_for(&self.client, what, check).await
    }
}

/// A CSS string literal: `"…"` with `"` and `\` escaped.
fn css_string(value: &str) -> String {
    let mut out = String::from("\"");
    for ch in value.chars() {
        match ch {
            '"' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' => out.push_str("\\a "),
            _ => out.push(ch),
        }
    }
    out.push('"');
    out
}

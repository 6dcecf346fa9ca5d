//! Waiting on the page in Chromium, shared by the `e2e`, `live` and `password` stories: each
//! wait polls every [`POLL`] for at most [`WAIT`], and a wait that runs out is an error naming
//! what was awaited and where the tab is.

use std::future::Future;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, Locator};

use crate::chromium::{browser_available, console_errors};
use crate::harness::{Example, ExampleApp, TestResult};

/// Longest any one step may take.
pub const WAIT: Duration = Duration::from_secs(15);
/// How often the page is looked at again.
pub const POLL: Duration = Duration::from_millis(50);

/// Polls `check` every [`POLL`] until it answers `Some`, for at most [`WAIT`].
pub async fn wait_for<T, F, Fut>(c: &Client, what: &str, mut check: F) -> TestResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = TestResult<Option<T>>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            let url = c.current_url().await.map(|u| u.to_string());
            return Err(format!("waited {WAIT:?} for {what}; the tab is at {url:?}").into());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The first element matching `selector`, once there is one.
pub async fn wait_css(c: &Client, selector: &str) -> TestResult<Element> {
    wait_for(c, &format!("an element matching `{selector}`"), || {
        find(c, selector)
    })
    .await
}

/// Waits until the tab's address has the path `path`.
pub async fn wait_path(c: &Client, path: &str) -> TestResult {
    wait_for(c, &format!("the address to be {path}"), || async move {
        Ok((c.current_url().await?.path() == path).then_some(()))
    })
    .await
}

/// The element matching `selector`, if there is one now.
pub async fn find(c: &Client, selector: &str) -> TestResult<Option<Element>> {
    match c.find(Locator::Css(selector)).await {
        Ok(element) => Ok(Some(element)),
        Err(CmdError::Standard(e)) if e.error == ErrorStatus::NoSuchElement => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `Ok` when `condition` holds, else the error `message`.
pub fn check(condition: bool, message: impl Into<String>) -> TestResult {
    if condition {
        Ok(())
    } else {
        Err(message.into().into())
    }
}

/// A headless Chromium (a fresh profile) with one tab, for one story against an example.
pub struct Browser {
    /// Kept until the tab is closed: dropping it stops chromedriver.
    _chromium: crate::chromium::Chromium,
    pub tab: Client,
}

impl Browser {
    /// Starts Chromium with a fresh `--user-data-dir` named after `profile` and opens a tab.
    pub async fn open(profile: &str) -> TestResult<Browser> {
        let chromium = crate::chromium::Chromium::start(profile).await?;
        let tab = chromium.connect("1280,900").await?;
        Ok(Browser {
            _chromium: chromium,
            tab,
        })
    }

    /// Closes the tab and answers `outcome`; on a failure it first prints where the tab was
    /// and what the example printed.
    pub async fn finish(self, app: &crate::harness::ExampleApp, outcome: TestResult) -> TestResult {
        if outcome.is_err() {
            eprintln!(
                "tab at failure: {:?}",
                self.tab.current_url().await.map(|u| u.to_string())
            );
            eprintln!("example output: {:#?}", app.output());
        }
        let _ = self.tab.close().await;
        outcome
    }
}

/// Runs `story` (the tab, the example, the seeded `demo` user's password) in a fresh Chromium
/// against `example` in password mode; `what` names the test when Chromium is missing.
pub async fn password_story(
    example: Example,
    what: &str,
    profile: &str,
    story: impl AsyncFnOnce(&Client, &ExampleApp, &str) -> TestResult,
) -> TestResult {
    if !browser_available(what) {
        return Ok(());
    }
    let app = example.start_password()?;
    let password = app
        .demo_password
        .clone()
        .ok_or("no demo password printed")?;
    let browser = Browser::open(profile).await?;
    let outcome = story(&browser.tab, &app, &password).await;
    browser.finish(&app, outcome).await
}

/// Fills and submits the example's sign-in form.
pub async fn sign_in_with_password(c: &Client, user: &str, password: &str) -> TestResult {
    let user_field = wait_css(c, "#user").await?;
    user_field.clear().await?;
    user_field.send_keys(user).await?;
    let password_field = c.find(Locator::Css("#password")).await?;
    password_field.clear().await?;
    password_field.send_keys(password).await?;
    c.find(Locator::Css("#signin-submit"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Opens the emulator's phone page in a new tab and shows it: `(the app's tab, the phone's)`.
pub async fn open_phone(c: &Client, app: &ExampleApp) -> TestResult<(WindowHandle, WindowHandle)> {
    let app_tab = c.window().await?;
    let phone_tab = c.new_window(true).await?.handle;
    c.switch_to_window(phone_tab.clone()).await?;
    c.goto(&app.phone_url).await?;
    Ok((app_tab, phone_tab))
}

/// On the phone page showing in `c`: approves `user`'s pending request once it is there.
pub async fn approve_pending(c: &Client, user: &str) -> TestResult {
    wait_css(
        c,
        &format!(r#"#pending [data-user="{user}"] button[data-action="approve"]"#),
    )
    .await?
    .click()
    .await?;
    Ok(())
}

/// Fails with the page's console errors, if there are any.
pub async fn no_console_errors(c: &Client) -> TestResult {
    let errors = console_errors(c).await;
    if !errors.is_empty() {
        return Err(format!("console errors: {errors:#?}").into());
    }
    Ok(())
}

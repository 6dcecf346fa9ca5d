//! Password mode in headless Chromium (issue 9.2), on both examples (actix-web and axum): the
//! example's `/signin` checks the password, then the phone approves. A wrong password never
//! rings the phone.

use fantoccini::{Client, Locator};

use crate::chromium::{browser_available, console_errors};
use crate::harness::{ExampleApp, TestResult};
use crate::page::{Browser, wait_css, wait_path};

each_example! {
#[tokio::test]
async fn password_then_phone_and_a_wrong_password_never_rings(example) -> TestResult {
    if !browser_available("password browser test") {
        return Ok(());
    }
    let app = example.start_password()?;
    let password = app
        .demo_password
        .clone()
        .ok_or("no demo password printed")?;
    let browser = Browser::open("iampass-password-test").await?;
    let outcome = story(&browser.tab, &app, &password).await;
    browser.finish(&app, outcome).await
}
}

async fn story(c: &Client, app: &ExampleApp, password: &str) -> TestResult {
    // The dashboard sends an anonymous visitor to the example's own sign-in page.
    c.goto(&format!("{}/dashboard", app.url)).await?;
    wait_path(c, "/signin").await?;

    // A wrong password: refused by the app, no request reaches the phone.
    let before = sessions_of(app, "demo").await?;
    fill(c, "demo", "not the password").await?;
    let error = wait_css(c, "#signin-error").await?.text().await?;
    if !error.contains("Wrong user name or password") {
        return Err(format!("the wrong password is answered {error:?}").into());
    }
    if sessions_of(app, "demo").await? != before {
        return Err("a wrong password started a login at IAMPASS".into());
    }
    // The refusal is a 401, which the console reports; only what follows must be clean.
    let _ = console_errors(c).await;

    // The right one: the crate's wait page, branded like the example.
    fill(c, "demo", password).await?;
    wait_path(c, "/auth/login").await?;
    let home = wait_css(c, "#iampass-home").await?.text().await?;
    if home != "Acme Notes" {
        return Err(format!("the wait page's home link reads {home:?}").into());
    }
    if sessions_of(app, "demo").await? != before + 1 {
        return Err("the right password did not start exactly one login".into());
    }

    // Approve on the phone page, in a second tab; the wait page moves on by itself.
    let app_tab = c.window().await?;
    let phone_tab = c.new_window(true).await?.handle;
    c.switch_to_window(phone_tab).await?;
    c.goto(&app.phone_url).await?;
    wait_css(
        c,
        r#"#pending [data-user="demo"] button[data-action="approve"]"#,
    )
    .await?
    .click()
    .await?;
    c.switch_to_window(app_tab).await?;
    wait_path(c, "/dashboard").await?;
    let who = wait_css(c, "#signed-in-user").await?.text().await?;
    if who != "demo" {
        return Err(format!("the dashboard greets {who:?}").into());
    }
    let errors = console_errors(c).await;
    if !errors.is_empty() {
        return Err(format!("console errors: {errors:#?}").into());
    }
    Ok(())
}

/// Fills and submits the sign-in form.
async fn fill(c: &Client, user: &str, password: &str) -> TestResult {
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

/// How many logins the emulator has seen for `user` (its control API).
async fn sessions_of(app: &ExampleApp, user: &str) -> TestResult<usize> {
    let sessions: Vec<serde_json::Value> = reqwest::get(format!(
        "{}/_emulator/sessions?user={user}",
        app.emulator_url
    ))
    .await?
    .error_for_status()?
    .json()
    .await?;
    Ok(sessions.len())
}

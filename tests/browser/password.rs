//! Password mode in headless Chromium (issue 9.2), on both examples (actix-web and axum): the
//! example's `/signin` checks the password, then the phone approves. A wrong password never
//! rings the phone.

use fantoccini::Client;

use crate::chromium::console_errors;
use crate::harness::{ExampleApp, TestResult};
use crate::page::{
    approve_pending, no_console_errors, open_phone, password_story, sign_in_with_password,
    wait_css, wait_path,
};

each_example! {
#[tokio::test]
async fn password_then_phone_and_a_wrong_password_never_rings(example) -> TestResult {
    password_story(example, "password browser test", "iampass-password-test", story).await
}
}

async fn story(c: &Client, app: &ExampleApp, password: &str) -> TestResult {
    // The dashboard sends an anonymous visitor to the example's own sign-in page.
    c.goto(&format!("{}/dashboard", app.url)).await?;
    wait_path(c, "/signin").await?;

    // A wrong password: refused by the app, no request reaches the phone.
    let before = sessions_of(app, "demo").await?;
    sign_in_with_password(c, "demo", "not the password").await?;
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
    sign_in_with_password(c, "demo", password).await?;
    wait_path(c, "/auth/login").await?;
    let home = wait_css(c, "#iampass-home").await?.text().await?;
    if home != "Acme Notes" {
        return Err(format!("the wait page's home link reads {home:?}").into());
    }
    if sessions_of(app, "demo").await? != before + 1 {
        return Err("the right password did not start exactly one login".into());
    }

    // Approve on the phone page, in a second tab; the wait page moves on by itself.
    let (app_tab, _phone_tab) = open_phone(c, app).await?;
    approve_pending(c, "demo").await?;
    c.switch_to_window(app_tab).await?;
    wait_path(c, "/dashboard").await?;
    let who = wait_css(c, "#signed-in-user").await?.text().await?;
    if who != "demo" {
        return Err(format!("the dashboard greets {who:?}").into());
    }
    no_console_errors(c).await
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

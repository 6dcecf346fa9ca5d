//! Step-up in headless Chromium (issue 23): signed in, the dashboard's "Show my API key" needs
//! a fresh facial approval; the crate's step-up page asks the phone, the phone page shows the
//! request as "confirm again", and once approved the key shows. On both examples.

use fantoccini::{Client, Locator};

use crate::harness::{ExampleApp, TestResult};
use crate::page::{
    approve_pending, no_console_errors, open_phone, password_story, sign_in_with_password,
    wait_css, wait_path,
};

each_example! {
#[tokio::test]
async fn dashboard_api_key_step_up_approve_key_shows(example) -> TestResult {
    password_story(example, "step-up browser test", "iampass-step-up-test", story).await
}
}

async fn story(c: &Client, app: &ExampleApp, password: &str) -> TestResult {
    // Sign in: the password, then the phone.
    c.goto(&format!("{}/signin", app.url)).await?;
    sign_in_with_password(c, "demo", password).await?;
    wait_path(c, "/auth/login").await?;
    let (app_tab, phone_tab) = open_phone(c, app).await?;
    approve_pending(c, "demo").await?;
    c.switch_to_window(app_tab.clone()).await?;
    wait_path(c, "/dashboard").await?;

    // The API key needs a recent facial approval: the sign-in was not one.
    wait_css(c, "#api-key-link").await?.click().await?;
    wait_path(c, "/auth/step-up").await?;
    let user = wait_css(c, "#iampass-step-up-user").await?.text().await?;
    if user != "demo" {
        return Err(format!("the step-up page names {user:?}").into());
    }
    let lead = c.find(Locator::Css("p.lead")).await?.text().await?;
    if !lead.contains("/settings/api-key") || !lead.contains("facial") {
        return Err(format!("the step-up page says {lead:?}").into());
    }
    wait_css(c, "#iampass-step-up button[type=submit]")
        .await?
        .click()
        .await?;

    // The phone shows it as a step-up of a signed-in user, with the method asked for.
    c.switch_to_window(phone_tab).await?;
    let request = wait_css(c, r#"#pending [data-user="demo"] .step-up"#)
        .await?
        .text()
        .await?;
    if !request.contains("Confirm again") || !request.contains("facial") {
        return Err(format!("the phone shows {request:?}").into());
    }
    approve_pending(c, "demo").await?;

    // The step-up page moves on by itself; the key shows.
    c.switch_to_window(app_tab).await?;
    wait_path(c, "/settings/api-key").await?;
    let key = wait_css(c, "#api-key").await?.text().await?;
    if !key.starts_with("acme_live_") {
        return Err(format!("the API key reads {key:?}").into());
    }
    // Still signed in, on the same account.
    c.goto(&format!("{}/dashboard", app.url)).await?;
    let who = wait_css(c, "#signed-in-user").await?.text().await?;
    if who != "demo" {
        return Err(format!("the dashboard greets {who:?}").into());
    }
    no_console_errors(c).await
}

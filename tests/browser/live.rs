//! The live lock in headless Chromium: an open dashboard (with `/auth/live.js`) hides its
//! content within 3 s when the phone walks away, shows it again when the phone comes back,
//! and goes to the login page when the session is closed on the phone, all without a
//! reload.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::chromium::{Chromium, browser_available, console_errors};
use crate::harness::{ExampleApp, TestResult};
use crate::page::{check, find, wait_css, wait_for};

/// How fast the open page must follow the phone (the issue's figure).
const LOCK_WITHIN: Duration = Duration::from_secs(3);
/// The example's demo user (its phone is registered at start).
const USER: &str = "demo";

#[tokio::test]
async fn open_dashboard_locks_unlocks_and_leaves_without_a_reload() -> TestResult {
    if !browser_available("live-lock browser test") {
        return Ok(());
    }
    let app = ExampleApp::start()?;
    let chromium = Chromium::start("iampass-live-test").await?;
    let c = chromium.connect("1280,900").await?;
    let outcome = story(&c, &app).await;
    if let Err(error) = &outcome {
        eprintln!("live-lock browser test failed: {error}");
        eprintln!(
            "tab at failure: {:?}",
            c.current_url().await.map(|u| u.to_string())
        );
        if let Ok(html) = c.source().await {
            eprintln!("page at failure:\n{html}");
        }
        eprintln!("example output: {:#?}", app.output());
    }
    let _ = c.close().await;
    outcome
}

async fn story(c: &Client, app: &ExampleApp) -> TestResult {
    let app_tab = c.window().await?;

    // Sign in as the demo user and approve on the phone page, in a second tab.
    c.goto(&format!("{}/dashboard", app.url)).await?;
    wait_css(c, "#iampass-user").await?.send_keys(USER).await?;
    c.find(Locator::Css(r#"#iampass-login button[type="submit"]"#))
        .await?
        .click()
        .await?;
    let phone_tab = c.new_window(true).await?.handle;
    c.switch_to_window(phone_tab.clone()).await?;
    c.goto(&app.phone_url).await?;
    let item = wait_css(c, &format!("#pending [data-user=\"{USER}\"]")).await?;
    let session = item
        .attr("data-session")
        .await?
        .ok_or("pending item has no data-session")?;
    item.find(Locator::Css(r#"button[data-action="approve"]"#))
        .await?
        .click()
        .await?;
    let button = |status: &str, action: &str| {
        format!(
            r#"#sessions [data-session="{session}"][data-status="{status}"] button[data-action="{action}"]"#
        )
    };

    // The dashboard, with the live lock connected.
    c.switch_to_window(app_tab.clone()).await?;
    wait_for(c, "the dashboard", || async {
        Ok((c.current_url().await?.path() == "/dashboard").then_some(()))
    })
    .await?;
    wait_css(c, "#signed-in-user").await?;
    wait_for(c, "live.js to connect", || async {
        let state = c
            .execute(
                "return document.documentElement.getAttribute('data-iampass-state');",
                vec![],
            )
            .await?;
        Ok((state.as_str() == Some("active")).then_some(()))
    })
    .await?;
    let url_before = c.current_url().await?;
    // A marker that a reload would wipe out.
    c.execute("window.__iampassNoReload = true;", vec![])
        .await?;

    // Walk away on the phone page: the open dashboard hides its content.
    c.switch_to_window(phone_tab.clone()).await?;
    wait_css(c, &button("active", "walkaway"))
        .await?
        .click()
        .await?;
    let walked = Instant::now();
    c.switch_to_window(app_tab.clone()).await?;
    let notice = wait_css(c, "[data-iampass-lock]").await?;
    wait_for(c, "the protected content to leave the DOM", || async {
        Ok(find(c, "#signed-in-user").await?.is_none().then_some(()))
    })
    .await?;
    let took = walked.elapsed();
    check(
        took <= LOCK_WITHIN,
        format!("the page locked after {took:?}"),
    )?;
    let text = notice.text().await?;
    check(
        text.contains("Locked: your phone is away"),
        format!("lock notice {text:?}"),
    )?;
    check(
        find(c, "#notes-title").await?.is_none(),
        "the notes are still in the DOM",
    )?;

    // Come back: the same page shows its content again.
    c.switch_to_window(phone_tab.clone()).await?;
    wait_css(c, &button("walkaway", "return"))
        .await?
        .click()
        .await?;
    let returned = Instant::now();
    c.switch_to_window(app_tab.clone()).await?;
    wait_css(c, "#signed-in-user").await?;
    check(
        returned.elapsed() <= LOCK_WITHIN,
        format!("the page unlocked after {:?}", returned.elapsed()),
    )?;
    check(
        find(c, "[data-iampass-lock]").await?.is_none(),
        "the lock notice stayed",
    )?;
    let not_reloaded = c
        .execute("return window.__iampassNoReload === true;", vec![])
        .await?;
    check(
        not_reloaded.as_bool() == Some(true) && c.current_url().await? == url_before,
        "the page was reloaded",
    )?;

    // Close the session on the phone: the tab lands on the login page, next=/dashboard.
    c.switch_to_window(phone_tab.clone()).await?;
    wait_css(c, &button("active", "close"))
        .await?
        .click()
        .await?;
    c.switch_to_window(app_tab.clone()).await?;
    wait_for(c, "the login page", || async {
        let url = c.current_url().await?;
        Ok((url.path() == "/auth/login"
            && url
                .query_pairs()
                .any(|(k, v)| k == "next" && v == "/dashboard"))
        .then_some(()))
    })
    .await?;
    wait_css(c, "#iampass-user").await?;

    let errors = console_errors(c).await;
    check(
        errors.is_empty(),
        format!("the browser console reported errors: {errors:#?}"),
    )?;
    Ok(())
}

//! The phone page in headless Chromium, driven through chromedriver: a registration link
//! registers the phone, requests appear through the event stream without a reload and its
//! buttons drive the session state machine, user strings stay text, and the console (where
//! any Content-Security-Policy violation would show) stays free of errors.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (other paths through
//! `IAMPASS_CHROMIUM` and `IAMPASS_CHROMEDRIVER`); without them the test skips, or fails when
//! `IAMPASS_REQUIRE_BROWSER=1`.

use fantoccini::{Client, Locator};

use super::*;
use crate::chromium::{Chromium, browser_available, console_errors};

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
    if !browser_available("phone page browser test") {
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

    let chromium = Chromium::start("iampass-phone-test")
        .await
        .expect("chromedriver starts");
    let client = chromium
        .connect("420,900")
        .await
        .expect("a Chromium session through chromedriver");
    client.goto(&link).await.unwrap();
    // A marker that survives only as long as the page is not reloaded.
    client
        .execute("window.iampassMarker = 42; return 1;", vec![])
        .await
        .unwrap();

    // The page follows the emulator through its event stream, not by polling.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let stream = client
            .execute("return document.body.dataset.stream || null;", vec![])
            .await
            .unwrap();
        if stream == json!("open") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the event stream never opened: {stream}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Registration.
    let panel = text_of(&client, "#registration").await;
    assert!(panel.contains("Zoë <i>Z</i>"), "{panel}");
    click(&client, r#"#registration button[data-action="register"]"#).await;
    let done = text_of(&client, "#registration .registered").await;
    assert!(done.contains("Zoë <i>Z</i>"), "{done}");
    let devices = text_of(&client, "#devices li.item").await;
    assert!(devices.contains(user), "{devices}");
    assert_eq!(
        registration_of(&management, user).await,
        DeviceRegistration::HasMobileDevice
    );

    // A request appears by itself; Approve, Walk away, Come back, Log out.
    let (mut session, token) = start_session(&emulator, APP, user).await;
    let item = format!(r#"li[data-session="{token}"]"#);
    // The `action` button of the request, listed among the sessions as `status`.
    let session_button = |status: &str, action: &str| {
        format!(r#"#sessions {item}[data-status="{status}"] button[data-action="{action}"]"#)
    };
    click(
        &client,
        &format!(r#"#pending {item} button[data-action="approve"]"#),
    )
    .await;
    await_status(&mut session, Status::Active).await;
    click(&client, &session_button("active", "walkaway")).await;
    await_status(&mut session, Status::Walkaway).await;
    click(&client, &session_button("walkaway", "return")).await;
    await_status(&mut session, Status::Active).await;
    click(&client, &session_button("active", "close")).await;
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
    session_action(&emulator, &token, SessionAction::Cancel).await;
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

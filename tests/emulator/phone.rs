//! The phone page over plain HTTP (its browser test is `browser.rs`).

use super::*;

#[tokio::test]
async fn the_phone_page() {
    let emulator = emulator().await;
    let http = reqwest::Client::new();
    user_with_phone(&emulator, APP, "alice").await;
    let (_, pending) = start_session(&emulator, APP, "alice").await;
    user_with_phone(&emulator, APP2, "bob").await;
    let (_, active) = start_session(&emulator, APP2, "bob").await;
    session_action(&emulator, &active, SessionAction::Approve).await;
    emulator
        .management_api(APP)
        .unwrap()
        .send_registration_sms("alice", None, "+15551234567", None)
        .await
        .unwrap();

    let response = http.get(emulator.phone_url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("text/html"));
    let html = response.text().await.unwrap();
    for needle in [
        r#"id="devices""#,
        r#"id="pending""#,
        r#"id="sessions""#,
        r#"id="sms""#,
        &format!(r#"data-session="{pending}" data-user="alice""#),
        &format!(r#"data-action="approve" data-session="{pending}""#),
        &format!(r#"data-action="deny" data-session="{pending}""#),
        &format!(r#"data-session="{active}" data-user="bob""#),
        r#"data-status="active""#,
        &format!(r#"data-action="walkaway" data-session="{active}""#),
        "+15551234567",
        "/_emulator/phone",
    ] {
        assert!(html.contains(needle), "phone page lacks {needle}");
    }
    session_action(&emulator, &active, SessionAction::Walkaway).await;
    // Filtered by user: only bob's phone.
    let html = get_text(
        &http,
        format!("{}?app_id={APP2}&user=bob", emulator.phone_url()),
    )
    .await;
    assert!(html.contains(&format!(r#"data-action="return" data-session="{active}""#)));
    assert!(!html.contains(&pending));
    // `/` leads to the phone.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = client.get(emulator.base_url()).send().await.unwrap();
    assert_eq!(root.status(), StatusCode::SEE_OTHER);
    assert_eq!(root.headers()["location"], "/phone");
    // Unknown links.
    let response = http
        .get(format!("{}/phone/register/nope", emulator.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    emulator.shutdown().await;
}

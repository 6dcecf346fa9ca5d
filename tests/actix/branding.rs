//! Branding of the crate's login and wait pages (issue 9.8): the application's name, a link
//! home, CSS custom properties and the colour scheme; hostile values escaped or refused; the
//! CSP allows the branding's style block by its hash only; a page-render hook replaces them.

use base64::Engine;
use iampass::actix::{ColorScheme, Page};
use sha2::Digest;

use crate::harness::*;

/// The `sha256-…` CSP source of the page's second `<style>` block (the branding's).
fn brand_style_hash(html: &str) -> Option<String> {
    let (_, rest) = html.split_once("<style>")?;
    let (_, rest) = rest.split_once("<style>")?;
    let (style, _) = rest.split_once("</style>")?;
    let digest = sha2::Sha256::digest(style.as_bytes());
    Some(format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_home_colours_and_scheme_appear_on_the_pages() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "bea").await;
    let app = start_app(
        builder(&emulator)
            .app_name("Acme <Notes> & \"Co\"")
            .home_link("/?from=login&x=1")
            .page_style("--accent", "#4338ca")
            .page_style("--font", "\"Inter\", system-ui, sans-serif")
            .color_scheme(ColorScheme::Light)
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    let page = client.get_html("/auth/login").await;
    assert_eq!(page.status, 200);
    for needle in [
        "Acme &#60;Notes&#62; &#38; &#34;Co&#34;",
        r#"<a id="iampass-home" href="/?from=login&#38;x=1">"#,
        "--accent: #4338ca;",
        "--font: \"Inter\", system-ui, sans-serif;",
        r#"<html lang="en" class="light">"#,
    ] {
        assert!(page.body.contains(needle), "{needle} in {}", page.body);
    }
    assert!(!page.body.contains("<Notes>"));
    let csp = page.header("content-security-policy").unwrap().to_owned();
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let hash = brand_style_hash(&page.body).expect("a branding style block");
    assert!(csp.contains(&hash), "{hash} in {csp}");

    // The wait page a form login lands on is branded too.
    let started = client.post_form("/auth/login", &[("user", "bea")]).await;
    assert_eq!(started.status, 303);
    let wait = client.get_html("/auth/login?wait=1").await;
    assert!(wait.body.contains("Check your phone"), "{}", wait.body);
    assert!(wait.body.contains("--accent: #4338ca;"));
    assert!(wait.body.contains(r#"id="iampass-home""#));
    assert_eq!(wait.header("content-security-policy"), Some(csp.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_pages_follow_the_system_scheme_without_a_branding_style() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let page = Client::new(&app).get_html("/auth/login").await;
    assert!(page.body.contains(r#"<html lang="en">"#), "{}", page.body);
    assert!(page.body.contains("prefers-color-scheme: dark"));
    assert_eq!(brand_style_hash(&page.body), None);
    assert!(!page.body.contains("iampass-home"));
    let dark = start_app(
        builder(&emulator)
            .color_scheme(ColorScheme::Dark)
            .build()
            .unwrap(),
    );
    let page = Client::new(&dark).get_html("/auth/login").await;
    assert!(page.body.contains(r#"<html lang="en" class="dark">"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_are_refused_or_escaped() {
    let emulator = emulator().await;
    for (property, value) in [
        ("--accent", "</style><script>alert(1)</script>"),
        ("--accent", "red; } body { display: none"),
        ("--accent", "url(https://evil.example/x.png)"),
        ("--x</style>", "red"),
    ] {
        let refused = builder(&emulator).page_style(property, value).build();
        let error = refused.expect_err(value).to_string();
        assert!(error.contains("page_style"), "{error}");
    }
    for home in ["javascript:alert(1)", "//evil.example/"] {
        let error = builder(&emulator)
            .home_link(home)
            .build()
            .expect_err(home)
            .to_string();
        assert!(error.contains("home_link"), "{error}");
    }
    assert!(builder(&emulator).app_name("a\nb").build().is_err());
    // A name is text: escaped, never markup.
    let app = start_app(
        builder(&emulator)
            .app_name("</title><script>alert(1)</script>")
            .build()
            .unwrap(),
    );
    let page = Client::new(&app).get_html("/auth/login").await;
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    assert!(page.body.contains("&#60;/title&#62;&#60;script&#62;"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_renderer_replaces_the_pages() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "hal").await;
    let app = start_app(
        builder(&emulator)
            .page_renderer(|page: &Page| match page {
                Page::Login {
                    login_url, error, ..
                } => format!(
                    "<!doctype html><p id=app-login data-action={login_url}>{}</p>",
                    error.as_deref().unwrap_or("-").len()
                ),
                Page::Wait { failed, .. } => format!("<!doctype html><p id=app-wait>{failed}</p>"),
                _ => "other".to_owned(),
            })
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    let page = client.get_html("/auth/login").await;
    assert_eq!(
        page.body,
        "<!doctype html><p id=app-login data-action=/auth/login>1</p>"
    );
    // The crate's headers stay.
    assert!(page.header("content-security-policy").is_some());
    client.post_form("/auth/login", &[("user", "hal")]).await;
    let wait = client.get_html("/auth/login?wait=1").await;
    assert_eq!(wait.body, "<!doctype html><p id=app-wait>false</p>");
}

// The locked page of a walked-away user (and the other message pages) follow the same
// branding: an app that stays light does not get a dark locked page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_locked_page_is_branded_like_the_login_page() {
    let emulator = emulator().await;
    let app = start_app(
        builder(&emulator)
            .app_name("Acme Notes")
            .page_style("--accent", "#4338ca")
            .color_scheme(ColorScheme::Light)
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "lou").await;
    let token = session_of(&emulator, "lou", iampass::Status::Active).await;
    crate::emulator_control::session_action(
        &emulator,
        &token,
        iampass::emulator::SessionAction::Walkaway,
    )
    .await;
    let locked = client.get_html("/dashboard").await;
    assert_eq!(locked.status, 403);
    for needle in [
        "Locked: your phone is away",
        "Acme Notes",
        "--accent: #4338ca;",
        r#"<html lang="en" class="light">"#,
    ] {
        assert!(locked.body.contains(needle), "{needle} in {}", locked.body);
    }
    let csp = locked.header("content-security-policy").unwrap().to_owned();
    let hash = brand_style_hash(&locked.body).expect("a branding style block");
    assert!(csp.contains(&hash), "{hash} in {csp}");
}

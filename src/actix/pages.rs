//! The ready-made HTML pages (askama templates under `templates/actix/`): the login form,
//! the no-JavaScript wait page, and a message page for errors.

use askama::Template;

#[derive(Template)]
#[template(path = "actix/login.html")]
struct LoginForm<'a> {
    login_url: &'a str,
    script_url: &'a str,
    poll_url: &'a str,
    user: &'a str,
    next: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "actix/wait.html")]
struct WaitPage<'a> {
    title: &'a str,
    message: &'a str,
    refresh: bool,
    failed: bool,
    retry_url: &'a str,
}

#[derive(Template)]
#[template(path = "actix/message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
    link: Option<&'a str>,
}

/// The login page's script, served at `{prefix}/login.js`.
pub(crate) const LOGIN_SCRIPT: &str = include_str!("../../templates/actix/login.js");

/// `sha256-…` of the base page's one inline `<style>` block, for the pages' CSP.
pub(crate) fn base_style_hash() -> String {
    use base64::Engine;
    use sha2::Digest;
    let template = include_str!("../../templates/actix/base.html");
    let style = template
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map_or("", |(style, _)| style);
    let digest = sha2::Sha256::digest(style.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn render(result: askama::Result<String>) -> String {
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot render an IAMPASS page");
        "<!doctype html><title>Error</title><p>The page could not be shown.</p>".to_owned()
    })
}

/// The login form, posting to `{prefix}/login`.
pub(crate) fn login_form(prefix: &str, user: &str, next: &str, error: Option<&str>) -> String {
    let login_url = format!("{prefix}/login");
    let poll_url = format!("{prefix}/poll");
    let script_url = format!("{prefix}/login.js");
    render(
        LoginForm {
            login_url: &login_url,
            script_url: &script_url,
            poll_url: &poll_url,
            user,
            next,
            error,
        }
        .render(),
    )
}

/// What the wait page shows.
pub(crate) enum Wait<'a> {
    /// Still waiting for the phone (the page refreshes itself); `retry_url` starts over.
    Waiting {
        message: &'a str,
        retry_url: &'a str,
    },
    /// The login ended without success; `retry_url` starts over.
    Failed {
        message: &'a str,
        retry_url: &'a str,
    },
}

/// The self-refreshing page a form login lands on without JavaScript.
pub(crate) fn wait_page(wait: Wait<'_>) -> String {
    let page = match wait {
        Wait::Waiting { message, retry_url } => WaitPage {
            title: "Check your phone",
            message,
            refresh: true,
            failed: false,
            retry_url,
        },
        Wait::Failed { message, retry_url } => WaitPage {
            title: "Sign-in did not complete",
            message,
            refresh: false,
            failed: true,
            retry_url,
        },
    };
    render(page.render())
}

/// A plain message page (503 while IAMPASS is unavailable, configuration errors).
pub(crate) fn unavailable_page(message: &str) -> String {
    message_page("Please try again shortly", message, None)
}

/// A titled message page with an optional "Continue" link.
pub(crate) fn message_page(title: &str, message: &str, link: Option<&str>) -> String {
    render(
        MessagePage {
            title,
            message,
            link,
        }
        .render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_form_is_accessible_and_escaped() {
        let html = login_form("/auth", "<b>\"x\"", "/next?a=1&b=2", Some("<oops>"));
        for needle in [
            r#"<form id="iampass-login" method="post" action="/auth/login""#,
            r#"<input id="iampass-user" name="user""#,
            r#"<label for="iampass-user">"#,
            r#"<button type="submit">"#,
            r#"id="iampass-status""#,
            r#"name="next" value="/next?a=1&#38;b=2""#,
            "&#60;oops&#62;",
        ] {
            assert!(html.contains(needle), "{needle} in {html}");
        }
        assert!(!html.contains("<b>"));
        assert!(!html.contains("<oops>"));
    }

    #[test]
    fn wait_page_refreshes_until_it_fails() {
        let waiting = wait_page(Wait::Waiting {
            message: "approve on your phone",
            retry_url: "/auth/login",
        });
        assert!(waiting.contains(r#"href="/auth/login""#));
        assert!(waiting.contains(r#"<meta http-equiv="refresh" content="2">"#));
        let failed = wait_page(Wait::Failed {
            message: "denied",
            retry_url: "/auth/login?next=%2Fx",
        });
        assert!(!failed.contains("http-equiv"));
        assert!(failed.contains(r#"href="/auth/login?next=%2Fx""#));
    }
}

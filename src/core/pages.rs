//! The ready-made HTML pages (askama templates under `templates/pages/`): the login form,
//! the step-up page, the no-JavaScript wait page, and a message page for errors. The login and wait pages
//! carry the application's [`Branding`], or are the application's own HTML through its page
//! renderer.

use askama::Template;

use crate::core::{Branding, Page};

/// What the base layout shows of the branding.
#[derive(Default)]
struct Brand<'a> {
    app_name: Option<&'a str>,
    home: Option<&'a str>,
    /// The checked custom-property block (allowed by its hash in the CSP).
    style: &'a str,
    /// `""`, `light` or `dark`: the `<html>` class.
    scheme: &'a str,
}

impl<'a> Brand<'a> {
    fn of(branding: &'a Branding) -> Self {
        Brand {
            app_name: branding.app_name.as_deref(),
            home: branding.home.as_deref(),
            style: &branding.style,
            scheme: branding.color_scheme.class(),
        }
    }
}

#[derive(Template)]
#[template(path = "pages/login.html")]
struct LoginForm<'a> {
    brand: Brand<'a>,
    login_url: &'a str,
    script_url: &'a str,
    poll_url: &'a str,
    user: &'a str,
    next: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "pages/step_up.html")]
struct StepUpForm<'a> {
    brand: Brand<'a>,
    step_up_url: &'a str,
    script_url: &'a str,
    poll_url: &'a str,
    user: &'a str,
    next: &'a str,
    /// The methods, for people (`facial, device`).
    methods: &'a str,
    /// The methods, for the form (`facial,device`).
    methods_value: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "pages/wait.html")]
struct WaitPage<'a> {
    brand: Brand<'a>,
    title: &'a str,
    message: &'a str,
    refresh: bool,
    failed: bool,
    retry_url: &'a str,
}

#[derive(Template)]
#[template(path = "pages/message.html")]
struct MessagePage<'a> {
    brand: Brand<'a>,
    title: &'a str,
    message: &'a str,
    link: Option<&'a str>,
}

/// The login page's script, served at `{prefix}/login.js`.
pub(crate) const LOGIN_SCRIPT: &str = include_str!("../../templates/pages/login.js");

fn render(result: askama::Result<String>) -> String {
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot render an IAMPASS page");
        "<!doctype html><title>Error</title><p>The page could not be shown.</p>".to_owned()
    })
}

/// The login form, posting to `{prefix}/login`.
pub(crate) fn login_form(
    branding: &Branding,
    prefix: &str,
    user: &str,
    next: &str,
    error: Option<&str>,
) -> String {
    let login_url = format!("{prefix}/login");
    let poll_url = format!("{prefix}/poll");
    let script_url = format!("{prefix}/login.js");
    if let Some(renderer) = &branding.renderer {
        return renderer(&Page::Login {
            login_url,
            poll_url,
            script_url,
            user: user.to_owned(),
            next: next.to_owned(),
            error: error.map(str::to_owned),
        });
    }
    render(
        LoginForm {
            brand: Brand::of(branding),
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

/// The step-up page: who is signed in, where they are going, and a button that posts to
/// `{prefix}/step-up` (the login script submits it as JSON and polls).
pub(crate) fn step_up_form(
    branding: &Branding,
    prefix: &str,
    user: &str,
    next: &str,
    methods: &[crate::AuthenticationMethod],
    error: Option<&str>,
) -> String {
    let step_up_url = format!("{prefix}/step-up");
    let poll_url = format!("{prefix}/poll");
    let script_url = format!("{prefix}/login.js");
    let names: Vec<String> = methods.iter().map(|m| m.as_str().to_owned()).collect();
    if let Some(renderer) = &branding.renderer {
        return renderer(&Page::StepUp {
            step_up_url,
            poll_url,
            script_url,
            user: user.to_owned(),
            next: next.to_owned(),
            methods: names,
            error: error.map(str::to_owned),
        });
    }
    render(
        StepUpForm {
            brand: Brand::of(branding),
            step_up_url: &step_up_url,
            script_url: &script_url,
            poll_url: &poll_url,
            user,
            next,
            methods: &names.join(", "),
            methods_value: &names.join(","),
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

/// The self-refreshing page a form login (or a step-up, `step_up`) lands on without
/// JavaScript.
pub(crate) fn wait_page(branding: &Branding, wait: Wait<'_>, step_up: bool) -> String {
    let brand = Brand::of(branding);
    let page = match wait {
        Wait::Waiting { message, retry_url } => WaitPage {
            brand,
            title: "Check your phone",
            message,
            refresh: true,
            failed: false,
            retry_url,
        },
        Wait::Failed { message, retry_url } => WaitPage {
            brand,
            title: if step_up {
                "Not confirmed"
            } else {
                "Sign-in did not complete"
            },
            message,
            refresh: false,
            failed: true,
            retry_url,
        },
    };
    if let Some(renderer) = &branding.renderer {
        return renderer(&Page::Wait {
            title: page.title.to_owned(),
            message: page.message.to_owned(),
            failed: page.failed,
            retry_url: page.retry_url.to_owned(),
        });
    }
    render(page.render())
}

/// A plain message page (503 while IAMPASS is unavailable, configuration errors).
pub(crate) fn unavailable_page(branding: &Branding, message: &str) -> String {
    message_page(branding, "Please try again shortly", message, None)
}

/// A titled message page with an optional "Continue" link, branded like the login and wait
/// pages (same name, home link, colours and colour scheme).
pub(crate) fn message_page(
    branding: &Branding,
    title: &str,
    message: &str,
    link: Option<&str>,
) -> String {
    render(
        MessagePage {
            brand: Brand::of(branding),
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
        let html = login_form(
            &Branding::default(),
            "/auth",
            "<b>\"x\"",
            "/next?a=1&b=2",
            Some("<oops>"),
        );
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
        let waiting = wait_page(
            &Branding::default(),
            Wait::Waiting {
                message: "approve on your phone",
                retry_url: "/auth/login",
            },
            false,
        );
        assert!(waiting.contains(r#"href="/auth/login""#));
        assert!(waiting.contains(r#"<meta http-equiv="refresh" content="2">"#));
        let failed = wait_page(
            &Branding::default(),
            Wait::Failed {
                message: "denied",
                retry_url: "/auth/login?next=%2Fx",
            },
            true,
        );
        assert!(failed.contains("Not confirmed"));
        assert!(!failed.contains("http-equiv"));
        assert!(failed.contains(r#"href="/auth/login?next=%2Fx""#));
    }
}

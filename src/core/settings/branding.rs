//! How the crate's login and wait pages look: the application's name, a link home, CSS custom
//! properties (colours, font) and the colour scheme ([`Branding`], set through
//! [`IampassBuilder::app_name`](crate::core::IampassBuilder::app_name) and its neighbours), or the
//! application's own HTML through a page-render hook
//! ([`IampassBuilder::page_renderer`](crate::core::IampassBuilder::page_renderer)).
//!
//! The custom properties go into one `<style>` block that the pages' Content-Security-Policy
//! allows by its hash (no `unsafe-inline`); their names and values are checked against a
//! conservative character set when the configuration is built, since nothing can be escaped
//! inside CSS.

use std::fmt;
use std::sync::Arc;

use crate::Error;

/// The colour scheme of the crate's pages.
///
/// ```
/// use iampass::actix::ColorScheme;
/// assert_eq!(ColorScheme::default(), ColorScheme::Auto);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColorScheme {
    /// Follow the visitor's system setting (`prefers-color-scheme`), the default.
    #[default]
    Auto,
    /// Always light, like an application that has no dark mode.
    Light,
    /// Always dark.
    Dark,
}

impl ColorScheme {
    /// The class of the pages' `<html>` element.
    pub(crate) fn class(self) -> &'static str {
        match self {
            ColorScheme::Auto => "",
            ColorScheme::Light => "light",
            ColorScheme::Dark => "dark",
        }
    }
}

/// One of the crate's pages, as data, for a [page renderer](crate::core::IampassBuilder::page_renderer).
///
/// Every string is raw text: escape it when writing HTML (askama, maud and the like do).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Page {
    /// The login form (`GET {prefix}/login`). Its form posts `user` and `next` to
    /// `login_url`; the crate's script at `script_url` (optional) submits it as JSON and
    /// polls `poll_url`, and expects the ids of the crate's page (`iampass-login`,
    /// `iampass-user`, `iampass-status`, `iampass-status-text`, `iampass-spinner`).
    Login {
        /// Where the form posts.
        login_url: String,
        /// Where the login is polled.
        poll_url: String,
        /// The crate's login script.
        script_url: String,
        /// The user name to prefill.
        user: String,
        /// Where to go once signed in (a same-site path).
        next: String,
        /// What went wrong, to show.
        error: Option<String>,
    },
    /// The step-up page (`GET {prefix}/step-up`): a signed-in user is asked to approve
    /// again on the phone before going on to `next`. Its form (id `iampass-step-up`) posts
    /// `next` and `methods` (comma-separated) to `step_up_url`; the crate's script at
    /// `script_url` submits it as JSON and polls `poll_url`, and expects the status ids of
    /// the login page (`iampass-status`, `iampass-status-text`, `iampass-spinner`).
    StepUp {
        /// Where the form posts.
        step_up_url: String,
        /// Where the step-up is polled.
        poll_url: String,
        /// The crate's login script (it also drives this page).
        script_url: String,
        /// The signed-in user's name.
        user: String,
        /// Where to go once confirmed (a same-site path).
        next: String,
        /// The methods the phone is asked for (empty: IAMPASS chooses).
        methods: Vec<String>,
        /// What went wrong, to show.
        error: Option<String>,
    },
    /// The no-JavaScript wait page: reload it every few seconds while `failed` is false.
    Wait {
        /// The heading.
        title: String,
        /// How the login stands.
        message: String,
        /// `true` once the login ended without success.
        failed: bool,
        /// Starts over.
        retry_url: String,
    },
}

type Renderer = Arc<dyn Fn(&Page) -> String + Send + Sync + 'static>;

/// The look of the crate's pages (see the module docs). Built by the builder's knobs.
#[derive(Clone, Default)]
pub(crate) struct Branding {
    pub(crate) app_name: Option<String>,
    pub(crate) home: Option<String>,
    pub(crate) properties: Vec<(String, String)>,
    pub(crate) color_scheme: ColorScheme,
    pub(crate) renderer: Option<Renderer>,
    /// The `<style>` block of the custom properties (empty without any), once checked.
    pub(crate) style: String,
    /// The pages' CSP with that block's hash, once checked.
    pub(crate) csp: Option<Arc<str>>,
}

impl fmt::Debug for Branding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Branding")
            .field("app_name", &self.app_name)
            .field("home", &self.home)
            .field("properties", &self.properties)
            .field("color_scheme", &self.color_scheme)
            .field("renderer", &self.renderer.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

/// Longest custom-property value, in bytes.
const MAX_VALUE_LEN: usize = 200;
/// Longest application name, in characters.
const MAX_APP_NAME_CHARS: usize = 80;

impl Branding {
    /// Checks the settings and prepares the style block and the CSP (at `build()`).
    pub(crate) fn checked(mut self) -> Result<Self, Error> {
        if let Some(name) = &self.app_name
            && (name.trim().is_empty()
                || name.chars().count() > MAX_APP_NAME_CHARS
                || name.chars().any(char::is_control))
        {
            return Err(Error::Config(format!(
                "app_name must be 1 to {MAX_APP_NAME_CHARS} characters without control characters"
            )));
        }
        if let Some(home) = &self.home
            && !home_link_ok(home)
        {
            return Err(Error::Config(format!(
                "home_link must be a same-site path (`/`) or an http(s) URL, not {home:?}"
            )));
        }
        let mut style = String::new();
        for (name, value) in &self.properties {
            check_property(name, value).map_err(Error::Config)?;
            style.push_str(&format!("{name}: {value}; "));
        }
        if !style.is_empty() {
            // `:root:root:root` outranks the base page's dark-scheme rules, so the
            // application's values hold in every scheme.
            self.style = format!(":root:root:root {{ {style}}}");
            self.csp = Some(
                crate::core::csp::page_csp_with(&crate::core::csp::style_hash(&self.style)).into(),
            );
        }
        Ok(self)
    }
}

/// A same-site absolute path (not `//host`), or an `http(s)://` URL, without spaces or
/// control characters (the value lands in an `href`, escaped).
fn home_link_ok(home: &str) -> bool {
    let plain = !home.is_empty() && !home.chars().any(|c| c.is_whitespace() || c.is_control());
    let path = home.starts_with('/') && !home.starts_with("//") && !home.starts_with("/\\");
    let absolute = url::Url::parse(home).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    plain && (path || absolute)
}

/// A custom property's name is `--` and lower-case letters, digits and dashes; its value
/// uses letters, digits, spaces and `#%(),.-+/!'"` only (no `<`, `>`, `;`, `{`, `}`, `\`,
/// no comment, no `url(`), with balanced quotes and parentheses.
fn check_property(name: &str, value: &str) -> Result<(), String> {
    let name_ok = name.len() > 2
        && name.len() <= 40
        && name.starts_with("--")
        && name[2..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name_ok {
        return Err(format!(
            "page_style: {name:?} is not a custom property name (`--` then a-z, 0-9, -)"
        ));
    }
    let value_ok = !value.trim().is_empty()
        && value.len() <= MAX_VALUE_LEN
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " #%(),.-+/!'\"".contains(c))
        && !value.contains("/*")
        && !value.contains("*/")
        && !value.to_ascii_lowercase().contains("url(")
        && value.matches('"').count().is_multiple_of(2)
        && value.matches('\'').count().is_multiple_of(2)
        && value.matches('(').count() == value.matches(')').count();
    if !value_ok {
        return Err(format!(
            "page_style: the value of {name} is refused: use letters, digits, spaces and \
             #%(),.-+/!'\" only (colours, lengths, font names), at most {MAX_VALUE_LEN} bytes"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_against_a_conservative_set() {
        for (name, value) in [
            ("--accent", "#4338ca"),
            ("--font", "\"Inter\", system-ui, sans-serif"),
            ("--bg", "rgb(250 250 250 / 90%)"),
        ] {
            assert_eq!(check_property(name, value), Ok(()), "{name}: {value}");
        }
        for (name, value) in [
            ("--accent", "</style><script>alert(1)</script>"),
            ("--accent", "red; } body { display: none"),
            ("--accent", "url(https://evil.example/x)"),
            ("--accent", "red /* x */"),
            ("--accent", "\"unbalanced"),
            ("--accent", ""),
            ("accent", "red"),
            ("--Accent", "red"),
            ("--a;b", "red"),
        ] {
            assert!(check_property(name, value).is_err(), "{name}: {value}");
        }
    }

    #[test]
    fn home_links_are_paths_or_web_urls() {
        for ok in ["/", "/home?x=1", "https://example.com/"] {
            assert!(home_link_ok(ok), "{ok}");
        }
        for bad in ["//evil.example", "javascript:alert(1)", "home", "/a b", ""] {
            assert!(!home_link_ok(bad), "{bad}");
        }
    }
}

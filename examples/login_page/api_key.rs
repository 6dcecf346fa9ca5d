//! Step-up for a sensitive action: `GET /settings/api-key` shows a (made-up) API key only
//! after a recent approval on the phone (the glue wraps the route in the crate's step-up
//! guard: actix `Iampass::require_recent`, axum `RequireRecentLayer`), with the methods of
//! `IAMPASS_STEP_UP_METHODS`; an older approval is sent to the crate's step-up page first.

use std::time::Duration;

use askama::Template;
use http::StatusCode;
use iampass::AuthenticationMethod;
use iampass::core::IampassIdentity;

use crate::answer::Answer;
use crate::pages::{AppState, Layout, format_unix_utc, html};

/// How recent the approval must be, and with which methods (`IAMPASS_STEP_UP_SECS`,
/// `IAMPASS_STEP_UP_METHODS`).
#[derive(Debug, Clone)]
pub struct StepUp {
    pub window: Duration,
    pub methods: Vec<AuthenticationMethod>,
}

impl StepUp {
    /// From the environment: 300 s and `facial` by default.
    pub fn from_env() -> Result<StepUp, String> {
        let window = match crate::setup::env("IAMPASS_STEP_UP_SECS") {
            None => Duration::from_secs(300),
            Some(secs) => match secs.trim().parse::<u64>() {
                Ok(secs) if secs > 0 => Duration::from_secs(secs),
                _ => {
                    return Err(format!(
                        "IAMPASS_STEP_UP_SECS must be a whole number of seconds above 0, not \
                         {secs:?}"
                    ));
                }
            },
        };
        let methods = crate::setup::env("IAMPASS_STEP_UP_METHODS")
            .unwrap_or_else(|| "facial".to_owned())
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(|m| {
                m.parse::<AuthenticationMethod>().map_err(|_| {
                    format!(
                        "IAMPASS_STEP_UP_METHODS: unknown method {m:?} (acceptance, device, \
                         facial)"
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StepUp { window, methods })
    }
}

#[derive(Template)]
#[template(path = "example/api_key.html")]
struct ApiKeyPage {
    layout: Layout,
    key: String,
    window: String,
    methods: String,
    approved_at: String,
}

/// A made-up key, the same for a user during one run.
fn made_up_key(user: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    static SEED: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let mut hasher = SEED.get_or_init(Default::default).build_hasher();
    hasher.write(user.as_bytes());
    format!("acme_live_{:016x}", hasher.finish())
}

/// `GET /settings/api-key` for `who`, whose approval the route's step-up guard found recent
/// enough (each example's glue wraps the route in `require_recent`).
pub fn page(state: &AppState, who: &IampassIdentity) -> Answer {
    let step_up = &state.step_up;
    let approved_at = who
        .approved_at()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let methods: Vec<&str> = step_up.methods.iter().map(|m| m.as_str()).collect();
    let page = ApiKeyPage {
        layout: Layout::new(state, Some(who.user().to_owned())),
        key: made_up_key(who.user()),
        window: format!("{} s", step_up.window.as_secs()),
        methods: methods.join(", "),
        approved_at: format_unix_utc(approved_at),
    };
    // A secret on the page: no shared or back-button copies of it.
    html(StatusCode::OK, &page).no_store()
}

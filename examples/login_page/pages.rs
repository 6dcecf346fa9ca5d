//! The example's own pages, whatever the framework: the state every handler shares, home,
//! dashboard, the locked page, and the stylesheet and icon they share. Each handler takes
//! what the framework extracted (the request's head as a `RequestHead`, the identity) and
//! gives an [`Answer`]; each example's `main` routes to them.

use askama::Template;
use http::StatusCode;
use http::header;
use iampass::core::is_safe_redirect;
use iampass::core::store::Rate;
use iampass::core::{Denial, Iampass, IampassIdentity, RequestHead, accepts_html};
use iampass::{ManagementApi, Status};

use crate::answer::Answer;
use crate::api_key::StepUp;
use crate::passwords::Passwords;

/// The longest user name or display name the sign-up form accepts, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Sign-ups per client address: each one creates a user at IAMPASS (and hashes a password).
/// Counted in the deployment's store, so instances sharing Redis share it.
pub const SIGN_UPS_PER_ADDRESS: Rate = Rate::per_minute(5);

const STYLESHEET: &str = include_str!("../../templates/example/app.css");
const FAVICON: &str = include_str!("../../templates/example/favicon.svg");

/// What every handler needs: the deployment, the management API (sign-up) and, in demo
/// mode, the emulator's phone page (linked from the footer).
pub struct AppState {
    pub iampass: Iampass,
    pub management: ManagementApi,
    pub phone_url: Option<String>,
    /// Names signed up here, by collision key, so a look-alike of one is refused.
    pub names: UserNames,
    /// How users sign in: a password then the phone, or the phone alone.
    pub mode: LoginMode,
    /// The first factor's passwords (used in [`LoginMode::Password`]).
    pub passwords: Passwords,
    /// How recent an approval `/settings/api-key` wants (`IAMPASS_STEP_UP_*`).
    pub step_up: StepUp,
}

/// How the example signs users in (`LOGIN_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMode {
    /// The example's own `/signin` checks a password, then starts the phone approval with
    /// `Iampass::start_login`; the crate's public `POST /auth/login` is off.
    Password,
    /// The crate's public user-name sign-in on `POST /auth/login` (the phone alone).
    Passwordless,
}

impl LoginMode {
    /// `LOGIN_MODE`: unset or `password`, or `passwordless`; anything else is an error.
    pub fn parse(value: Option<&str>) -> Result<LoginMode, String> {
        match value.map(str::trim) {
            None | Some("password") => Ok(LoginMode::Password),
            Some("passwordless") => Ok(LoginMode::Passwordless),
            Some(other) => Err(format!(
                "LOGIN_MODE must be `password` (the default) or `passwordless`, not {other:?}"
            )),
        }
    }

    /// The sign-in page, coming back to the dashboard.
    pub fn signin_href(self) -> &'static str {
        match self {
            LoginMode::Password => "/signin?next=%2Fdashboard",
            LoginMode::Passwordless => "/auth/login?next=%2Fdashboard",
        }
    }
}

/// The user names of this app, kept unique by [`iampass::user_name::collision_key`]: `DEMO`,
/// `dеmo` (Cyrillic `е`) and `demo` + an invisible character cannot sit beside `demo`.
#[derive(Default)]
pub struct UserNames(std::sync::Mutex<std::collections::HashMap<String, String>>);

impl UserNames {
    pub fn with<const N: usize>(names: [&str; N]) -> Self {
        let taken = UserNames::default();
        for name in names {
            let _ = taken.claim(&iampass::user_name::collision_key(name), name);
        }
        taken
    }

    /// Takes `key` for `name`; the name that already has it, if any.
    pub fn claim(&self, key: &str, name: &str) -> Result<(), String> {
        let mut names = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match names.get(key) {
            Some(existing) => Err(existing.clone()),
            None => {
                names.insert(key.to_owned(), name.to_owned());
                Ok(())
            }
        }
    }

    pub fn release(&self, key: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

/// What the shared layout (`base.html`) shows: who is signed in and the demo phone's link.
pub struct Layout {
    pub user: Option<String>,
    /// Where "Sign in" links go (the mode's sign-in page).
    pub signin_href: &'static str,
    /// Password mode: sign-up asks for a password.
    pub passwords: bool,
    pub phone_url: Option<String>,
    /// The account links in the header (hidden on the locked page, whose user is neither
    /// signed in nor out).
    pub account_nav: bool,
}

impl Layout {
    pub fn new(state: &AppState, user: Option<String>) -> Self {
        Layout {
            user,
            signin_href: state.mode.signin_href(),
            passwords: state.mode == LoginMode::Password,
            phone_url: state.phone_url.clone(),
            account_nav: true,
        }
    }
}

#[derive(Template)]
#[template(path = "example/home.html")]
struct HomePage {
    layout: Layout,
}

#[derive(Template)]
#[template(path = "example/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    user: String,
    iampass_user_id: String,
    status: String,
    issued_at: String,
}

#[derive(Template)]
#[template(path = "example/locked.html")]
struct LockedPage {
    layout: Layout,
    retry_href: String,
}

/// `GET /`.
pub fn home(state: &AppState, who: Option<IampassIdentity>) -> Answer {
    let user = who.map(|who| who.user().to_owned());
    html(
        StatusCode::OK,
        &HomePage {
            layout: Layout::new(state, user),
        },
    )
}

/// `GET /dashboard`, for the signed-in user `who` (the route requires one).
pub fn dashboard(state: &AppState, who: &IampassIdentity) -> Answer {
    let page = DashboardPage {
        layout: Layout::new(state, Some(who.user().to_owned())),
        user: who.user().to_owned(),
        iampass_user_id: who.iampass_user_id().to_owned(),
        // A `RequireIampass` exists only while IAMPASS says the session is active.
        status: Status::Active.to_string(),
        issued_at: format_utc(who.issued_at()),
    };
    // The dashboard is personal: no shared or back-button copies of it.
    html(StatusCode::OK, &page).no_store()
}

/// Answers a request that needs a signed-in user and has none (the builder's
/// `unauthenticated_responder`). A browser whose phone walked away is sent to the "locked"
/// page (its cookie is kept, so coming back unlocks the app); everything else gets the
/// crate's default (`303` to the login page, `401` JSON, `503` while IAMPASS is unreachable):
/// `None`, for the framework's glue to answer with it.
pub fn unauthenticated(request: &impl RequestHead, denial: &Denial) -> Option<Answer> {
    let walked_away = matches!(
        denial,
        Denial::Unauthenticated {
            status: Some(Status::Walkaway),
            ..
        }
    );
    if !(walked_away && accepts_html(request)) {
        return None;
    }
    let back = safe_path(Some(request.path()));
    let location = format!(
        "/locked?next={}",
        percent_encoding::utf8_percent_encode(back, percent_encoding::NON_ALPHANUMERIC)
    );
    Some(Answer::see_other(&location).no_store())
}

/// `GET /locked?next=/path`: the app is locked because the phone walked away.
pub fn locked(
    state: &AppState,
    request: &impl RequestHead,
    who: Option<IampassIdentity>,
) -> Answer {
    let next = query_param(request, "next");
    let next = safe_path(next.as_deref()).to_owned();
    if who.is_some() {
        // The phone is back already: straight on.
        return Answer::see_other(&next);
    }
    html(
        StatusCode::OK,
        &LockedPage {
            layout: Layout {
                account_nav: false,
                ..Layout::new(state, None)
            },
            retry_href: next,
        },
    )
    .no_store()
}

/// The query parameter `name`, decoded; the last one when it is repeated.
pub fn query_param(request: &impl RequestHead, name: &str) -> Option<String> {
    url::form_urlencoded::parse(request.query().as_bytes())
        .filter(|(key, _)| key == name)
        .last()
        .map(|(_, value)| value.into_owned())
}

/// `path` if it is a safe same-site path (the crate's own rule), else `/dashboard`.
pub fn safe_path(path: Option<&str>) -> &str {
    path.filter(|p| is_safe_redirect(p)).unwrap_or("/dashboard")
}

/// Renders a page with the headers every page of the example carries.
pub fn html(status: StatusCode, page: &impl Template) -> Answer {
    match page.render() {
        Ok(body) => Answer::new(status, body)
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                 frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            )
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(header::REFERRER_POLICY, "same-origin"),
        Err(error) => {
            eprintln!("login_page: template error: {error}");
            Answer::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        }
    }
}

/// `GET /static/app.css`.
pub fn stylesheet() -> Answer {
    Answer::new(StatusCode::OK, STYLESHEET)
        .header(header::CONTENT_TYPE, "text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=3600")
}

/// `GET /favicon.svg` and `GET /favicon.ico`.
pub fn favicon() -> Answer {
    Answer::new(StatusCode::OK, FAVICON)
        .header(header::CONTENT_TYPE, "image/svg+xml")
        .header(header::CACHE_CONTROL, "public, max-age=86400")
}

/// `2025-01-31 14:05 UTC` for a Unix time in seconds (no date crate needed for one line).
pub fn format_unix_utc(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rem = seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60
    )
}

fn format_utc(at: std::time::SystemTime) -> String {
    match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => format_unix_utc(since.as_secs()),
        Err(_) => "unknown".to_owned(),
    }
}

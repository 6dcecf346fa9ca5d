//! The example's own pages: home, dashboard, sign-up (with the registration QR code), errors,
//! and the stylesheet and icon they share.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use iampass::actix::{Denial, Iampass, IampassIdentity, RequireIampass};
use iampass::core::accepts_html;
use iampass::core::is_safe_redirect;
use iampass::core::is_same_origin;
use iampass::core::store::{LimitKey, Rate};
use iampass::{AddUserResult, ManagementApi, Status, user_name};

use crate::passwords::{HashError, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, Passwords};

/// The longest user name or display name the sign-up form accepts, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Sign-ups per client address: each one creates a user at IAMPASS (and hashes a password).
/// Counted in the deployment's store, so instances sharing Redis share it.
pub const SIGN_UPS_PER_ADDRESS: Rate = Rate::per_minute(5);

const STYLESHEET: &str = include_str!("../../templates/example/app.css");
const FAVICON: &str = include_str!("../../templates/example/favicon.svg");

/// What every handler needs: the management API (sign-up) and, in demo mode, the emulator's
/// phone page (linked from the footer).
pub struct AppState {
    pub management: ManagementApi,
    pub phone_url: Option<String>,
    /// Names signed up here, by collision key, so a look-alike of one is refused.
    pub names: UserNames,
    /// How users sign in: a password then the phone, or the phone alone.
    pub mode: LoginMode,
    /// The first factor's passwords (used in [`LoginMode::Password`]).
    pub passwords: Passwords,
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
    fn claim(&self, key: &str, name: &str) -> Result<(), String> {
        let mut names = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match names.get(key) {
            Some(existing) => Err(existing.clone()),
            None => {
                names.insert(key.to_owned(), name.to_owned());
                Ok(())
            }
        }
    }

    fn release(&self, key: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

/// The example's routes; the crate's `/auth` routes are configured next to them in `main`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/dashboard", web::get().to(dashboard))
        .route("/locked", web::get().to(locked))
        .route("/register", web::get().to(register_form))
        .route("/register", web::post().to(register_submit))
        .route("/static/app.css", web::get().to(stylesheet))
        .route("/favicon.svg", web::get().to(favicon))
        .route("/favicon.ico", web::get().to(favicon));
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
#[template(path = "example/register.html")]
struct RegisterPage {
    layout: Layout,
    user: String,
    display_name: String,
    error: Option<String>,
    max_len: usize,
    min_password: usize,
}

#[derive(Template)]
#[template(path = "example/registered.html")]
struct RegisteredPage {
    layout: Layout,
    user: String,
    link: String,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "example/locked.html")]
struct LockedPage {
    layout: Layout,
    retry_href: String,
}

#[derive(Template)]
#[template(path = "example/error.html")]
struct ErrorPage {
    layout: Layout,
    code: u16,
    title: String,
    message: String,
    back_href: &'static str,
    back_label: &'static str,
}

async fn home(who: Option<IampassIdentity>, state: web::Data<AppState>) -> HttpResponse {
    let user = who.map(|who| who.user().to_owned());
    html(
        StatusCode::OK,
        &HomePage {
            layout: Layout::new(&state, user),
        },
    )
}

async fn dashboard(who: RequireIampass, state: web::Data<AppState>) -> HttpResponse {
    let page = DashboardPage {
        layout: Layout::new(&state, Some(who.user().to_owned())),
        user: who.user().to_owned(),
        iampass_user_id: who.iampass_user_id().to_owned(),
        // A `RequireIampass` exists only while IAMPASS says the session is active.
        status: Status::Active.to_string(),
        issued_at: format_utc(who.issued_at()),
    };
    let mut response = html(StatusCode::OK, &page);
    // The dashboard is personal: no shared or back-button copies of it.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Answers a request that needs a signed-in user and has none (the builder's
/// `unauthenticated_responder`). A browser whose phone walked away is sent to the "locked"
/// page (its cookie is kept, so coming back unlocks the app); everything else gets the
/// crate's default (`303` to the login page, `401` JSON, `503` while IAMPASS is unreachable).
pub fn unauthenticated(request: &HttpRequest, denial: &Denial) -> HttpResponse {
    let walked_away = matches!(
        denial,
        Denial::Unauthenticated {
            status: Some(Status::Walkaway),
            ..
        }
    );
    if !(walked_away && accepts_html(request)) {
        return denial.default_response(request);
    }
    let back = safe_path(Some(request.uri().path()));
    let location = format!(
        "/locked?next={}",
        percent_encoding::utf8_percent_encode(back, percent_encoding::NON_ALPHANUMERIC)
    );
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `GET /locked?next=/path`: the app is locked because the phone walked away.
async fn locked(
    request: HttpRequest,
    who: Option<IampassIdentity>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let next =
        web::Query::<std::collections::HashMap<String, String>>::from_query(request.query_string())
            .ok()
            .and_then(|query| query.get("next").cloned());
    let next = safe_path(next.as_deref()).to_owned();
    if who.is_some() {
        // The phone is back already: straight on.
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, next))
            .finish();
    }
    let mut response = html(
        StatusCode::OK,
        &LockedPage {
            layout: Layout {
                account_nav: false,
                ..Layout::new(&state, None)
            },
            retry_href: next,
        },
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `path` if it is a safe same-site path (the crate's own rule), else `/dashboard`.
pub fn safe_path(path: Option<&str>) -> &str {
    path.filter(|p| is_safe_redirect(p)).unwrap_or("/dashboard")
}

async fn register_form(who: Option<IampassIdentity>, state: web::Data<AppState>) -> HttpResponse {
    let user = who.map(|who| who.user().to_owned());
    html(
        StatusCode::OK,
        &RegisterPage {
            layout: Layout::new(&state, user),
            user: String::new(),
            display_name: String::new(),
            error: None,
            max_len: MAX_NAME_CHARS,
            min_password: MIN_PASSWORD_CHARS,
        },
    )
}

/// `POST /register`: adds the user at IAMPASS and shows the phone registration link.
///
/// The body is parsed by hand so that every malformed submission gets the form back with a
/// 400 and a message, never actix's bare text answer. A valid, free name counts against its
/// address's [`SIGN_UPS_PER_ADDRESS`] (`429` with `Retry-After` beyond it); in password mode
/// the password is hashed before the user is created (`503` with `Retry-After: 1` when every
/// hashing slot is taken, and nothing is created).
async fn register_submit(
    request: HttpRequest,
    body: web::Bytes,
    who: Option<IampassIdentity>,
    state: web::Data<AppState>,
    iampass: web::Data<Iampass>,
) -> HttpResponse {
    let signed_in = who.map(|who| who.user().to_owned());
    if !is_same_origin(&request) {
        return error_page(
            &state,
            signed_in,
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form can only be submitted from Acme Notes itself.",
        );
    }
    let form = SignUp::parse(&body);
    let refuse = |status: StatusCode, error: String| {
        html(
            status,
            &RegisterPage {
                layout: Layout::new(&state, signed_in.clone()),
                user: form.user.clone(),
                display_name: form.display_name.clone(),
                error: Some(error),
                max_len: MAX_NAME_CHARS,
                min_password: MIN_PASSWORD_CHARS,
            },
        )
    };
    let (checked, display_name) = match form.validate(state.mode) {
        Ok(valid) => valid,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, message),
    };
    let user = checked.name();
    if let Err(existing) = state.names.claim(checked.collision_key(), user) {
        return refuse(
            StatusCode::CONFLICT,
            format!(
                "The user name \u{201c}{user}\u{201d} is too like the existing \u{201c}{existing}\u{201d}. Pick another one."
            ),
        );
    }
    // The client's address as the crate's own limits see it (behind trusted proxies, the
    // address they forward).
    if let Some(address) = iampass.client_ip(&request) {
        let key = LimitKey::address(address).scoped("register");
        if let Err(wait) = iampass.store().take(&key, SIGN_UPS_PER_ADDRESS).await {
            state.names.release(checked.collision_key());
            let mut response = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-ups from your address; please wait a little and try again."
                    .to_owned(),
            );
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            return response;
        }
    }
    // The password first: a busy server creates nothing.
    let hashed = if state.mode == LoginMode::Password {
        match state.passwords.hash(&form.password).await {
            Ok(hashed) => Some(hashed),
            Err(HashError::Busy) => {
                state.names.release(checked.collision_key());
                let mut response = refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Acme Notes is busy right now; please try again in a moment.".to_owned(),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
                return response;
            }
            Err(HashError::Failed(error)) => {
                state.names.release(checked.collision_key());
                eprintln!("login_page: {error}");
                return refuse(StatusCode::INTERNAL_SERVER_ERROR, error);
            }
        }
    } else {
        None
    };
    let added = state.management.add_user(user).await;
    if !matches!(added, Ok(AddUserResult::Success)) {
        state.names.release(checked.collision_key());
    }
    match added {
        Ok(AddUserResult::Success) => {
            if let Some(hashed) = hashed {
                state.passwords.insert(user, hashed);
            }
        }
        Ok(AddUserResult::UserExists) => {
            // Handing out a registration link for an existing user would let anyone link
            // their own phone to someone else's account.
            return refuse(
                StatusCode::CONFLICT,
                format!(
                    "The user name \u{201c}{user}\u{201d} is taken. Pick another one, or sign in."
                ),
            );
        }
        Ok(AddUserResult::Failed { reason }) => {
            let reason = reason.unwrap_or_else(|| "no reason given".to_owned());
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("IAMPASS did not accept this user name ({reason})."),
            );
        }
        Err(error) => return upstream_error(&state, signed_in, &error),
    }
    let link = match state
        .management
        .get_registration_link(user, display_name)
        .await
    {
        Ok(link) => link,
        Err(error) => return upstream_error(&state, signed_in, &error),
    };
    let qr_svg = match qr_svg(&link) {
        Some(svg) => svg,
        None => {
            return error_page(
                &state,
                signed_in,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Could not draw the code",
                "The registration link is too long for a QR code.",
            );
        }
    };
    html(
        StatusCode::OK,
        &RegisteredPage {
            layout: Layout::new(&state, signed_in),
            user: user.to_owned(),
            link,
            qr_svg,
        },
    )
}

/// The sign-up form as submitted (unvalidated; kept to show it again on an error).
#[derive(Default)]
struct SignUp {
    user: String,
    display_name: String,
    /// Never shown again (the form comes back without it).
    password: String,
    malformed: bool,
}

impl SignUp {
    /// Parses `application/x-www-form-urlencoded`; a value that is not UTF-8 once decoded
    /// marks the form malformed (rather than being replaced by U+FFFD).
    fn parse(body: &[u8]) -> SignUp {
        let mut form = SignUp::default();
        form.malformed = !each_field(body, |key, value| match key {
            "user" => form.user = value,
            "display_name" => form.display_name = value,
            "password" => form.password = value,
            _ => {}
        });
        form
    }

    /// The user name (checked for look-alikes by [`user_name::check_new`]) and the optional
    /// display name, trimmed, or what is wrong with them.
    fn validate(
        &self,
        mode: LoginMode,
    ) -> Result<(user_name::UserNameCheck, Option<&str>), String> {
        if self.malformed {
            return Err("The form could not be read. Please try again.".to_owned());
        }
        if self.user.trim().is_empty() {
            return Err("Please choose a user name.".to_owned());
        }
        check_name("The user name", self.user.trim())?;
        let user = user_name::check_new(&self.user).map_err(|e| e.to_string())?;
        let display_name = self.display_name.trim();
        check_name("The display name", display_name)?;
        if mode == LoginMode::Password {
            if self.password.chars().count() < MIN_PASSWORD_CHARS {
                return Err(format!(
                    "Please choose a password of at least {MIN_PASSWORD_CHARS} characters."
                ));
            }
            if self.password.len() > MAX_PASSWORD_BYTES {
                return Err(format!(
                    "The password is too long: at most {MAX_PASSWORD_BYTES} bytes, please."
                ));
            }
        }
        Ok((user, Some(display_name).filter(|name| !name.is_empty())))
    }
}

/// Hands each `key=value` pair of an `application/x-www-form-urlencoded` body to `field`,
/// decoded; `false` if a key or value was not UTF-8 once decoded (that pair is skipped rather
/// than read with U+FFFD in it).
pub fn each_field(body: &[u8], mut field: impl FnMut(&str, String)) -> bool {
    let mut well_formed = true;
    for pair in body.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &b""[..]),
        };
        match (decode(key), decode(value)) {
            (Some(key), Some(value)) => field(&key, value),
            _ => well_formed = false,
        }
    }
    well_formed
}

/// One form-encoded key or value: `+` is a space, `%XX` a byte; `None` if not UTF-8.
pub fn decode(raw: &[u8]) -> Option<String> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(bytes).ok()
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "{what} is too long: at most {MAX_NAME_CHARS} characters, please."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("{what} cannot contain control characters."));
    }
    Ok(())
}

/// The registration link as an inline SVG QR code, sized by CSS.
fn qr_svg(link: &str) -> Option<String> {
    let code = qrcode::QrCode::new(link.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .dark_color(qrcode::render::svg::Color("#1b1f2a"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Inline SVG needs no XML prolog; give it a role and a name for screen readers.
    let start = svg.find("<svg")?;
    Some(svg[start..].replacen(
        "<svg ",
        r#"<svg role="img" aria-label="QR code of the registration link" "#,
        1,
    ))
}

fn upstream_error(state: &AppState, user: Option<String>, error: &iampass::Error) -> HttpResponse {
    eprintln!("login_page: IAMPASS call failed: {error}");
    error_page(
        state,
        user,
        StatusCode::BAD_GATEWAY,
        "IAMPASS is not answering",
        "We could not reach IAMPASS to create your account. Please try again in a moment.",
    )
}

fn error_page(
    state: &AppState,
    user: Option<String>,
    status: StatusCode,
    title: &str,
    message: &str,
) -> HttpResponse {
    html(
        status,
        &ErrorPage {
            layout: Layout::new(state, user),
            code: status.as_u16(),
            title: title.to_owned(),
            message: message.to_owned(),
            back_href: "/register",
            back_label: "Back to sign-up",
        },
    )
}

/// Renders a page with the headers every page of the example carries.
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                 frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::REFERRER_POLICY, "same-origin"))
            .body(body),
        Err(error) => {
            eprintln!("login_page: template error: {error}");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error")
        }
    }
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLESHEET)
}

async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(FAVICON)
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

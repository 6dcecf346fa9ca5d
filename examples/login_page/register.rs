//! Sign-up, whatever the framework: `GET /register` shows the form, `POST /register` adds the
//! user at IAMPASS (and, in password mode, sets the password) and shows the phone
//! registration link as a QR code.

use askama::Template;
use http::StatusCode;
use iampass::core::store::LimitKey;
use iampass::core::{IampassIdentity, RequestHead, is_same_origin};
use iampass::{AddUserResult, user_name};

use crate::answer::Answer;
use crate::pages::{AppState, Layout, LoginMode, MAX_NAME_CHARS, SIGN_UPS_PER_ADDRESS, html};
use crate::passwords::{HashError, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};

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
#[template(path = "example/error.html")]
struct ErrorPage {
    layout: Layout,
    code: u16,
    title: String,
    message: String,
    back_href: &'static str,
    back_label: &'static str,
}

/// `GET /register`.
pub fn form(state: &AppState, who: Option<IampassIdentity>) -> Answer {
    let user = who.map(|who| who.user().to_owned());
    html(
        StatusCode::OK,
        &RegisterPage {
            layout: Layout::new(state, user),
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
/// 400 and a message, never the framework's bare text answer. A valid, free name counts against its
/// address's [`SIGN_UPS_PER_ADDRESS`] (`429` with `Retry-After` beyond it); in password mode
/// the password is hashed before the user is created (`503` with `Retry-After: 1` when every
/// hashing slot is taken, and nothing is created).
pub async fn submit(
    state: &AppState,
    request: &impl RequestHead,
    body: &[u8],
    who: Option<IampassIdentity>,
) -> Answer {
    let iampass = &state.iampass;
    let signed_in = who.map(|who| who.user().to_owned());
    if !is_same_origin(request) {
        return error_page(
            state,
            signed_in,
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form can only be submitted from Acme Notes itself.",
        );
    }
    let form = SignUp::parse(body);
    let refuse = |status: StatusCode, error: String| {
        html(
            status,
            &RegisterPage {
                layout: Layout::new(state, signed_in.clone()),
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
    if let Some(address) = iampass.client_ip(request) {
        let key = LimitKey::address(address).scoped("register");
        if let Err(wait) = iampass.store().take(&key, SIGN_UPS_PER_ADDRESS).await {
            state.names.release(checked.collision_key());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-ups from your address; please wait a little and try again."
                    .to_owned(),
            )
            .retry_after(secs.max(1));
        }
    }
    // The password first: a busy server creates nothing.
    let hashed = if state.mode == LoginMode::Password {
        match state.passwords.hash(&form.password).await {
            Ok(hashed) => Some(hashed),
            Err(HashError::Busy) => {
                state.names.release(checked.collision_key());
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Acme Notes is busy right now; please try again in a moment.".to_owned(),
                )
                .retry_after(1);
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
        Err(error) => return upstream_error(state, signed_in, &error),
    }
    let link = match state
        .management
        .get_registration_link(user, display_name)
        .await
    {
        Ok(link) => link,
        Err(error) => return upstream_error(state, signed_in, &error),
    };
    let qr_svg = match qr_svg(&link) {
        Some(svg) => svg,
        None => {
            return error_page(
                state,
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
            layout: Layout::new(state, signed_in),
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

fn upstream_error(state: &AppState, user: Option<String>, error: &iampass::Error) -> Answer {
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
) -> Answer {
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

//! Password mode's sign-in: `GET /signin` shows the form, `POST /signin` checks the password
//! (the app's own first factor) and then starts the phone approval with
//! [`Iampass::start_login`], which answers `303` to the crate's wait page with the pending
//! cookie. A wrong password never reaches IAMPASS: no phone rings. Password guessing is
//! limited per user name and per address, and hashing is bounded (see [`submit`]). Whatever
//! the framework: each example's `main` routes to [`form`] and [`submit`] in password mode.

use askama::Template;
use http::StatusCode;
use http::header;
use iampass::core::{IampassIdentity, RequestHead, SecondFactor, accepts_html, is_same_origin};

use crate::answer::Answer;
use crate::pages::{AppState, Layout, html, query_param, safe_path};
use crate::passwords::{Busy, MAX_PASSWORD_BYTES};
use crate::register::each_field;

#[derive(Template)]
#[template(path = "example/signin.html")]
struct SignInPage {
    layout: Layout,
    user: String,
    next: String,
    error: Option<String>,
}

/// `GET /signin[?next=/path][&user=name]`.
pub fn form(state: &AppState, request: &impl RequestHead, who: Option<IampassIdentity>) -> Answer {
    let next = safe_path(query_param(request, "next").as_deref()).to_owned();
    let user = query_param(request, "user")
        .filter(|u| u.len() <= 256)
        .unwrap_or_default();
    page(
        state,
        who.map(|who| who.user().to_owned()),
        StatusCode::OK,
        user,
        next,
        None,
    )
}

/// `POST /signin` (form: `user`, `password`, `next`).
///
/// Refusals re-render the form with a message; a client asking for JSON only
/// (`Accept: application/json`) gets `{"status": "failed", "reason", "message"}` instead.
/// Before any hashing, attempts are limited per user name and per client address
/// ([`Iampass::limit_first_factor`]: `429` with `Retry-After`), and a password is checked only
/// when a hashing slot is free (else `503` with `Retry-After: 1`, at once).
pub async fn submit(
    state: &AppState,
    request: &impl RequestHead,
    body: &[u8],
    who: Option<IampassIdentity>,
) -> Answer {
    let iampass = &state.iampass;
    let signed_in = who.map(|who| who.user().to_owned());
    let form = SignIn::parse(body);
    let next = safe_path(form.next.as_deref()).to_owned();
    let json = wants_json(request);
    let refuse = |refusal: Refusal| {
        let answer = if json {
            Answer::json(
                refusal.status,
                &serde_json::json!({
                    "status": "failed",
                    "reason": refusal.reason,
                    "message": refusal.message,
                }),
            )
        } else {
            page(
                state,
                signed_in.clone(),
                refusal.status,
                form.user.clone(),
                next.clone(),
                Some(refusal.message.to_owned()),
            )
        };
        match refusal.retry_after {
            Some(secs) => answer.retry_after(secs),
            None => answer,
        }
    };
    if !is_same_origin(request) {
        return refuse(Refusal::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "This form can only be submitted from Acme Notes itself.",
        ));
    }
    if form.malformed || form.user.trim().is_empty() || form.password.is_empty() {
        return refuse(Refusal::new(
            StatusCode::BAD_REQUEST,
            "missing_fields",
            "Please enter your user name and password.",
        ));
    }
    if form.password.len() > MAX_PASSWORD_BYTES || form.user.len() > 256 {
        return refuse(Refusal::wrong_password());
    }
    // Guessing costs an attempt, right or wrong, before any hashing: per user name and per
    // client address, shared by every instance through the store.
    if let Err(error) = iampass.limit_first_factor(request, &form.user).await {
        return refuse(Refusal {
            retry_after: Some(error.retry_after().unwrap_or(1)),
            ..Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many sign-in attempts; please wait a little and try again.",
            )
        });
    }
    // The first factor. Unknown users and wrong passwords get the same answer, after the
    // same work.
    let user = match state.passwords.check(&form.user, &form.password).await {
        Ok(Some(user)) => user,
        Ok(None) => return refuse(Refusal::wrong_password()),
        Err(Busy) => {
            return refuse(Refusal {
                retry_after: Some(1),
                ..Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "Acme Notes is busy right now; please try again in a moment.",
                )
            });
        }
    };
    // The second: the phone. The crate answers `303` to its wait page (`202` JSON for an
    // API client) and sets the pending cookie.
    match iampass
        .start_login(request, SecondFactor::new(user).next(next.clone()))
        .await
    {
        Ok(started) => Answer::Started(Box::new(started)),
        Err(error) => {
            // The app sees the precise reason; the user only needs to know what to do.
            tracing::info!(
                reason = error.reason(),
                "the phone approval could not start"
            );
            let refusal = if error.is_unavailable() {
                Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "IAMPASS cannot be reached right now; please try again in a moment.",
                )
            } else if let Some(secs) = error.retry_after() {
                Refusal {
                    retry_after: Some(secs),
                    ..Refusal::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        "Too many sign-in attempts; please wait a little and try again.",
                    )
                }
            } else if error.reason() == "NO_MOBILE_DEVICE" {
                Refusal::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "no_phone",
                    "No phone is linked to your account yet: finish linking it from the sign-up page.",
                )
            } else {
                Refusal::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "not_started",
                    "The approval on your phone could not start. Please try again.",
                )
            };
            refuse(refusal)
        }
    }
}

/// Why a sign-in was refused, as the form or as JSON.
struct Refusal {
    status: StatusCode,
    reason: &'static str,
    message: &'static str,
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, reason: &'static str, message: &'static str) -> Refusal {
        Refusal {
            status,
            reason,
            message,
            retry_after: None,
        }
    }

    fn wrong_password() -> Refusal {
        Refusal::new(
            StatusCode::UNAUTHORIZED,
            "wrong_credentials",
            "Wrong user name or password.",
        )
    }
}

/// A client that asks for JSON and not for HTML (a script rather than the form).
pub fn wants_json(request: &impl RequestHead) -> bool {
    !accepts_html(request)
        && request
            .header(header::ACCEPT.as_str())
            .is_some_and(|accept| accept.contains("application/json"))
}

fn page(
    state: &AppState,
    signed_in: Option<String>,
    status: StatusCode,
    user: String,
    next: String,
    error: Option<String>,
) -> Answer {
    html(
        status,
        &SignInPage {
            layout: Layout::new(state, signed_in),
            user,
            next,
            error,
        },
    )
}

/// The sign-in form as submitted.
#[derive(Default)]
struct SignIn {
    user: String,
    password: String,
    next: Option<String>,
    malformed: bool,
}

impl SignIn {
    fn parse(body: &[u8]) -> SignIn {
        let mut form = SignIn::default();
        form.malformed = !each_field(body, |key, value| match key {
            "user" => form.user = value,
            "password" => form.password = value,
            "next" => form.next = Some(value),
            _ => {}
        });
        form
    }
}

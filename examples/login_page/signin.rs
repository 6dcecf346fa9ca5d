//! Password mode's sign-in: `GET /signin` shows the form, `POST /signin` checks the password
//! (the app's own first factor) and then starts the phone approval with
//! [`Iampass::start_login`], which answers `303` to the crate's wait page with the pending
//! cookie. A wrong password never reaches IAMPASS: no phone rings.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use iampass::actix::{Iampass, IampassIdentity, SecondFactor};
use iampass::core::is_same_origin;

use crate::pages::{AppState, Layout, each_field, html, safe_path};
use crate::passwords::MAX_PASSWORD_BYTES;

/// The routes of password mode.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/signin", web::get().to(form))
        .route("/signin", web::post().to(submit));
}

#[derive(Template)]
#[template(path = "example/signin.html")]
struct SignInPage {
    layout: Layout,
    user: String,
    next: String,
    error: Option<String>,
}

/// `GET /signin[?next=/path][&user=name]`.
async fn form(
    request: HttpRequest,
    who: Option<IampassIdentity>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(request.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_default();
    let next = safe_path(query.get("next").map(String::as_str)).to_owned();
    let user = query
        .get("user")
        .filter(|u| u.len() <= 256)
        .cloned()
        .unwrap_or_default();
    page(
        &state,
        who.map(|who| who.user().to_owned()),
        StatusCode::OK,
        user,
        next,
        None,
    )
}

/// `POST /signin` (form: `user`, `password`, `next`).
async fn submit(
    request: HttpRequest,
    body: web::Bytes,
    who: Option<IampassIdentity>,
    state: web::Data<AppState>,
    iampass: web::Data<Iampass>,
) -> HttpResponse {
    let signed_in = who.map(|who| who.user().to_owned());
    let form = SignIn::parse(&body);
    let next = safe_path(form.next.as_deref()).to_owned();
    let refuse = |status, message: &str| {
        page(
            &state,
            signed_in.clone(),
            status,
            form.user.clone(),
            next.clone(),
            Some(message.to_owned()),
        )
    };
    if !is_same_origin(&request) {
        return refuse(
            StatusCode::FORBIDDEN,
            "This form can only be submitted from Acme Notes itself.",
        );
    }
    if form.malformed || form.user.trim().is_empty() || form.password.is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Please enter your user name and password.",
        );
    }
    if form.password.len() > MAX_PASSWORD_BYTES || form.user.len() > 256 {
        return refuse(StatusCode::BAD_REQUEST, "Wrong user name or password.");
    }
    // The first factor. Unknown users and wrong passwords get the same answer, after the
    // same work.
    let Some(user) = state.passwords.check(&form.user, &form.password).await else {
        return refuse(StatusCode::UNAUTHORIZED, "Wrong user name or password.");
    };
    // The second: the phone. The crate answers `303` to its wait page (`202` JSON for an
    // API client) and sets the pending cookie.
    match iampass
        .start_login(&request, SecondFactor::new(user).next(next.clone()))
        .await
    {
        Ok(started) => started.into_http_response(),
        Err(error) => {
            // The app sees the precise reason; the user only needs to know what to do.
            tracing::info!(
                reason = error.reason(),
                "the phone approval could not start"
            );
            let (status, message) = if error.is_unavailable() {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "IAMPASS cannot be reached right now; please try again in a moment.",
                )
            } else if error.retry_after().is_some() {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many sign-in attempts; please wait a little and try again.",
                )
            } else if error.reason() == "NO_MOBILE_DEVICE" {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "No phone is linked to your account yet: finish linking it from the sign-up page.",
                )
            } else {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "The approval on your phone could not start. Please try again.",
                )
            };
            refuse(status, message)
        }
    }
}

fn page(
    state: &AppState,
    signed_in: Option<String>,
    status: StatusCode,
    user: String,
    next: String,
    error: Option<String>,
) -> HttpResponse {
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

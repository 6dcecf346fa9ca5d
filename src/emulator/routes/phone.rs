//! The phone page (`GET /phone`): the simulated IAMPASS mobile app. It lists registered
//! devices, pending requests (Approve / Deny), signed-in sessions (Walk away / Come back /
//! Log out) and the SMS outbox, and stays current through the event stream of
//! `GET /phone/events`. Registration links (`/phone/register/{token}`) open it with a
//! "Register this phone" button.
//!
//! The page is CSP-friendly: its script and style are files (`/phone/phone.js`,
//! `/phone/phone.css`) and it is served with a `Content-Security-Policy` that allows nothing
//! inline. Without JavaScript it is rendered on the server and reloads itself.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::phone_events;
use super::phone_state::{self, PhoneState, state_of};
use super::reply::{Reject, Reply, query, query_param, segment};
use crate::emulator::state::Shared;
use crate::emulator::types::EmulatorSession;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(index)))
        .service(web::resource("/phone").route(web::get().to(phone)))
        .service(web::resource("/phone/register/{token}").route(web::get().to(register_page)))
        .service(web::resource("/phone/events").route(web::get().to(phone_events::events)))
        .service(web::resource("/phone/phone.js").route(web::get().to(script)))
        .service(web::resource("/phone/phone.css").route(web::get().to(style)))
        .service(web::resource("/_emulator/phone").route(web::get().to(phone_state::snapshot)));
}

/// A registration link shown on the page.
struct RegistrationView {
    token: String,
    app_id: String,
    user: String,
    display_name: Option<String>,
    used: bool,
}

#[derive(Template)]
#[template(path = "emulator/phone.html")]
struct PhonePage<'a> {
    app_id: &'a str,
    user: &'a str,
    state: &'a PhoneState,
    /// `state` as JSON, for the script to know what is already on the page.
    initial: String,
    registration: Option<RegistrationView>,
}

impl PhonePage<'_> {
    /// `true` for a request of a user already signed in to the same application.
    fn is_step_up(&self, session: &EmulatorSession) -> bool {
        self.state.step_ups.contains(&session.session_token)
    }

    fn methods(&self, session: &EmulatorSession) -> String {
        let names: Vec<&str> = session.methods.iter().map(|m| m.as_str()).collect();
        names.join(", ")
    }
}

fn render(
    status: StatusCode,
    app_id: &str,
    user: &str,
    registration: Option<RegistrationView>,
    shared: &Shared,
) -> Reply {
    let filter = |s: &str| Some(s).filter(|s| !s.is_empty()).map(str::to_owned);
    let (app_filter, user_filter) = (filter(app_id), filter(user));
    let state = state_of(shared, app_filter.as_deref(), user_filter.as_deref());
    let page = PhonePage {
        app_id,
        user,
        state: &state,
        initial: serde_json::to_string(&state).unwrap_or_else(|_| "{}".into()),
        registration,
    };
    let html = page.render().map_err(|e| {
        Reject::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("template error: {e}"),
        )
    })?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .body(html))
}

/// Nothing inline, nothing from elsewhere: the page's script, style and event stream are
/// its own files and routes.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// A static file of the page, cached for a minute.
fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=60"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

async fn script() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../../templates/emulator/phone.js"),
    )
}

async fn style() -> HttpResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../../templates/emulator/phone.css"),
    )
}

async fn index() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", "/phone"))
        .finish()
}

async fn phone(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let pairs = query(&req)?;
    let app_id = query_param(&pairs, "app_id").unwrap_or_default();
    let user = query_param(&pairs, "user").unwrap_or_default();
    render(StatusCode::OK, &app_id, &user, None, &shared)
}

async fn register_page(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let token = segment(&req, 3)?;
    let found = shared.world().directory.registration(&token);
    match found {
        Ok((r, used)) => {
            let view = RegistrationView {
                token,
                app_id: r.app_id.clone(),
                user: r.user.clone(),
                display_name: r.display_name,
                used,
            };
            // A used link still shows the phone (with a note), as the app would.
            render(StatusCode::OK, &r.app_id, &r.user, Some(view), &shared)
        }
        Err(_) => Ok(HttpResponse::NotFound()
            .content_type("text/html; charset=utf-8")
            .body(
                "<!doctype html><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\
                 <title>Unknown link</title><p>This registration link is unknown.</p>\
                 <p><a href=\"/phone\">Open the phone</a></p>",
            )),
    }
}

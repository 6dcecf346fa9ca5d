//! The IAMPASS wire API (`iampass-api.md`): management and authentication routes, signed with
//! the application's credentials, and the status and logout routes, signed with the session's.

use std::time::{Duration, Instant};

use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::log::ForApplication;
use super::reply::{Reject, Reply, base_url, json, parse_body, query, query_param, segment};
use super::signature;
use crate::AuthenticationMethod;
use crate::emulator::state::{Route, Shared, StateError, UNKNOWN_USER};
use crate::emulator::types::{Faults, Sms, UnknownUserAnswer};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/management/add_users/{app_id}").route(web::post().to(add_users)))
        .service(
            web::resource("/management/delete_users/{app_id}").route(web::post().to(delete_users)),
        )
        .service(
            web::resource("/management/device_registration_link/{app_id}/{user}")
                .route(web::get().to(registration_link)),
        )
        .service(
            web::resource("/management/send_registration_sms/{app_id}/{user}")
                .route(web::post().to(send_registration_sms)),
        )
        .service(
            web::resource("/management/has_registered_mobile_device/{app_id}/{user}")
                .route(web::get().to(has_registered_mobile_device)),
        )
        .service(
            web::resource("/management/lost_user_mobile_device/{app_id}/{user}")
                .route(web::get().to(lost_user_mobile_device)),
        )
        .service(
            web::resource("/authentication/authenticate_user/{app_id}/{user}")
                .route(web::post().to(authenticate_user)),
        )
        .service(web::resource("/authentication/status/{token}").route(web::get().to(status)))
        .service(web::resource("/authentication/logout/{token}").route(web::post().to(logout)));
}

/// Maps a state error of the wire API to its answer.
fn refuse(e: StateError) -> Reject {
    match e {
        StateError::UnknownApp => Reject::not_found("unknown application"),
        StateError::UnknownUser => Reject::not_found("unknown user"),
        StateError::UnknownSession => Reject::not_found("unknown session"),
        StateError::UnknownLink | StateError::UsedLink => Reject::not_found("unknown link"),
        StateError::Illegal(s) => Reject::text(StatusCode::CONFLICT, format!("session is {s}")),
    }
}

/// Counts a wire API request and applies injected faults: `Err` is the injected answer.
async fn enter(shared: &Shared, route: Route) -> Result<(), HttpResponse> {
    shared.counters.hit(route);
    let faults = shared.faults();
    if !faults.is_active() {
        return Ok(());
    }
    match inject(faults).await {
        Some(response) => Err(response),
        None => Ok(()),
    }
}

/// Waits the configured latency, then answers an injected error for a share of requests
/// (with the configured `Retry-After`, as an overloaded server would).
async fn inject(faults: Faults) -> Option<HttpResponse> {
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if faults.error_rate > 0.0 && rand::random::<f64>() < faults.error_rate {
        let status =
            StatusCode::from_u16(faults.error_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut answer = HttpResponse::build(status);
        if let Some(retry_after) = faults.retry_after {
            answer.insert_header((header::RETRY_AFTER, retry_after.as_secs()));
        }
        return Some(
            answer
                .content_type("text/plain; charset=utf-8")
                .body("injected fault (iampass emulator)"),
        );
    }
    None
}

/// Notes the application a request acts for, for the request log.
fn acting_for(req: &HttpRequest, app_id: &str) {
    req.extensions_mut()
        .insert(ForApplication(app_id.to_owned()));
}

/// Counts the request, injects faults, finds the application named in the path (segment 3)
/// and checks the request is signed with its credentials. Answers the application id.
async fn app_call(req: &HttpRequest, shared: &Shared, route: Route) -> Result<String, Reply> {
    enter(shared, route).await.map_err(Ok)?;
    let app_id = segment(req, 3).map_err(Err)?;
    let secret = shared
        .world()
        .directory
        .app_secret(&app_id)
        .ok_or_else(|| Err(Reject::not_found("unknown application")))?;
    acting_for(req, &app_id);
    signature::check(req, shared, &app_id, &secret).map_err(Err)?;
    Ok(app_id)
}

/// Like [`app_call`], for routes naming a user (segment 4), which must exist.
async fn user_call(
    req: &HttpRequest,
    shared: &Shared,
    route: Route,
) -> Result<(String, String), Reply> {
    let app_id = app_call(req, shared, route).await?;
    let user = segment(req, 4).map_err(Err)?;
    match shared.world().directory.user_exists(&app_id, &user) {
        Ok(true) => Ok((app_id, user)),
        Ok(false) => Err(Err(Reject::not_found("unknown user"))),
        Err(e) => Err(Err(refuse(e))),
    }
}

macro_rules! enter {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reply) => return reply,
        }
    };
}

#[derive(Deserialize)]
struct UsersBody {
    users: Vec<String>,
}

async fn add_users(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> Reply {
    let app_id = enter!(app_call(&req, &shared, Route::AddUsers).await);
    let body: UsersBody = parse_body(&body)?;
    if body.users.iter().any(String::is_empty) {
        return Ok(json(
            StatusCode::OK,
            &json!({"status": false, "reason": "INVALID_USER_ID"}),
        ));
    }
    let (created, existing) = shared
        .world()
        .directory
        .add_users(&app_id, &body.users)
        .map_err(refuse)?;
    Ok(json(
        StatusCode::CREATED,
        &json!({"status": true, "users": {"created": created, "existing": existing}}),
    ))
}

async fn delete_users(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> Reply {
    let app_id = enter!(app_call(&req, &shared, Route::DeleteUsers).await);
    let body: UsersBody = parse_body(&body)?;
    shared
        .world()
        .delete_users(&app_id, &body.users, Instant::now())
        .map_err(refuse)?;
    Ok(json(StatusCode::OK, &json!({"status": true})))
}

/// `{base}/phone/register/{token}`: opening it on the phone page registers the phone.
fn register_url(base: &str, token: &str) -> String {
    format!("{base}/phone/register/{token}")
}

async fn registration_link(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let (app_id, user) = enter!(user_call(&req, &shared, Route::DeviceRegistrationLink).await);
    let display_name = query_param(&query(&req)?, "display_name").filter(|n| !n.is_empty());
    let token = shared
        .world()
        .directory
        .registration_link(&app_id, &user, display_name.as_deref())
        .map_err(refuse)?;
    Ok(json(
        StatusCode::OK,
        &json!({"status": true, "register_url": register_url(&base_url(&req), &token)}),
    ))
}

#[derive(Deserialize)]
struct SmsBody {
    phone_number: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// `+` and 7 to 15 digits (E.164), spaces and dashes allowed between them.
fn valid_phone_number(number: &str) -> bool {
    let Some(rest) = number.trim().strip_prefix('+') else {
        return false;
    };
    let digits = rest.chars().filter(|c| !matches!(c, ' ' | '-')).count();
    rest.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-'))
        && (7..=15).contains(&digits)
}

/// The SMS text when the caller gives none.
const DEFAULT_SMS_MESSAGE: &str = "Register your phone with IAMPASS:";

async fn send_registration_sms(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> Reply {
    let (app_id, user) = enter!(user_call(&req, &shared, Route::SendRegistrationSms).await);
    let body: SmsBody = parse_body(&body)?;
    if !valid_phone_number(&body.phone_number) {
        return Ok(json(
            StatusCode::OK,
            &json!({"status": false, "reason": "INVALID_PHONE_NUMBER"}),
        ));
    }
    let display_name = body.display_name.filter(|n| !n.is_empty());
    let mut world = shared.world();
    let token = world
        .directory
        .registration_link(&app_id, &user, display_name.as_deref())
        .map_err(refuse)?;
    let link = register_url(&base_url(&req), &token);
    let text = body
        .message
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SMS_MESSAGE.to_owned());
    world
        .send_sms(Sms {
            app_id,
            user,
            phone_number: body.phone_number,
            message: format!("{text} {link}"),
            register_url: link,
            at: crate::signing::unix_now(),
        })
        .map_err(refuse)?;
    Ok(json(StatusCode::OK, &json!({"status": true})))
}

async fn has_registered_mobile_device(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let (app_id, user) = enter!(user_call(&req, &shared, Route::HasRegisteredMobileDevice).await);
    let registered = shared
        .world()
        .directory
        .has_device(&app_id, &user)
        .map_err(refuse)?;
    Ok(json(
        StatusCode::OK,
        &json!({"status": true, "device_registered": registered}),
    ))
}

async fn lost_user_mobile_device(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let (app_id, user) = enter!(user_call(&req, &shared, Route::LostUserMobileDevice).await);
    let token = shared
        .world()
        .lost_device(&app_id, &user, Instant::now())
        .map_err(refuse)?;
    Ok(json(
        StatusCode::OK,
        &json!({"status": true, "register_url": register_url(&base_url(&req), &token)}),
    ))
}

/// `methods` and `duration_seconds` of an `authenticate_user` query.
fn authenticate_query(
    req: &HttpRequest,
) -> Result<(Vec<AuthenticationMethod>, Option<Duration>), Reject> {
    let pairs = query(req)?;
    let mut methods = Vec::new();
    if let Some(list) = query_param(&pairs, "methods") {
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let method: AuthenticationMethod = name
                .parse()
                .map_err(|_| Reject::bad_request(format!("unknown method {name:?}")))?;
            if !methods.contains(&method) {
                methods.push(method);
            }
        }
    }
    let duration = match query_param(&pairs, "duration_seconds") {
        None => None,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Some(Duration::from_secs(secs)),
            _ => {
                return Err(Reject::bad_request(
                    "duration_seconds must be a positive integer",
                ));
            }
        },
    };
    Ok((methods, duration))
}

async fn authenticate_user(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> Reply {
    let app_id = enter!(app_call(&req, &shared, Route::AuthenticateUser).await);
    let user = segment(&req, 4)?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        let _: serde_json::Map<String, serde_json::Value> = parse_body(&body)?;
    }
    let (methods, duration) = authenticate_query(&req)?;
    let start = shared
        .world()
        .authenticate(&app_id, &user, methods, duration, Instant::now())
        .map_err(refuse)?;
    let started = match start {
        Ok(started) => started,
        Err(UNKNOWN_USER) if shared.settings.unknown_user == UnknownUserAnswer::NotFound => {
            return Err(Reject::not_found(format!("User {user} not found")));
        }
        Err(reason) => {
            return Ok(json(
                StatusCode::OK,
                &json!({"authentication_status": {
                    "authenticated": false,
                    "session_status": "failed",
                    "reason": reason,
                    "session_token": null,
                    "session_secret": null,
                    "status_url": null,
                    "logout_url": null,
                }}),
            ));
        }
    };
    let (base, token) = (base_url(&req), started.token);
    Ok(json(
        StatusCode::ACCEPTED,
        &json!({"authentication_status": {
            "authenticated": true,
            "session_status": started.status,
            "reason": null,
            "session_token": token,
            "session_secret": started.secret.expose(),
            "status_url": format!("{base}/authentication/status/{token}"),
            "logout_url": format!("{base}/authentication/logout/{token}"),
        }}),
    ))
}

/// Counts the request, injects faults, finds the session named in the path (segment 3) and
/// checks the request is signed with its token and secret.
async fn session_call(req: &HttpRequest, shared: &Shared, route: Route) -> Result<String, Reply> {
    enter(shared, route).await.map_err(Ok)?;
    let token = segment(req, 3).map_err(Err)?;
    let (secret, app_id) = {
        let world = shared.world();
        let secret = world.sessions.secret(&token);
        (secret, world.sessions.app_of(&token))
    };
    let secret = secret.ok_or_else(|| Err(Reject::not_found("unknown session")))?;
    if let Some(app_id) = app_id {
        acting_for(req, &app_id);
    }
    signature::check(req, shared, &token, &secret).map_err(Err)?;
    Ok(token)
}

async fn status(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let token = enter!(session_call(&req, &shared, Route::Status).await);
    let status = shared
        .world()
        .sessions
        .status(&token, Instant::now())
        .map_err(refuse)?;
    Ok(json(
        StatusCode::OK,
        &json!({"authentication_status": {
            "authenticated": status == crate::Status::Active,
            "session_status": status,
        }}),
    ))
}

async fn logout(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let token = enter!(session_call(&req, &shared, Route::Logout).await);
    shared
        .world()
        .sessions
        .logout(&token, Instant::now())
        .map_err(refuse)?;
    Ok(json(StatusCode::OK, &json!({"status": true})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers() {
        for ok in ["+15551234567", "+44 20 7946 0958", "+1-555-123-4567"] {
            assert!(valid_phone_number(ok), "{ok}");
        }
        for bad in [
            "",
            "+",
            "15551234567",
            "+1555",
            "+1555abc4567",
            "+1234567890123456",
        ] {
            assert!(!valid_phone_number(bad), "{bad}");
        }
    }
}

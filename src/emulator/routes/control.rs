//! The control API (`/_emulator/...`): JSON, meant for loopback (`guard` checks the `Host`,
//! cross-site requests and the control token). Tests and
//! scripts drive the simulated phone, faults and counters through it; the phone page uses it.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::reply::{Reject, Reply, json, parse_body, query, query_param, segment};
use crate::emulator::state::{Shared, StateError};
use crate::emulator::types::{Application, Behaviour, FaultsWire, SessionAction};
use crate::{Secret, Status};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/_emulator/applications")
            .route(web::get().to(applications))
            .route(web::post().to(add_application)),
    )
    .service(web::resource("/_emulator/devices").route(web::get().to(devices)))
    .service(web::resource("/_emulator/devices/{app_id}/{user}").route(web::post().to(register)))
    .service(web::resource("/_emulator/sessions").route(web::get().to(sessions)))
    .service(web::resource("/_emulator/sessions/{token}").route(web::get().to(session)))
    .service(web::resource("/_emulator/sessions/{token}/{action}").route(web::post().to(act)))
    .service(
        web::resource("/_emulator/users/{app_id}/{user}/behaviour")
            .route(web::put().to(set_behaviour))
            .route(web::get().to(get_behaviour)),
    )
    .service(web::resource("/_emulator/sms").route(web::get().to(sms)))
    .service(
        web::resource("/_emulator/faults")
            .route(web::put().to(set_faults))
            .route(web::get().to(get_faults)),
    )
    .service(
        web::resource("/_emulator/stats")
            .route(web::get().to(stats))
            .route(web::delete().to(reset_stats)),
    )
    .service(
        web::resource("/_emulator/registrations/{token}")
            .route(web::post().to(use_registration))
            .route(web::get().to(registration)),
    );
}

/// Maps a state error to the control API's JSON answer.
fn refuse(e: StateError) -> Reject {
    let (status, message, extra) = match e {
        StateError::UnknownApp => (StatusCode::NOT_FOUND, "unknown application", json!({})),
        StateError::UnknownUser => (StatusCode::NOT_FOUND, "unknown user", json!({})),
        StateError::UnknownSession => (StatusCode::NOT_FOUND, "unknown session", json!({})),
        StateError::UnknownLink => (
            StatusCode::NOT_FOUND,
            "unknown registration link",
            json!({}),
        ),
        StateError::UsedLink => (
            StatusCode::GONE,
            "this registration link was already used",
            json!({}),
        ),
        StateError::Illegal(from) => (
            StatusCode::CONFLICT,
            "illegal transition",
            json!({ "session_status": from }),
        ),
    };
    Reject::json(status, message, extra)
}

fn seg(req: &HttpRequest, index: usize) -> Result<String, Reject> {
    segment(req, index).map_err(Reject::into_json)
}

fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, Reject> {
    parse_body(bytes).map_err(Reject::into_json)
}

/// `app_id` and `user` filters of a query string.
fn filters(req: &HttpRequest) -> Result<(Option<String>, Option<String>), Reject> {
    let pairs = query(req).map_err(Reject::into_json)?;
    Ok((
        query_param(&pairs, "app_id").filter(|s| !s.is_empty()),
        query_param(&pairs, "user").filter(|s| !s.is_empty()),
    ))
}

async fn applications(shared: web::Data<Shared>) -> HttpResponse {
    let apps: Vec<Application> = shared
        .world()
        .directory
        .applications()
        .into_iter()
        .map(|(app_id, users)| Application { app_id, users })
        .collect();
    json(StatusCode::OK, &apps)
}

#[derive(Deserialize)]
struct NewApplication {
    app_id: String,
    secret: String,
}

async fn add_application(bytes: Bytes, shared: web::Data<Shared>) -> Reply {
    let new: NewApplication = body(&bytes)?;
    if new.app_id.is_empty() || new.secret.is_empty() {
        return Err(Reject::json(
            StatusCode::BAD_REQUEST,
            "app_id and secret cannot be empty",
            json!({}),
        ));
    }
    let created = shared
        .world()
        .directory
        .add_application(&new.app_id, Secret::new(new.secret));
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(
        status,
        &json!({"app_id": new.app_id, "created": created}),
    ))
}

async fn devices(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let (app_id, user) = filters(&req)?;
    let devices = shared
        .world()
        .directory
        .devices(app_id.as_deref(), user.as_deref());
    Ok(json(StatusCode::OK, &devices))
}

#[derive(Deserialize, Default)]
struct RegisterBody {
    #[serde(default)]
    display_name: Option<String>,
}

async fn register(req: HttpRequest, bytes: Bytes, shared: web::Data<Shared>) -> Reply {
    let app_id = seg(&req, 3)?;
    let user = seg(&req, 4)?;
    let options: RegisterBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        RegisterBody::default()
    } else {
        body(&bytes)?
    };
    let device_id = shared
        .world()
        .register_device(
            &app_id,
            &user,
            options.display_name.as_deref(),
            Instant::now(),
        )
        .map_err(refuse)?;
    Ok(json(
        StatusCode::OK,
        &json!({"app_id": app_id, "user": user, "device_id": device_id, "device_registered": true}),
    ))
}

async fn sessions(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let (app_id, user) = filters(&req)?;
    let list = shared
        .world()
        .sessions
        .list(app_id.as_deref(), user.as_deref(), Instant::now());
    Ok(json(StatusCode::OK, &list))
}

async fn session(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let token = seg(&req, 3)?;
    let view = shared
        .world()
        .sessions
        .session(&token, Instant::now())
        .map_err(refuse)?;
    Ok(json(StatusCode::OK, &view))
}

async fn act(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let token = seg(&req, 3)?;
    let action: SessionAction = seg(&req, 4)?.parse().map_err(|_| {
        Reject::json(
            StatusCode::NOT_FOUND,
            "unknown action (identify, approve, deny, cancel, timeout, walkaway, return, close)",
            json!({}),
        )
    })?;
    let status: Status = shared
        .world()
        .sessions
        .act(&token, action, Instant::now())
        .map_err(refuse)?;
    Ok(json(StatusCode::OK, &json!({ "session_status": status })))
}

/// `{"respond": "approve"|"deny"|"ignore", "after_ms": N}`.
#[derive(Serialize, Deserialize)]
struct BehaviourWire {
    respond: String,
    #[serde(default)]
    after_ms: u64,
}

async fn set_behaviour(req: HttpRequest, bytes: Bytes, shared: web::Data<Shared>) -> Reply {
    let app_id = seg(&req, 3)?;
    let user = seg(&req, 4)?;
    let wire: BehaviourWire = body(&bytes)?;
    let behaviour = Behaviour::from_wire(&wire.respond, wire.after_ms).ok_or_else(|| {
        Reject::json(
            StatusCode::BAD_REQUEST,
            "respond must be \"approve\", \"deny\" or \"ignore\"",
            json!({}),
        )
    })?;
    shared
        .world()
        .directory
        .set_behaviour(&app_id, &user, behaviour)
        .map_err(refuse)?;
    Ok(json(StatusCode::OK, &wire))
}

async fn get_behaviour(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let app_id = seg(&req, 3)?;
    let user = seg(&req, 4)?;
    let behaviour = shared
        .world()
        .directory
        .behaviour(&app_id, &user)
        .map_err(refuse)?;
    let after_ms = u64::try_from(behaviour.after().as_millis()).unwrap_or(u64::MAX);
    Ok(json(
        StatusCode::OK,
        &json!({"respond": behaviour.respond(), "after_ms": after_ms}),
    ))
}

async fn sms(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let (app_id, user) = filters(&req)?;
    let list = shared
        .world()
        .outbox
        .list(app_id.as_deref(), user.as_deref());
    Ok(json(StatusCode::OK, &list))
}

async fn set_faults(bytes: Bytes, shared: web::Data<Shared>) -> Reply {
    let wire: FaultsWire = body(&bytes)?;
    let faults = wire
        .validate()
        .map_err(|e| Reject::json(StatusCode::BAD_REQUEST, &e, json!({})))?;
    shared.set_faults(faults);
    Ok(json(StatusCode::OK, &faults.to_wire()))
}

async fn get_faults(shared: web::Data<Shared>) -> HttpResponse {
    json(StatusCode::OK, &shared.faults().to_wire())
}

async fn stats(shared: web::Data<Shared>) -> HttpResponse {
    json(StatusCode::OK, &shared.counters.snapshot())
}

async fn reset_stats(shared: web::Data<Shared>) -> HttpResponse {
    shared.counters.reset();
    json(StatusCode::OK, &shared.counters.snapshot())
}

async fn registration(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let token = seg(&req, 3)?;
    let (r, used) = shared
        .world()
        .directory
        .registration(&token)
        .map_err(refuse)?;
    Ok(json(
        StatusCode::OK,
        &json!({"app_id": r.app_id, "user": r.user, "display_name": r.display_name, "used": used}),
    ))
}

async fn use_registration(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let token = seg(&req, 3)?;
    let r = shared
        .world()
        .use_registration(&token, Instant::now())
        .map_err(refuse)?;
    Ok(json(
        StatusCode::OK,
        &json!({"app_id": r.app_id, "user": r.user, "display_name": r.display_name, "device_registered": true}),
    ))
}

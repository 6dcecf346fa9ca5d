//! The login handlers mounted by [`Iampass::routes`]: `GET`/`POST {prefix}/login`,
//! `GET {prefix}/poll` and `POST {prefix}/logout`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, LOCATION, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use super::config::{Iampass, PENDING_MAX_AGE};
use super::cookie::{CookieState, SessionCookie};
use super::identity::{accepts_html, html_response, is_form, json_response};
use super::login_page::{self, Wait};
use super::origin::check_same_origin;
use super::rate_limit::retry_after_secs;
use super::redirect::safe_next;
use crate::{AuthenticationMethod, Error, Status};

/// Longest user name accepted at login, in bytes.
///
/// ```
/// assert_eq!(iampass::actix::MAX_USER_LEN, 256);
/// ```
pub const MAX_USER_LEN: usize = 256;
/// Largest login request body accepted (`413` above).
pub(crate) const MAX_BODY: usize = 8 * 1024;
/// Longest long-poll wait (`?wait=N` is capped to this).
///
/// ```
/// assert_eq!(iampass::actix::MAX_POLL_WAIT.as_secs(), 25);
/// ```
pub const MAX_POLL_WAIT: Duration = Duration::from_secs(25);
/// How often a long poll asks IAMPASS.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(400);

impl Iampass {
    /// The login handlers under `prefix` (e.g. `"/auth"`), for
    /// [`App::configure`](actix_web::App::configure):
    ///
    /// - `GET {prefix}/login`: a ready-made login page (`?next=/path` to come back to;
    ///   `?wait=1` is the self-refreshing page a no-JavaScript form login lands on);
    /// - `POST {prefix}/login`: JSON `{"user", "next"?, "methods"?}` or a form (`user`,
    ///   `next`): starts the login (`202 {"status": "pending", "poll_url"}`, or `303` to the
    ///   wait page for a form);
    /// - `GET {prefix}/poll[?wait=N]`: the pending login's status (long-polls up to N s,
    ///   at most 25); `{"status": "active", "redirect": next}` once signed in;
    /// - `POST {prefix}/logout`: ends the session at IAMPASS and removes the cookie.
    ///
    /// Unless [`IampassBuilder::login_path`](super::IampassBuilder::login_path) was set, the
    /// first call also makes `{prefix}/login` the page [`RequireIampass`](super::RequireIampass)
    /// redirects to.
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
    /// let app = actix_web::App::new()
    ///     .wrap(iampass.middleware())
    ///     .configure(iampass.routes("/auth"));
    /// # let _ = app;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn routes(&self, prefix: &str) -> impl Fn(&mut web::ServiceConfig) + Clone + 'static {
        let prefix = prefix.trim_end_matches('/').to_owned();
        self.note_routes_prefix(&prefix);
        let handlers = Handlers {
            iampass: self.clone(),
            prefix: Arc::from(prefix),
        };
        move |cfg: &mut web::ServiceConfig| {
            let prefix = handlers.prefix.clone();
            let (page, login, poll, logout) = (
                handlers.clone(),
                handlers.clone(),
                handlers.clone(),
                handlers.clone(),
            );
            cfg.service(
                web::resource(format!("{prefix}/login"))
                    .route(web::get().to(move |req: HttpRequest| {
                        let h = page.clone();
                        async move { h.login_page(req).await }
                    }))
                    .route(web::post().to(move |req: HttpRequest, body: web::Payload| {
                        let h = login.clone();
                        async move { h.login(req, body).await }
                    })),
            )
            .service(web::resource(format!("{prefix}/poll")).route(web::get().to(
                move |req: HttpRequest| {
                    let h = poll.clone();
                    async move { h.poll(req).await }
                },
            )))
            .service(
                web::resource(format!("{prefix}/logout")).route(web::post().to(
                    move |req: HttpRequest| {
                        let h = logout.clone();
                        async move { h.logout(req).await }
                    },
                )),
            );
        }
    }
}

#[derive(Clone)]
struct Handlers {
    iampass: Iampass,
    prefix: Arc<str>,
}

/// A login request, from JSON or a form.
#[derive(Debug, Default, Deserialize)]
struct LoginRequest {
    user: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    methods: Option<Vec<String>>,
}

/// Why a login could not start, and how to answer it.
struct Refusal {
    status: StatusCode,
    body: serde_json::Value,
    /// Shown on the HTML form.
    message: String,
    retry_after: Option<u64>,
}

impl Refusal {
    fn bad_request(status: StatusCode, message: impl Into<String>) -> Self {
        let message = message.into();
        Refusal {
            status,
            body: json!({"error": "bad_request", "message": message}),
            message,
            retry_after: None,
        }
    }

    fn failed(status: StatusCode, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Refusal {
            status,
            body: json!({"status": "failed", "reason": reason.into()}),
            message: message.into(),
            retry_after: None,
        }
    }

    fn unavailable(error: &Error) -> Self {
        tracing::warn!(error = %error, "IAMPASS unavailable during login");
        Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: json!({"error": "iampass_unavailable", "message": super::identity::UNAVAILABLE_MESSAGE}),
            message: "IAMPASS cannot be reached right now; please try again in a moment.".into(),
            retry_after: Some(5),
        }
    }
}

enum BodyError {
    TooLarge,
    Read,
}

async fn read_body(req: &HttpRequest, mut body: web::Payload) -> Result<Vec<u8>, BodyError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY) {
        return Err(BodyError::TooLarge);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| BodyError::Read)?;
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn parse_methods(methods: &[String]) -> Result<Vec<AuthenticationMethod>, Refusal> {
    methods
        .iter()
        .map(|m| {
            m.trim().parse::<AuthenticationMethod>().map_err(|_| {
                Refusal::bad_request(StatusCode::BAD_REQUEST, format!("unknown method {m:?}"))
            })
        })
        .collect()
}

/// Refuses empty, over-long and control-character user names.
fn check_user(user: &str) -> Result<(), Refusal> {
    if user.trim().is_empty() {
        return Err(Refusal::bad_request(
            StatusCode::BAD_REQUEST,
            "Please enter your user name.",
        ));
    }
    if user.len() > MAX_USER_LEN {
        return Err(Refusal::bad_request(
            StatusCode::BAD_REQUEST,
            format!("The user name is longer than {MAX_USER_LEN} bytes."),
        ));
    }
    if user.chars().any(char::is_control) {
        return Err(Refusal::bad_request(
            StatusCode::BAD_REQUEST,
            "The user name contains control characters.",
        ));
    }
    Ok(())
}

fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// How a pending login stands after asking IAMPASS.
enum Progress {
    /// Signed in: the authenticated cookie to set and where to go.
    Active(actix_web::cookie::Cookie<'static>, String),
    /// Still waiting; the updated payload and its cookie when the stored status changed.
    Waiting(
        Status,
        Option<(Box<SessionCookie>, actix_web::cookie::Cookie<'static>)>,
    ),
    /// Ended without success; the cookie is to be removed.
    Ended(Status, String),
    /// IAMPASS cannot be asked.
    Unavailable(Error),
}

fn reason_text(status: Status) -> &'static str {
    match status {
        Status::Failed => "The sign-in was refused on the phone.",
        Status::Timeout => "The request on the phone timed out.",
        Status::Cancelled => "The request was cancelled on the phone.",
        Status::Closed => "The sign-in was ended.",
        Status::Walkaway => "Your phone seems to be away; bring it back nearby.",
        Status::Pending => "Check your phone and approve the sign-in.",
        Status::Identifying => "Your phone is confirming it is you.",
        Status::Active => "Signed in.",
    }
}

impl Handlers {
    fn pending_cookie(&self, req: &HttpRequest) -> Option<SessionCookie> {
        let raw = req.cookie(self.iampass.cookie_name())?;
        match self.iampass.inner.codec.open(raw.value()) {
            Ok((payload, _)) if payload.state() == CookieState::Pending => Some(payload),
            Ok(_) => None,
            Err(why) => {
                tracing::debug!(reason = ?why, "IAMPASS login cookie refused");
                None
            }
        }
    }

    fn any_cookie(&self, req: &HttpRequest) -> Option<SessionCookie> {
        let raw = req.cookie(self.iampass.cookie_name())?;
        self.iampass
            .inner
            .codec
            .open(raw.value())
            .ok()
            .map(|(p, _)| p)
    }

    fn removal(&self) -> actix_web::cookie::Cookie<'static> {
        self.iampass.inner.codec.removal()
    }

    fn cross_site(&self, req: &HttpRequest, html: bool) -> Option<HttpResponse> {
        let Err(why) = check_same_origin(req) else {
            return None;
        };
        tracing::debug!(reason = %why.0, path = req.path(), "cross-site POST refused");
        let message = "This request came from another site and was refused.";
        Some(if html {
            html_response(
                StatusCode::FORBIDDEN,
                login_page::message_page("Refused", message, Some("/")),
            )
        } else {
            json_response(
                StatusCode::FORBIDDEN,
                json!({"error": "cross_site", "message": message}),
            )
        })
    }

    /// `GET {prefix}/login[?next=/path][&user=name]`: the form, or (`?wait=1`) the no-JavaScript
    /// wait page.
    async fn login_page(&self, req: HttpRequest) -> HttpResponse {
        if query_param(&req, "wait").is_some() {
            return self.wait_page(req).await;
        }
        let next = safe_next(query_param(&req, "next").as_deref());
        // `?user=` prefills the form (e.g. right after sign-up); over-long values are dropped.
        let user = query_param(&req, "user").filter(|u| u.len() <= MAX_USER_LEN);
        html_response(
            StatusCode::OK,
            login_page::login_form(&self.prefix, user.as_deref().unwrap_or(""), &next, None),
        )
    }

    async fn wait_page(&self, req: HttpRequest) -> HttpResponse {
        let Some(payload) = self.pending_cookie(&req) else {
            if let Some(done) = self.any_cookie(&req) {
                // Already signed in (e.g. the page was reloaded after success).
                let next = safe_next(done.next());
                return HttpResponse::SeeOther()
                    .insert_header((LOCATION, next))
                    .finish();
            }
            return html_response(
                StatusCode::OK,
                login_page::login_form(
                    &self.prefix,
                    "",
                    "/",
                    Some("Your sign-in request expired or was not found. Please try again."),
                ),
            );
        };
        let retry_url = self.retry_url(payload.next());
        match self.check(&payload).await {
            Progress::Active(cookie, next) => HttpResponse::SeeOther()
                .cookie(cookie)
                .insert_header((LOCATION, next))
                .insert_header(("Cache-Control", "no-store"))
                .finish(),
            Progress::Waiting(status, reissue) => {
                let mut response = html_response(
                    StatusCode::OK,
                    login_page::wait_page(Wait::Waiting {
                        message: reason_text(status),
                        retry_url: &retry_url,
                    }),
                );
                if let Some((_, cookie)) = reissue {
                    let _ = response.add_cookie(&cookie);
                }
                response
            }
            Progress::Ended(status, _) => {
                let mut response = html_response(
                    StatusCode::OK,
                    login_page::wait_page(Wait::Failed {
                        message: reason_text(status),
                        retry_url: &retry_url,
                    }),
                );
                let _ = response.add_cookie(&self.removal());
                response
            }
            Progress::Unavailable(e) => {
                tracing::warn!(error = %e, "IAMPASS unavailable on the wait page");
                let mut response = html_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    login_page::wait_page(Wait::Waiting {
                        message: "IAMPASS cannot be reached right now; retrying\u{2026}",
                        retry_url: &retry_url,
                    }),
                );
                response.headers_mut().insert(
                    RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from_static("2"),
                );
                response
            }
        }
    }

    fn retry_url(&self, next: Option<&str>) -> String {
        let next = safe_next(next);
        let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        format!("{}/login?next={encoded}", self.prefix)
    }

    /// Asks IAMPASS once about a pending login.
    async fn check(&self, payload: &SessionCookie) -> Progress {
        let inner = &self.iampass.inner;
        let mut session = inner.api.attach(payload.session().clone());
        match session.get_status().await {
            Ok(Status::Active) => {
                let next = safe_next(payload.next());
                let done = payload
                    .clone()
                    .authenticated(session, inner.session_max_age);
                match inner.codec.seal(&done) {
                    Ok(cookie) => Progress::Active(cookie, next),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot seal the IAMPASS session cookie");
                        Progress::Ended(
                            Status::Failed,
                            "the session cookie could not be written".into(),
                        )
                    }
                }
            }
            Ok(status) if status.is_terminal() => {
                let reason = session
                    .failure_reason()
                    .map(str::to_owned)
                    .unwrap_or_else(|| status.as_str().to_owned());
                Progress::Ended(status, reason)
            }
            Ok(status) => {
                let reissue = if status != payload.session().session_status() {
                    let mut updated = payload.clone();
                    *updated.session_mut() = session;
                    inner
                        .codec
                        .seal(&updated)
                        .ok()
                        .map(|cookie| (Box::new(updated), cookie))
                } else {
                    None
                };
                Progress::Waiting(status, reissue)
            }
            Err(e) if e.is_outage() || matches!(e, Error::Protocol(_)) => Progress::Unavailable(e),
            Err(e) => {
                tracing::debug!(error = %e, "IAMPASS refused a pending login's status");
                Progress::Ended(Status::Failed, "the login is unknown to IAMPASS".into())
            }
        }
    }

    /// `GET {prefix}/poll[?wait=N]`.
    async fn poll(&self, req: HttpRequest) -> HttpResponse {
        let Some(mut payload) = self.pending_cookie(&req) else {
            return json_response(
                StatusCode::UNAUTHORIZED,
                json!({"error": "no_pending_login", "status": null}),
            );
        };
        let wait = query_param(&req, "wait")
            .and_then(|w| w.trim().parse::<f64>().ok())
            .filter(|w| w.is_finite() && *w > 0.0)
            .map(|w| Duration::from_secs_f64(w.min(MAX_POLL_WAIT.as_secs_f64())))
            .unwrap_or(Duration::ZERO);
        let deadline = Instant::now() + wait;
        let mut reissued: Option<actix_web::cookie::Cookie<'static>> = None;
        loop {
            match self.check(&payload).await {
                Progress::Active(cookie, next) => {
                    return HttpResponse::Ok()
                        .cookie(cookie)
                        .insert_header(("Cache-Control", "no-store"))
                        .json(json!({"status": "active", "redirect": next}));
                }
                Progress::Ended(status, reason) => {
                    return HttpResponse::Ok()
                        .cookie(self.removal())
                        .insert_header(("Cache-Control", "no-store"))
                        .json(json!({"status": status.as_str(), "reason": reason}));
                }
                Progress::Unavailable(e) => {
                    tracing::warn!(error = %e, "IAMPASS unavailable during poll");
                    let mut response = json_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        json!({"status": "unavailable", "error": "iampass_unavailable",
                               "message": super::identity::UNAVAILABLE_MESSAGE}),
                    );
                    response.headers_mut().insert(
                        RETRY_AFTER,
                        actix_web::http::header::HeaderValue::from_static("2"),
                    );
                    if let Some(cookie) = &reissued {
                        let _ = response.add_cookie(cookie);
                    }
                    return response;
                }
                Progress::Waiting(status, reissue) => {
                    let changed = reissue.is_some();
                    if let Some((updated, cookie)) = reissue {
                        payload = *updated;
                        reissued = Some(cookie);
                    }
                    let now = Instant::now();
                    if changed || now >= deadline {
                        let mut response = json_response(
                            StatusCode::OK,
                            json!({"status": status.as_str(), "poll_url": format!("{}/poll", self.prefix)}),
                        );
                        if let Some(cookie) = &reissued {
                            let _ = response.add_cookie(cookie);
                        }
                        return response;
                    }
                    tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
                }
            }
        }
    }

    /// `POST {prefix}/login`.
    async fn login(&self, req: HttpRequest, body: web::Payload) -> HttpResponse {
        let form = is_form(&req);
        if let Some(refused) = self.cross_site(&req, form) {
            return refused;
        }
        let body = match read_body(&req, body).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return self.refuse(
                    &req,
                    form,
                    "",
                    "/",
                    Refusal::bad_request(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "The request is too large.",
                    ),
                );
            }
            Err(BodyError::Read) => {
                return self.refuse(
                    &req,
                    form,
                    "",
                    "/",
                    Refusal::bad_request(StatusCode::BAD_REQUEST, "The request could not be read."),
                );
            }
        };
        let request = if form {
            let mut request = LoginRequest::default();
            for (key, value) in url::form_urlencoded::parse(&body) {
                match &*key {
                    "user" => request.user = value.into_owned(),
                    "next" => request.next = Some(value.into_owned()),
                    "methods" if !value.is_empty() => {
                        request.methods = Some(value.split(',').map(str::to_owned).collect());
                    }
                    _ => {}
                }
            }
            request
        } else {
            match serde_json::from_slice::<LoginRequest>(&body) {
                Ok(request) => request,
                Err(e) => {
                    return self.refuse(
                        &req,
                        form,
                        "",
                        "/",
                        Refusal::bad_request(
                            StatusCode::BAD_REQUEST,
                            format!("malformed JSON: {e}"),
                        ),
                    );
                }
            }
        };
        let next = safe_next(request.next.as_deref());
        match self.start(&req, &request, &next).await {
            Ok(cookie) => {
                if form {
                    HttpResponse::SeeOther()
                        .cookie(cookie)
                        .insert_header((LOCATION, format!("{}/login?wait=1", self.prefix)))
                        .insert_header(("Cache-Control", "no-store"))
                        .finish()
                } else {
                    HttpResponse::Accepted()
                        .cookie(cookie)
                        .insert_header(("Cache-Control", "no-store"))
                        .json(json!({"status": "pending", "poll_url": format!("{}/poll", self.prefix)}))
                }
            }
            Err(refusal) => self.refuse(&req, form, &request.user, &next, refusal),
        }
    }

    fn refuse(
        &self,
        req: &HttpRequest,
        form: bool,
        user: &str,
        next: &str,
        r: Refusal,
    ) -> HttpResponse {
        let mut response =
            if form || (accepts_html(req) && r.status != StatusCode::PAYLOAD_TOO_LARGE) {
                let user = if user.len() <= MAX_USER_LEN { user } else { "" };
                html_response(
                    r.status,
                    login_page::login_form(&self.prefix, user, next, Some(&r.message)),
                )
            } else {
                json_response(r.status, r.body)
            };
        if let Some(value) = r
            .retry_after
            .and_then(|secs| actix_web::http::header::HeaderValue::from_str(&secs.to_string()).ok())
        {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }

    /// Resolve, rate-limit and ask IAMPASS; the pending cookie on success.
    async fn start(
        &self,
        req: &HttpRequest,
        request: &LoginRequest,
        next: &str,
    ) -> Result<actix_web::cookie::Cookie<'static>, Refusal> {
        let inner = &self.iampass.inner;
        check_user(&request.user)?;
        let methods = parse_methods(request.methods.as_deref().unwrap_or_default())?;
        let resolved = match (inner.resolver)(request.user.clone()).await {
            Ok(id) => id,
            Err(e) if e.is_outage() => return Err(Refusal::unavailable(&e)),
            Err(e) => {
                tracing::debug!(error = %e, "user resolver refused a login");
                return Err(Refusal::failed(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "UNKNOWN_USER",
                    "This user name is not known.",
                ));
            }
        };
        if resolved.is_empty() || resolved.len() > MAX_USER_LEN {
            return Err(Refusal::failed(
                StatusCode::UNPROCESSABLE_ENTITY,
                "UNKNOWN_USER",
                "This user name is not known.",
            ));
        }
        let address = req.peer_addr().map(|a| a.ip());
        if let Err(wait) = inner.limits.check(&resolved, address) {
            let secs = retry_after_secs(wait);
            tracing::info!(user = %resolved, ?address, retry_after = secs, "login start rate-limited");
            return Err(Refusal {
                status: StatusCode::TOO_MANY_REQUESTS,
                body: json!({"error": "rate_limited", "retry_after": secs}),
                message: format!("Too many sign-in attempts; try again in {secs} s."),
                retry_after: Some(secs),
            });
        }
        let session = inner
            .api
            .authenticate_user_with(&resolved, &methods, Some(inner.session_max_age))
            .await;
        let session = match session {
            Ok(session) => session,
            Err(e) if e.is_outage() => return Err(Refusal::unavailable(&e)),
            Err(e) if e.is_not_found() => {
                return Err(Refusal::failed(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "UNKNOWN_USER",
                    "This user name is not known.",
                ));
            }
            Err(e) => {
                tracing::error!(error = %e, "IAMPASS refused to start a login");
                return Err(Refusal::failed(
                    StatusCode::BAD_GATEWAY,
                    "IAMPASS_ERROR",
                    "IAMPASS refused the request.",
                ));
            }
        };
        // Not started (no session to poll). A session that started and was answered at once
        // (an instant deny or approval) is reported by the poll like any other.
        if session.session_token().is_none() || session.status_url().is_none() {
            let reason = session.failure_reason().unwrap_or("NOT_STARTED").to_owned();
            let message = if reason == "NO_MOBILE_DEVICE" {
                "No phone is registered for this user.".to_owned()
            } else {
                format!("The sign-in could not start ({reason}).")
            };
            return Err(Refusal::failed(
                StatusCode::UNPROCESSABLE_ENTITY,
                reason,
                message,
            ));
        }
        let max_age = PENDING_MAX_AGE.min(inner.session_max_age);
        let payload = |next: Option<String>| {
            SessionCookie::new(
                session.clone(),
                request.user.clone(),
                resolved.clone(),
                CookieState::Pending,
                max_age,
                next,
            )
        };
        // A cookie that would not fit in 4 KiB drops `next` (the login matters more).
        let sealed = inner
            .codec
            .seal(&payload(Some(next.to_owned())))
            .or_else(|_| inner.codec.seal(&payload(None)));
        match sealed {
            Ok(cookie) => Ok(cookie),
            Err(e) => {
                tracing::warn!(error = %e, "login cookie too large; ending the IAMPASS session");
                let mut session = session;
                let _ = session.destroy().await;
                Err(Refusal::bad_request(
                    StatusCode::BAD_REQUEST,
                    "The sign-in request is too large.",
                ))
            }
        }
    }

    /// `POST {prefix}/logout`.
    async fn logout(&self, req: HttpRequest) -> HttpResponse {
        let html = is_form(&req) || accepts_html(&req);
        if let Some(refused) = self.cross_site(&req, html) {
            return refused;
        }
        let mut outage = None;
        if let Some(payload) = self.any_cookie(&req) {
            let inner = &self.iampass.inner;
            if let Some(token) = payload.session().session_token() {
                inner.validator.forget(token).await;
            }
            let mut session = inner.api.attach(payload.session().clone());
            match session.destroy().await {
                Ok(()) => {}
                Err(e) if e.is_outage() => {
                    tracing::warn!(error = %e, "IAMPASS unavailable at logout; cookie removed locally");
                    outage = Some(e);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "IAMPASS logout refused (session already over)")
                }
            }
        }
        let message = "You are signed out of this site, but IAMPASS could not be told; \
                       the phone may still show the session until it expires.";
        let landing = self.iampass.inner.after_logout_path.as_str();
        let mut response = match (html, outage.is_some()) {
            (true, false) => HttpResponse::SeeOther()
                .insert_header((LOCATION, landing))
                .insert_header(("Cache-Control", "no-store"))
                .finish(),
            (true, true) => html_response(
                StatusCode::SERVICE_UNAVAILABLE,
                login_page::message_page("Signed out", message, Some(landing)),
            ),
            (false, false) => json_response(StatusCode::OK, json!({"status": "closed"})),
            (false, true) => json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "closed", "error": "iampass_unavailable", "message": message}),
            ),
        };
        let _ = response.add_cookie(&self.removal());
        response
    }
}

//! Step-up ("sudo mode") for the signed-in user: `GET {prefix}/step-up` (the page, or with
//! `?wait=1` the no-JavaScript wait page), `POST {prefix}/step-up` (asks the phone of the
//! session's own user for a fresh approval) and its completion by the poll.
//!
//! The user stays signed in throughout: the pending approval lives in a short-lived cookie
//! of its own (`<cookie name>-step-up`, sealed like the session cookie, bound to the same
//! user); the session cookie is re-sealed only on approval, with the new IAMPASS session, the
//! new approval time and methods (its factors, issue time and expiry unchanged), and the old
//! IAMPASS session is then revoked and logged out. A refusal, timeout or cancel removes only
//! the step-up cookie.

use bytes::Bytes;
use futures_util::Stream;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::Handler;
use super::pending::PENDING_MAX_AGE;
use super::progress::{Flow, Progress};
use super::refusal::Refusal;
use super::start::{Start, parse_methods};
use crate::core::answer::Reply;
use crate::core::context::{Outcome, cookie_value};
use crate::core::cookie::{CookieCodec, CookieState, SessionCookie};
use crate::core::denial::Denial;
use crate::core::log::{session_short_handle, text};
use crate::core::pages;
use crate::core::request::{RequestHead, answers_html, is_form};
use crate::core::security::redirect::safe_next;
use crate::core::step_up::methods_text;
use crate::metrics::{self, LoginOutcome};
use crate::{AuthenticationMethod, Session, Status};

/// A step-up request, from JSON or a form (both optional: `next` defaults to `/`, the
/// methods to the page's `?methods=`, then to the configured ones).
#[derive(Debug, Default, Deserialize)]
struct StepUpRequest {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    methods: Option<Vec<String>>,
}

fn parse_request(form: bool, body: &[u8]) -> Result<StepUpRequest, Refusal> {
    if !form {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(StepUpRequest::default());
        }
        return serde_json::from_slice(body).map_err(|e| {
            Refusal::bad_request(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}"))
        });
    }
    let mut request = StepUpRequest::default();
    for (key, value) in url::form_urlencoded::parse(body) {
        match &*key {
            "next" => request.next = Some(value.into_owned()),
            "methods" if !value.is_empty() => {
                request.methods = Some(value.split(',').map(str::to_owned).collect());
            }
            _ => {}
        }
    }
    Ok(request)
}

/// The methods named by `?methods=a,b` (absent or empty: none).
fn query_methods(req: &impl RequestHead) -> Result<Vec<AuthenticationMethod>, Refusal> {
    let names: Vec<String> = req
        .query_param("methods")
        .filter(|m| !m.is_empty())
        .map(|m| m.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    parse_methods(&names)
}

impl Handler {
    fn step_up_codec(&self) -> &CookieCodec {
        &self.iampass.settings().step_up_codec
    }

    /// The codec of the flow's pending cookie.
    pub(super) fn codec_of(&self, flow: &Flow) -> &CookieCodec {
        match flow {
            Flow::Login => &self.iampass.settings().codec,
            Flow::StepUp(_) => self.step_up_codec(),
        }
    }

    /// The cookie that removes the flow's pending cookie (for a step-up: only the step-up
    /// cookie; the session cookie stays).
    pub(super) fn removal_of(&self, flow: &Flow) -> cookie::Cookie<'static> {
        self.codec_of(flow).removal()
    }

    /// The request's pending step-up, if its step-up cookie opens.
    pub(super) fn step_up_pending(&self, req: &impl RequestHead) -> Option<SessionCookie> {
        let codec = self.step_up_codec();
        let raw = cookie_value(req, &codec.name)?;
        match codec.open(raw) {
            Ok((payload, _)) if payload.state() == CookieState::Pending => Some(payload),
            Ok(_) => None,
            Err(why) => {
                tracing::debug!(reason = ?why, "step-up cookie refused");
                None
            }
        }
    }

    /// The signed-in session cookie, validated against IAMPASS; else the answer a request
    /// without one gets (the login page with `next`, `401`, or `503`).
    async fn signed_in(
        &self,
        req: &impl RequestHead,
        next: &str,
        html: bool,
    ) -> Result<SessionCookie, Reply> {
        let denial = match self.context.outcome(req).await {
            Outcome::Identity(_) => match self.context.payload() {
                Some(payload) if payload.state() == CookieState::Authenticated => {
                    return Ok(payload.clone());
                }
                _ => Denial::Unauthenticated {
                    status: None,
                    login_url: self.login_url_to(next),
                },
            },
            Outcome::Anonymous(status) => Denial::Unauthenticated {
                status,
                login_url: self.login_url_to(next),
            },
            Outcome::Unavailable(reason) => Denial::Unavailable { reason },
        };
        Err(denial.reply(html, &self.iampass.settings().branding))
    }

    /// The login page, coming back to `next`.
    fn login_url_to(&self, next: &str) -> String {
        let login_path = self.iampass.login_path();
        if next == "/" {
            return login_path.to_owned();
        }
        let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let sep = if login_path.contains('?') { '&' } else { '?' };
        format!("{login_path}{sep}next={encoded}")
    }

    /// The step-up page at `next` with `methods`, for retrying.
    fn step_up_retry_url(&self, next: &str, methods: &[AuthenticationMethod]) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("next", next);
        if !methods.is_empty() {
            query.append_pair("methods", &methods_text(methods, ","));
        }
        format!("{}/step-up?{}", self.prefix(), query.finish())
    }

    /// `GET {prefix}/step-up[?next=/path][&methods=facial]`: the page (signed-in users
    /// only); `?wait=1`: the wait page of the step-up in progress.
    pub(crate) async fn step_up_page(&self, req: &impl RequestHead) -> Reply {
        if req.query_param("wait").is_some() {
            return self.step_up_wait(req).await;
        }
        let next = safe_next(req.query_param("next").as_deref());
        let main = match self.signed_in(req, &next, true).await {
            Ok(main) => main,
            Err(reply) => return reply,
        };
        let (methods, error) = match query_methods(req) {
            Ok(methods) => (methods, None),
            Err(refusal) => (Vec::new(), Some(refusal.message)),
        };
        let page = pages::step_up_form(
            &self.iampass.settings().branding,
            self.prefix(),
            main.user(),
            &next,
            &methods,
            error.as_deref(),
        );
        let status = if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        self.html(status, page)
    }

    /// The answer to a step-up that could not start: the page with the message (HTML) or
    /// the refusal's JSON.
    fn refuse_step_up(
        &self,
        html: bool,
        user: &str,
        next: &str,
        methods: &[AuthenticationMethod],
        r: Refusal,
    ) -> Reply {
        let reply = if html {
            let page = pages::step_up_form(
                &self.iampass.settings().branding,
                self.prefix(),
                user,
                next,
                methods,
                Some(&r.message),
            );
            self.html(r.status, page)
        } else {
            Reply::json(r.status, r.body)
        };
        reply.retry_after(r.retry_after)
    }

    /// `POST {prefix}/step-up` (JSON `{"next"?, "methods"?}` or a form): asks the phone of
    /// the session's own user for a fresh approval; `202 {"status": "pending", "poll_url"}`,
    /// or `303` to the wait page for a form.
    pub(crate) async fn step_up<S, E>(&self, req: &impl RequestHead, body: S) -> Reply
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let form = is_form(req);
        let html = answers_html(req, form);
        if let Some(refused) = self.refuse_cross_site(req, html) {
            return refused;
        }
        let request = match self.read_request(req, body, form, parse_request).await {
            Ok(request) => request,
            Err(refused) => return refused,
        };
        let next = safe_next(request.next.as_deref());
        let main = match self.signed_in(req, &next, html).await {
            Ok(main) => main,
            Err(reply) => return reply,
        };
        let methods = match request.methods.as_deref() {
            Some(names) => parse_methods(names),
            None => query_methods(req),
        };
        let methods = match methods {
            Ok(methods) if !methods.is_empty() => methods,
            Ok(_) => {
                let login = &self.iampass.settings().login;
                if login.step_up.methods.is_empty() {
                    login.methods.clone()
                } else {
                    login.step_up.methods.clone()
                }
            }
            Err(refusal) => return self.refuse_step_up(html, main.user(), &next, &[], refusal),
        };
        match self.start_step_up(req, &main, &methods, &next).await {
            Ok(cookie) if html => {
                Reply::see_other(format!("{}/step-up?wait=1", self.prefix())).cookie(Some(cookie))
            }
            Ok(cookie) => Reply::json(
                StatusCode::ACCEPTED,
                json!({"status": "pending", "poll_url": format!("{}/poll", self.prefix())}),
            )
            .cookie(Some(cookie)),
            Err(refusal) => self.refuse_step_up(html, main.user(), &next, &methods, refusal),
        }
    }

    /// Asks IAMPASS for the approval (rate-limited as a login) and seals the step-up cookie.
    async fn start_step_up(
        &self,
        req: &impl RequestHead,
        main: &SessionCookie,
        methods: &[AuthenticationMethod],
        next: &str,
    ) -> Result<cookie::Cookie<'static>, Refusal> {
        let start = Start {
            user: main.user(),
            iampass_user_id: Some(main.iampass_user_id()),
            methods: methods.to_vec(),
            // The new IAMPASS session ends when the login would have.
            duration: main.remaining_life(),
            factors: main.factors(),
        };
        let (session, resolved) = self.ask_phone(metrics::Flow::StepUp, req, &start).await?;
        // One step-up at a time: a previous one still pending on the phone ends.
        if let Some(previous) = self.step_up_pending(req) {
            self.end_previous(previous.session().clone(), previous.remaining_life());
        }
        tracing::info!(
            user = main.user(),
            address = ?self.client_ip(req),
            handle = %session_short_handle(&session),
            methods = methods_text(methods, ","),
            "step-up started"
        );
        let max_age = PENDING_MAX_AGE.min(main.remaining_life());
        let payload = |next: Option<String>| {
            SessionCookie::new(
                session.clone(),
                main.user().to_owned(),
                resolved.clone(),
                CookieState::Pending,
                max_age,
                next,
            )
            .with_factors(main.factors())
            .with_methods(methods.to_vec())
        };
        let codec = self.step_up_codec();
        match codec
            .seal(&payload(Some(next.to_owned())))
            .or_else(|_| codec.seal(&payload(None)))
        {
            Ok(cookie) => Ok(cookie),
            Err(e) => {
                tracing::warn!(
                    error = text(&e),
                    "step-up cookie too large; ending the request"
                );
                self.end_previous(session, PENDING_MAX_AGE);
                Err(Refusal::bad_request(
                    StatusCode::BAD_REQUEST,
                    "The request is too large.",
                ))
            }
        }
    }

    /// The flow of a pending step-up: the validated session cookie of the same user, or the
    /// answer (the step-up cookie removed and its IAMPASS request ended).
    pub(super) async fn step_up_flow(
        &self,
        req: &impl RequestHead,
        step: &SessionCookie,
        html: bool,
    ) -> Result<Flow, Reply> {
        let next = safe_next(step.next());
        let removal = Some(self.step_up_codec().removal());
        let main = match self.signed_in(req, &next, html).await {
            Ok(main) => main,
            Err(reply) => {
                self.end_previous(step.session().clone(), step.remaining_life());
                return Err(reply.cookie(removal));
            }
        };
        if main.user() != step.user() || main.iampass_user_id() != step.iampass_user_id() {
            tracing::warn!(
                user = main.user(),
                "a step-up cookie of another user was presented; refused"
            );
            self.end_previous(step.session().clone(), step.remaining_life());
            let message = "This confirmation was started by another user.";
            let reply = if html {
                self.html(
                    StatusCode::CONFLICT,
                    pages::message_page(
                        &self.iampass.settings().branding,
                        "Not confirmed",
                        message,
                        Some("/"),
                    ),
                )
            } else {
                Reply::json(
                    StatusCode::CONFLICT,
                    json!({"status": "failed", "error": "other_user", "message": message}),
                )
            };
            return Err(reply.cookie(removal));
        }
        Ok(Flow::StepUp(Box::new(main)))
    }

    /// `GET {prefix}/step-up?wait=1`: the no-JavaScript wait page of a step-up.
    async fn step_up_wait(&self, req: &impl RequestHead) -> Reply {
        let Some(step) = self.step_up_pending(req) else {
            let message = "No confirmation is waiting: it expired or already ended.";
            return self.html(
                StatusCode::OK,
                pages::message_page(
                    &self.iampass.settings().branding,
                    "Not confirmed",
                    message,
                    Some(&format!("{}/step-up", self.prefix())),
                ),
            );
        };
        let flow = match self.step_up_flow(req, &step, true).await {
            Ok(flow) => flow,
            Err(reply) => return reply,
        };
        let retry_url = self.step_up_retry_url(&safe_next(step.next()), step.methods());
        self.wait_reply(&step, &flow, &retry_url).await
    }

    /// An approved step-up: the session cookie re-sealed with the new session, approval time
    /// and methods; the old IAMPASS session revoked and logged out.
    pub(super) async fn finish_step_up(
        &self,
        signed_in: &SessionCookie,
        step: &SessionCookie,
        session: Session,
    ) -> Progress {
        let next = safe_next(step.next());
        let done = signed_in
            .clone()
            .stepped_up(session, step.methods().to_vec());
        match self.iampass.settings().codec.seal(&done) {
            Ok(cookie) => {
                tracing::info!(
                    user = step.user(),
                    handle = %session_short_handle(done.session()),
                    methods = methods_text(step.methods(), ","),
                    "step-up approved"
                );
                metrics::login(metrics::Flow::StepUp, LoginOutcome::Approved);
                // Revoked before the new cookie is handed out (every instance sharing the
                // store refuses the old one within a second), then logged out at IAMPASS.
                if let Some(token) = signed_in.session().session_token() {
                    let ttl = signed_in.remaining_life();
                    self.iampass.state().validator.revoke(token, ttl).await;
                }
                self.end_previous(signed_in.session().clone(), signed_in.remaining_life());
                Progress::Active(cookie, next)
            }
            Err(e) => {
                tracing::error!(
                    error = text(&e),
                    "cannot seal the stepped-up session cookie"
                );
                self.end_previous(done.session().clone(), done.remaining_life());
                Progress::Ended(
                    Status::Failed,
                    "the session cookie could not be written".into(),
                )
            }
        }
    }
}

//! `GET {prefix}/poll[?wait=N]` (JSON, long-polling) and `GET {prefix}/login?wait=1` (the
//! self-refreshing HTML wait page): both ask IAMPASS how a pending login stands.

use std::time::{Duration, Instant};

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::{Handler, query_param};
use crate::actix::cookie::SessionCookie;
use crate::actix::denial::UNAVAILABLE_MESSAGE;
use crate::actix::pages::{self, Wait};
use crate::actix::respond::Reply;
use crate::actix::security::redirect::safe_next;
use crate::{Error, Status};

/// Longest long-poll wait (`?wait=N` is capped to this).
///
/// ```
/// assert_eq!(iampass::actix::MAX_POLL_WAIT.as_secs(), 25);
/// ```
pub const MAX_POLL_WAIT: Duration = Duration::from_secs(25);
/// How often a long poll asks IAMPASS.
const POLL_INTERVAL: Duration = Duration::from_millis(400);
/// Seconds a poller or the wait page is asked to wait while IAMPASS is unavailable.
const RETRY_AFTER_SECS: u64 = 2;

/// How a pending login stands after asking IAMPASS.
enum Progress {
    /// Signed in: the authenticated cookie to set and where to go.
    Active(Cookie<'static>, String),
    /// Still waiting; the updated payload and its cookie when the stored status changed.
    Waiting(Status, Option<(Box<SessionCookie>, Cookie<'static>)>),
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

impl Handler {
    /// Asks IAMPASS once about a pending login.
    async fn check(&self, payload: &SessionCookie) -> Progress {
        let iampass = &self.iampass;
        let mut session = iampass
            .authentication_api()
            .attach(payload.session().clone());
        match session.get_status().await {
            Ok(Status::Active) => {
                let next = safe_next(payload.next());
                let done = payload
                    .clone()
                    .authenticated(session, iampass.session_max_age());
                match iampass.codec().seal(&done) {
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
                    iampass
                        .codec()
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

    /// `GET {prefix}/login?wait=1`: the no-JavaScript wait page.
    pub(super) async fn wait_page(&self, _req: HttpRequest) -> HttpResponse {
        let Some(payload) = self.context.pending() else {
            if let Some(done) = self.context.payload() {
                // Already signed in (e.g. the page was reloaded after success).
                return Reply::see_other(safe_next(done.next())).finish();
            }
            return Reply::html(
                StatusCode::OK,
                pages::login_form(
                    self.prefix(),
                    "",
                    "/",
                    Some("Your sign-in request expired or was not found. Please try again."),
                ),
            )
            .finish();
        };
        let retry_url = self.retry_url(payload.next());
        let reply = match self.check(payload).await {
            Progress::Active(cookie, next) => Reply::see_other(next).cookie(Some(cookie)),
            Progress::Waiting(status, reissue) => Reply::html(
                StatusCode::OK,
                pages::wait_page(Wait::Waiting {
                    message: reason_text(status),
                    retry_url: &retry_url,
                }),
            )
            .cookie(reissue.map(|(_, cookie)| cookie)),
            Progress::Ended(status, _) => Reply::html(
                StatusCode::OK,
                pages::wait_page(Wait::Failed {
                    message: reason_text(status),
                    retry_url: &retry_url,
                }),
            )
            .cookie(Some(self.iampass.codec().removal())),
            Progress::Unavailable(e) => {
                tracing::warn!(error = %e, "IAMPASS unavailable on the wait page");
                Reply::html(
                    StatusCode::SERVICE_UNAVAILABLE,
                    pages::wait_page(Wait::Waiting {
                        message: "IAMPASS cannot be reached right now; retrying\u{2026}",
                        retry_url: &retry_url,
                    }),
                )
                .retry_after(RETRY_AFTER_SECS)
            }
        };
        reply.finish()
    }

    fn retry_url(&self, next: Option<&str>) -> String {
        let next = safe_next(next);
        let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        format!("{}/login?next={encoded}", self.prefix())
    }

    /// `GET {prefix}/poll[?wait=N]`.
    pub(super) async fn poll(&self, req: HttpRequest) -> HttpResponse {
        let Some(payload) = self.context.pending() else {
            return Reply::json(
                StatusCode::UNAUTHORIZED,
                json!({"error": "no_pending_login", "status": null}),
            )
            .finish();
        };
        let mut payload = payload.clone();
        let wait = query_param(&req, "wait")
            .and_then(|w| w.trim().parse::<f64>().ok())
            .filter(|w| w.is_finite() && *w > 0.0)
            .map(|w| Duration::from_secs_f64(w.min(MAX_POLL_WAIT.as_secs_f64())))
            .unwrap_or(Duration::ZERO);
        let deadline = Instant::now() + wait;
        let mut reissued: Option<Cookie<'static>> = None;
        loop {
            let reply = match self.check(&payload).await {
                Progress::Active(cookie, next) => Reply::json(
                    StatusCode::OK,
                    json!({"status": "active", "redirect": next}),
                )
                .cookie(Some(cookie)),
                Progress::Ended(status, reason) => Reply::json(
                    StatusCode::OK,
                    json!({"status": status.as_str(), "reason": reason}),
                )
                .cookie(Some(self.iampass.codec().removal())),
                Progress::Unavailable(e) => {
                    tracing::warn!(error = %e, "IAMPASS unavailable during poll");
                    Reply::json(
                        StatusCode::SERVICE_UNAVAILABLE,
                        json!({"status": "unavailable", "error": "iampass_unavailable",
                               "message": UNAVAILABLE_MESSAGE}),
                    )
                    .retry_after(RETRY_AFTER_SECS)
                    .cookie(reissued)
                }
                Progress::Waiting(status, reissue) => {
                    let changed = reissue.is_some();
                    if let Some((updated, cookie)) = reissue {
                        payload = *updated;
                        reissued = Some(cookie);
                    }
                    let now = Instant::now();
                    if !changed && now < deadline {
                        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
                        continue;
                    }
                    Reply::json(
                        StatusCode::OK,
                        json!({"status": status.as_str(), "poll_url": format!("{}/poll", self.prefix())}),
                    )
                    .cookie(reissued)
                }
            };
            return reply.finish();
        }
    }
}

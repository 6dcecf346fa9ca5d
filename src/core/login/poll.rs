//! `GET {prefix}/poll[?wait=N]` (JSON, long-polling) and `GET {prefix}/login?wait=1` (the
//! self-refreshing HTML wait page): both ask IAMPASS how a pending login stands.

use std::time::{Duration, Instant};

use cookie::Cookie;
use http::StatusCode;
use serde_json::json;

use super::{Handler, decoy};
use crate::Status;
use crate::core::answer::Reply;
use crate::core::cookie::SessionCookie;
use crate::core::denial::UNAVAILABLE_MESSAGE;
use crate::core::log::{Without, text};
use crate::core::login::pending::{Checked, MIN_RECHECK};
use crate::core::pages::{self, Wait};
use crate::core::request::RequestHead;
use crate::core::security::redirect::safe_next;
use crate::metrics::{self, LoginOutcome};

use super::progress::{Flow, Progress, step_up_text};

/// Longest long-poll wait (`?wait=N` is capped to this).
///
/// ```
/// assert_eq!(iampass::core::defaults::MAX_POLL_WAIT.as_secs(), 25);
/// ```
pub const MAX_POLL_WAIT: Duration = Duration::from_secs(25);
/// How often a long poll asks IAMPASS.
const POLL_INTERVAL: Duration = Duration::from_millis(400);
/// Seconds a poller or the wait page is asked to wait while IAMPASS is unavailable.
const RETRY_AFTER_SECS: u64 = 2;

/// The answer to an approved login while the store cannot confirm it was not exchanged yet.
const STORE_UNAVAILABLE_MESSAGE: &str =
    "The sign-in was approved; finishing it is briefly unavailable, retrying\u{2026}";

/// The answer to a poll without a pending-login cookie, with its likely causes.
const NO_PENDING_LOGIN_MESSAGE: &str = "No pending sign-in: this request carried no valid \
    pending-login cookie. Over plain HTTP a Secure cookie is dropped by non-browser clients \
    (and by browsers on any host but localhost): use HTTPS, or cookie_secure(false) in \
    development only. Otherwise the sign-in expired or already ended: start it again.";

/// The answer to a pending cookie presented again after its exchange.
const EXCHANGED_MESSAGE: &str =
    "This sign-in was already completed. If that was not you, sign in again and sign out.";

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
    /// How a pending login stands: from the shared registry, which asks IAMPASS at most
    /// once per [`MIN_RECHECK`](crate::core::login::pending::MIN_RECHECK) whatever the number of
    /// polls, and remembers an ended login.
    async fn check(&self, payload: &SessionCookie, flow: &Flow) -> Progress {
        if matches!(flow, Flow::Login) && decoy::is_decoy(payload) {
            return self.check_decoy(payload);
        }
        let iampass = &self.iampass;
        let session = match iampass
            .state()
            .pending
            .check(iampass.authentication_api(), payload.session())
            .await
        {
            Checked::Answered(session) => *session,
            Checked::Unavailable(why) => {
                iampass.state().outage.went_without(Without::Refused, &why);
                return Progress::Unavailable(why);
            }
        };
        if !session.session_status().is_terminal() {
            // Asked within MIN_RECHECK (an ended login is answered from memory).
            let asked = Instant::now().checked_sub(MIN_RECHECK);
            if let Some(asked) = asked {
                iampass.state().outage.answered(asked);
            }
        }
        match session.session_status() {
            Status::Active => {
                let token = payload.session().session_token().unwrap_or_default();
                match iampass
                    .state()
                    .pending
                    .exchange_once(iampass.store(), token)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(
                            user = payload.user(),
                            "a pending login cookie was presented again after its exchange; refused"
                        );
                        return Progress::Exchanged;
                    }
                    Err(e) => return Progress::StoreUnavailable(e.to_string()),
                }
                if let Flow::StepUp(signed_in) = flow {
                    return self.finish_step_up(signed_in, payload, session).await;
                }
                let next = safe_next(payload.next());
                let done = payload
                    .clone()
                    .authenticated(session, iampass.settings().session_max_age);
                match iampass.settings().codec.seal(&done) {
                    Ok(cookie) => {
                        tracing::info!(user = payload.user(), "login approved");
                        metrics::login(metrics::Flow::Login, LoginOutcome::Approved);
                        Progress::Active(cookie, next)
                    }
                    Err(e) => {
                        tracing::error!(error = text(&e), "cannot seal the IAMPASS session cookie");
                        Progress::Ended(
                            Status::Failed,
                            "the session cookie could not be written".into(),
                        )
                    }
                }
            }
            status if status.is_terminal() => {
                let reason = session
                    .failure_reason()
                    .map(str::to_owned)
                    .unwrap_or_else(|| status.as_str().to_owned());
                if matches!(flow, Flow::Login) {
                    tracing::info!(
                        user = payload.user(),
                        status = status.as_str(),
                        "login ended"
                    );
                } else {
                    tracing::info!(
                        user = payload.user(),
                        status = status.as_str(),
                        reason = reason,
                        "step-up refused"
                    );
                }
                let token = payload.session().session_token().unwrap_or_default();
                if let Some(outcome) = LoginOutcome::of_end(status)
                    && iampass.state().pending.first_end(token)
                {
                    metrics::login(flow.metric(), outcome);
                }
                Progress::Ended(status, reason)
            }
            status => {
                let reissue = if status != payload.session().session_status() {
                    let mut updated = payload.clone();
                    *updated.session_mut() = session;
                    self.codec_of(flow)
                        .seal(&updated)
                        .ok()
                        .map(|cookie| (Box::new(updated), cookie))
                } else {
                    None
                };
                Progress::Waiting(status, reissue)
            }
        }
    }

    /// A decoy (public mode, see [`decoy`]): pending until its end time, then failed like a
    /// refused login; IAMPASS is never asked.
    fn check_decoy(&self, payload: &SessionCookie) -> Progress {
        let ends_at = decoy::ends_at(payload, self.iampass.settings().login.decoy_delay);
        if std::time::SystemTime::now() < ends_at {
            Progress::Waiting(Status::Pending, None)
        } else {
            tracing::debug!(user = payload.user(), "decoy login ended");
            Progress::Ended(Status::Failed, decoy::NOT_APPROVED_REASON.to_owned())
        }
    }

    /// The JSON of a login that ended without success: in the public mode one generic answer
    /// whatever happened (so a decoy and a real refusal, timeout or cancel read the same);
    /// otherwise the precise status and reason.
    fn ended_json(&self, status: Status, reason: &str, flow: &Flow) -> serde_json::Value {
        if !matches!(flow, Flow::Login) {
            return json!({"status": status.as_str(), "reason": reason,
                          "message": step_up_text(status)});
        }
        if self.iampass.public_login() {
            json!({"status": "failed", "reason": decoy::NOT_APPROVED_REASON,
                   "message": decoy::NOT_APPROVED_MESSAGE})
        } else {
            json!({"status": status.as_str(), "reason": reason, "message": reason_text(status)})
        }
    }

    /// The wait page's sentence for a login that ended without success (generic in the
    /// public mode, as [`Self::ended_json`]).
    fn ended_text(&self, status: Status, flow: &Flow) -> &'static str {
        if !matches!(flow, Flow::Login) {
            return step_up_text(status);
        }
        if self.iampass.public_login() {
            decoy::NOT_APPROVED_MESSAGE
        } else {
            reason_text(status)
        }
    }

    /// `GET {prefix}/login?wait=1`: the no-JavaScript wait page.
    pub(super) async fn wait_page(&self, _req: &impl RequestHead) -> Reply {
        let Some(payload) = self.context.pending() else {
            if let Some(done) = self.context.payload() {
                // Already signed in (e.g. the page was reloaded after success).
                return Reply::see_other(safe_next(done.next()));
            }
            return self.html(
                StatusCode::OK,
                pages::login_form(
                    &self.iampass.settings().branding,
                    self.prefix(),
                    "",
                    "/",
                    Some("Your sign-in request expired or was not found. Please try again."),
                ),
            );
        };
        let retry_url = self.retry_url(payload.next());
        self.wait_reply(payload, &Flow::Login, &retry_url).await
    }

    /// The wait page of a pending approval (a login's or a step-up's): asks IAMPASS and
    /// answers the page, or `303` once approved.
    pub(super) async fn wait_reply(
        &self,
        payload: &SessionCookie,
        flow: &Flow,
        retry_url: &str,
    ) -> Reply {
        let branding = &self.iampass.settings().branding;
        let step_up = !matches!(flow, Flow::Login);
        let texts = |status| {
            if step_up {
                step_up_text(status)
            } else {
                reason_text(status)
            }
        };
        let page = |wait| pages::wait_page(branding, wait, step_up);
        match self.check(payload, flow).await {
            Progress::Active(cookie, next) => Reply::see_other(next)
                .cookie(Some(cookie))
                .extra_cookie(step_up.then(|| self.removal_of(flow))),
            Progress::Waiting(status, reissue) => self
                .html(
                    StatusCode::OK,
                    page(Wait::Waiting {
                        message: texts(status),
                        retry_url,
                    }),
                )
                .cookie(reissue.map(|(_, cookie)| cookie)),
            Progress::Ended(status, _) => self
                .html(
                    StatusCode::OK,
                    page(Wait::Failed {
                        message: self.ended_text(status, flow),
                        retry_url,
                    }),
                )
                .cookie(Some(self.removal_of(flow))),
            Progress::Exchanged => self.html(
                StatusCode::CONFLICT,
                page(Wait::Failed {
                    message: EXCHANGED_MESSAGE,
                    retry_url,
                }),
            ),
            Progress::StoreUnavailable(e) => {
                tracing::warn!(
                    error = e,
                    "shared store unavailable: login approved, not yet exchanged"
                );
                // Not a 5xx: the login is not lost, only its last step waits for the store.
                self.html(
                    StatusCode::OK,
                    page(Wait::Waiting {
                        message: STORE_UNAVAILABLE_MESSAGE,
                        retry_url,
                    }),
                )
                .retry_after(RETRY_AFTER_SECS)
            }
            Progress::Unavailable(e) => {
                tracing::debug!(error = e, "IAMPASS unavailable on the wait page");
                self.html(
                    StatusCode::SERVICE_UNAVAILABLE,
                    page(Wait::Waiting {
                        message: "IAMPASS cannot be reached right now; retrying\u{2026}",
                        retry_url,
                    }),
                )
                .retry_after(RETRY_AFTER_SECS)
            }
        }
    }

    fn retry_url(&self, next: Option<&str>) -> String {
        let next = safe_next(next);
        let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        format!("{}/login?next={encoded}", self.prefix())
    }

    /// `GET {prefix}/poll[?wait=N]`: a pending login's, else a pending step-up's.
    pub(crate) async fn poll(&self, req: &impl RequestHead) -> Reply {
        let Some(payload) = self.context.pending() else {
            if let Some(step) = self.step_up_pending(req) {
                return match self.step_up_flow(req, &step, false).await {
                    Ok(flow) => self.poll_flow(req, step, flow).await,
                    Err(reply) => reply,
                };
            }
            return Reply::json(
                StatusCode::UNAUTHORIZED,
                json!({"error": "no_pending_login", "status": null,
                       "message": NO_PENDING_LOGIN_MESSAGE}),
            );
        };
        self.poll_flow(req, payload.clone(), Flow::Login).await
    }

    /// The long poll of one pending approval.
    async fn poll_flow(&self, req: &impl RequestHead, payload: SessionCookie, flow: Flow) -> Reply {
        let settings = &self.iampass.settings().login;
        let token = payload.session().session_token().unwrap_or_default();
        let _guard = match self.iampass.state().pending.enter(
            token,
            self.client_ip(req),
            settings.polls_per_login,
            settings.polls_per_address,
        ) {
            Ok(guard) => guard,
            Err(refused) => {
                tracing::info!(?refused, "concurrent poll refused");
                return Reply::json(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"error": "too_many_polls", "retry_after": 1,
                           "message": "Too many requests are waiting for this sign-in."}),
                )
                .retry_after(1);
            }
        };
        let mut payload = payload;
        let wait = req
            .query_param("wait")
            .and_then(|w| w.trim().parse::<f64>().ok())
            .filter(|w| w.is_finite() && *w > 0.0)
            .map(|w| Duration::from_secs_f64(w.min(MAX_POLL_WAIT.as_secs_f64())))
            .unwrap_or(Duration::ZERO);
        let deadline = Instant::now() + wait;
        let mut reissued: Option<Cookie<'static>> = None;
        loop {
            let reply = match self.check(&payload, &flow).await {
                Progress::Active(cookie, next) => Reply::json(
                    StatusCode::OK,
                    json!({"status": "active", "redirect": next}),
                )
                .cookie(Some(cookie))
                .extra_cookie((!matches!(flow, Flow::Login)).then(|| self.removal_of(&flow))),
                Progress::Ended(status, reason) => {
                    Reply::json(StatusCode::OK, self.ended_json(status, &reason, &flow))
                        .cookie(Some(self.removal_of(&flow)))
                }
                Progress::Exchanged => Reply::json(
                    StatusCode::CONFLICT,
                    json!({"status": "exchanged", "error": "already_exchanged",
                           "message": EXCHANGED_MESSAGE}),
                ),
                Progress::StoreUnavailable(e) => {
                    // A long poll rides out a short store outage (fail closed meanwhile).
                    let now = Instant::now();
                    if now < deadline {
                        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
                        continue;
                    }
                    tracing::warn!(
                        error = e,
                        "shared store unavailable: login approved, not yet exchanged"
                    );
                    // Still pending for the browser (never a 5xx caused by the store alone):
                    // the next poll finishes the sign-in once the store answers.
                    Reply::json(
                        StatusCode::OK,
                        json!({"status": "pending", "error": "store_unavailable",
                               "retry_after": RETRY_AFTER_SECS,
                               "message": STORE_UNAVAILABLE_MESSAGE}),
                    )
                    .retry_after(RETRY_AFTER_SECS)
                    .cookie(reissued)
                }
                Progress::Unavailable(e) => {
                    tracing::debug!(error = e, "IAMPASS unavailable during poll");
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
            return reply;
        }
    }
}

//! `GET {prefix}/events`: the signed-in session's state as Server-Sent Events, for pages that
//! lock the moment the phone walks away (see `live.js`), and `GET {prefix}/live.js` itself.
//!
//! The request is judged first exactly as the middleware judges any request (the same
//! validator, the same cookie rules: a closed session's cookie is removed by this very
//! response, a walked-away one is kept). Then the stream reads the session's shared feed
//! (`live`): one IAMPASS check per interval for all of the session's streams.

use std::convert::Infallible;
use std::time::{Duration, SystemTime};

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use futures_util::stream;
use serde_json::json;
use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::{Handler, query_param};
use crate::Status;
use crate::actix::context::Outcome;
use crate::actix::cookie::CookieState;
use crate::actix::live::{CAP_RETRY_AFTER, CapReached, LiveState, StreamSlot};
use crate::actix::respond::Reply;
use crate::actix::security::redirect::is_safe_redirect;

/// The live-lock script, served as `{prefix}/live.js`.
const LIVE_JS: &str = include_str!("../../../templates/actix/live.js");

/// `GET {prefix}/live.js`: the script, cacheable for a week, never sniffed as anything else.
pub(super) fn live_js() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "public, max-age=604800"))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(LIVE_JS)
}

impl Handler {
    /// `GET {prefix}/events[?next=/page]`.
    pub(super) async fn events(&self, req: HttpRequest) -> HttpResponse {
        let login_url = self.login_url(query_param(&req, "next").as_deref());
        let outcome = self.context.outcome(&req).await;
        let payload = self
            .context
            .payload()
            .filter(|p| p.state() == CookieState::Authenticated);
        let initial = match (&outcome, payload) {
            (_, None) => None,
            (Outcome::Identity(_), Some(_)) => Some(LiveState::Active),
            (Outcome::Unavailable(_), Some(_)) => Some(LiveState::Unavailable),
            (Outcome::Anonymous(status), Some(_)) => Some(anonymous_state(
                *status,
                self.iampass.walkaway() == crate::actix::WalkawayPolicy::Deny,
            )),
        };
        let cookie = self.context.cookie_update();
        let (Some(payload), Some(initial)) = (payload, initial) else {
            // Anonymous: one `closed`, then the end (a 401 would make EventSource retry).
            return sse(cookie).streaming(stream::once(async move {
                Ok::<_, Infallible>(frame(LiveState::Closed, &login_url))
            }));
        };
        if initial.is_final() {
            return sse(cookie).streaming(stream::once(async move {
                Ok::<_, Infallible>(frame(initial, &login_url))
            }));
        }
        let Some(token) = payload.session().session_token() else {
            return sse(cookie).streaming(stream::once(async move {
                Ok::<_, Infallible>(frame(LiveState::Closed, &login_url))
            }));
        };
        let address = self.client_ip(&req);
        let hub = self.iampass.live_hub();
        let slot = match hub.open_slot(&self.iampass, token, address) {
            Ok(slot) => slot,
            Err(cap) => {
                let per = match cap {
                    CapReached::Session => "session",
                    CapReached::Address => "address",
                };
                tracing::info!(
                    user = payload.user(),
                    ?address,
                    per,
                    "event stream cap reached"
                );
                return Reply::json(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({
                        "error": "too_many_streams",
                        "message": format!("too many open event streams for this {per}"),
                    }),
                )
                .retry_after(CAP_RETRY_AFTER.as_secs())
                .cookie(cookie)
                .finish();
            }
        };
        let receiver = hub.subscribe(&self.iampass, payload.session().clone(), initial);
        let heartbeat = self.iampass.events_heartbeat();
        let mut ticks = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let until_expiry = payload
            .expires_at()
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let feed = Feed {
            receiver,
            ticks,
            expires: Instant::now() + until_expiry,
            login_url,
            sent: None,
            first: Some(initial),
            done: false,
            _slot: slot,
        };
        sse(cookie).streaming(stream::unfold(feed, Feed::next))
    }

    /// The login page with `next` (when it is a safe local path), for closed/expired.
    fn login_url(&self, next: Option<&str>) -> String {
        let login = self.iampass.login_path();
        match next.filter(|n| is_safe_redirect(n) && *n != "/") {
            Some(next) => {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                let sep = if login.contains('?') { '&' } else { '?' };
                format!("{login}{sep}next={encoded}")
            }
            None => login.to_owned(),
        }
    }
}

/// The state of a signed-in cookie the middleware found not to be an identity.
fn anonymous_state(status: Option<Status>, walkaway_keeps_cookie: bool) -> LiveState {
    match status {
        Some(Status::Walkaway) if walkaway_keeps_cookie => LiveState::Walkaway,
        Some(Status::Pending | Status::Identifying) => LiveState::Walkaway,
        Some(Status::Timeout) => LiveState::Expired,
        _ => LiveState::Closed,
    }
}

/// The response head of every stream.
fn sse(cookie: Option<actix_web::cookie::Cookie<'static>>) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((CONTENT_TYPE, "text/event-stream"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if let Some(cookie) = cookie {
        builder.cookie(cookie);
    }
    builder
}

/// One event: `event: <state>` with `{"state"}` (and `login_url` when the session is over).
fn frame(state: LiveState, login_url: &str) -> Bytes {
    let data = if state.is_final() {
        json!({"state": state.name(), "login_url": login_url})
    } else {
        json!({"state": state.name()})
    };
    Bytes::from(format!("event: {}\ndata: {data}\n\n", state.name()))
}

/// One open stream: the session's shared feed, its heartbeat and the cookie's expiry. Its
/// slot in the caps is given back when actix drops it (end of stream or client gone).
struct Feed {
    receiver: watch::Receiver<LiveState>,
    ticks: Interval,
    expires: Instant,
    login_url: String,
    sent: Option<LiveState>,
    /// What the request itself found, sent first.
    first: Option<LiveState>,
    done: bool,
    _slot: StreamSlot,
}

impl Feed {
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Feed)> {
        if self.done {
            return None;
        }
        if let Some(first) = self.first.take() {
            self.receiver.mark_unchanged();
            return Some(self.send(first));
        }
        loop {
            tokio::select! {
                changed = self.receiver.changed() => {
                    let state = *self.receiver.borrow_and_update();
                    if changed.is_err() && !state.is_final() {
                        // The ticker is gone without a verdict (cannot happen while we read
                        // it); end cleanly, the script reconnects.
                        return None;
                    }
                    if self.sent != Some(state) {
                        return Some(self.send(state));
                    }
                    if changed.is_err() {
                        return None;
                    }
                }
                _ = self.ticks.tick() => {
                    return Some((Ok(Bytes::from_static(b"event: heartbeat\ndata: {}\n\n")), self));
                }
                () = tokio::time::sleep_until(self.expires) => {
                    return Some(self.send(LiveState::Expired));
                }
            }
        }
    }

    fn send(mut self, state: LiveState) -> (Result<Bytes, Infallible>, Feed) {
        self.sent = Some(state);
        self.done = state.is_final();
        (Ok(frame(state, &self.login_url)), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_anonymous_states() {
        let closed = frame(LiveState::Closed, "/auth/login?next=%2Fd");
        assert_eq!(
            closed,
            "event: closed\ndata: {\"login_url\":\"/auth/login?next=%2Fd\",\"state\":\"closed\"}\n\n"
        );
        assert_eq!(
            frame(LiveState::Walkaway, "/x"),
            "event: walkaway\ndata: {\"state\":\"walkaway\"}\n\n"
        );
        assert_eq!(
            anonymous_state(Some(Status::Walkaway), true),
            LiveState::Walkaway
        );
        assert_eq!(
            anonymous_state(Some(Status::Walkaway), false),
            LiveState::Closed
        );
        assert_eq!(anonymous_state(None, true), LiveState::Closed);
        assert_eq!(
            anonymous_state(Some(Status::Timeout), true),
            LiveState::Expired
        );
    }
}

//! `GET {prefix}/events`: the signed-in session's state as Server-Sent Events, for pages that
//! lock the moment the phone walks away (see `live.js`), and `GET {prefix}/live.js` itself.
//!
//! The request is judged first exactly as the middleware judges any request (the same
//! validator, the same cookie rules: a closed session's cookie is removed by this very
//! response, a walked-away one is kept). Then the stream reads the session's shared feed
//! (`live`): one IAMPASS check per interval for all of the session's streams.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream;
use http::StatusCode;
use serde_json::json;
use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::Handler;
use crate::core::Iampass;
use crate::core::answer::Reply;
use crate::core::context::Outcome;
use crate::core::cookie::CookieState;
use crate::core::live::{CAP_RETRY_AFTER, CapReached, LiveState};
use crate::core::log::short_handle;
use crate::core::request::RequestHead;
use crate::core::security::redirect::is_safe_redirect;
use crate::metrics::{self, EventStreamGauge};
use crate::{Session, Status};

/// How often an open stream writes a comment line (`:`, which EventSource ignores): a client
/// that went away makes the write after next fail, so its place in the caps is given back
/// within about a second even on servers that notice a closed connection only by writing.
pub(crate) const CLIENT_PROBE: Duration = Duration::from_millis(500);

/// The live-lock script, served as `{prefix}/live.js`.
const LIVE_JS: &str = include_str!("../../../templates/pages/live.js");

/// `GET {prefix}/live.js`: the script, cacheable for a week, never sniffed as anything else.
pub(super) fn live_js() -> Reply {
    Reply::script(LIVE_JS, 604_800)
}

impl Handler {
    /// `GET {prefix}/events[?next=/page]`.
    pub(crate) async fn events(&self, req: &impl RequestHead) -> Reply {
        let login_url = self.login_url(req.query_param("next").as_deref());
        let outcome = self.context.outcome(req).await;
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
                self.iampass.settings().walkaway == crate::core::WalkawayPolicy::Deny,
            )),
        };
        let cookie = self.context.cookie_update();
        let (Some(payload), Some(initial)) = (payload, initial) else {
            // Anonymous: one `closed`, then the end (a 401 would make EventSource retry).
            return single(LiveState::Closed, login_url).cookie(cookie);
        };
        if initial.is_final() {
            return single(initial, login_url).cookie(cookie);
        }
        let Some(token) = payload.session().session_token() else {
            return single(LiveState::Closed, login_url).cookie(cookie);
        };
        let address = self.client_ip(req);
        let slot = match StreamSlot::take(&self.iampass, token, address) {
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
                .cookie(cookie);
            }
        };
        let receiver = subscribe(&self.iampass, payload.session(), token, initial);
        let heartbeat = self.iampass.settings().events.heartbeat;
        let mut ticks = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut probes = tokio::time::interval_at(Instant::now() + CLIENT_PROBE, CLIENT_PROBE);
        probes.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let until_expiry = payload
            .expires_at()
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let feed = Feed {
            receiver,
            ticks,
            probes,
            expires: Instant::now() + until_expiry,
            login_url,
            sent: None,
            first: Some(initial),
            done: false,
            _slot: slot,
        };
        Reply::event_stream(stream::unfold(feed, Feed::next).boxed()).cookie(cookie)
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

/// A stream of one final event.
fn single(state: LiveState, login_url: String) -> Reply {
    Reply::event_stream(stream::once(async move { frame(state, &login_url) }).boxed())
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
/// slot in the caps is given back when the adapter drops it (end of stream or client gone).
///
/// Its place is given back as soon as the adapter notices the client is gone; servers that
/// notice only when a write fails (actix-web) notice within two [`CLIENT_PROBE`]s, thanks to
/// the comment line written every probe.
struct Feed {
    receiver: watch::Receiver<LiveState>,
    ticks: Interval,
    /// Writes a comment line (`:`) every [`CLIENT_PROBE`].
    probes: Interval,
    expires: Instant,
    login_url: String,
    sent: Option<LiveState>,
    /// What the request itself found, sent first.
    first: Option<LiveState>,
    done: bool,
    _slot: StreamSlot,
}

impl Feed {
    async fn next(mut self) -> Option<(Bytes, Feed)> {
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
                _ = self.probes.tick() => {
                    return Some((Bytes::from_static(b":\n"), self));
                }
                _ = self.ticks.tick() => {
                    return Some((Bytes::from_static(b"event: heartbeat\ndata: {}\n\n"), self));
                }
                () = tokio::time::sleep_until(self.expires) => {
                    return Some(self.send(LiveState::Expired));
                }
            }
        }
    }

    fn send(mut self, state: LiveState) -> (Bytes, Feed) {
        self.sent = Some(state);
        self.done = state.is_final();
        (frame(state, &self.login_url), self)
    }
}

/// One open stream's place in the caps; dropping it (the stream ended or the client went
/// away) gives the place back.
struct StreamSlot {
    iampass: Iampass,
    token: String,
    address: Option<IpAddr>,
    /// Counts the stream in `iampass_event_streams` while it is open.
    _gauge: EventStreamGauge,
}

impl StreamSlot {
    /// A place for a stream of session `token` from `address`, within the configured caps.
    fn take(iampass: &Iampass, token: &str, address: Option<IpAddr>) -> Result<Self, CapReached> {
        let events = &iampass.settings().events;
        iampass.state().live.take_place(
            token,
            address,
            (events.per_session, events.per_address),
        )?;
        Ok(StreamSlot {
            iampass: iampass.clone(),
            token: token.to_owned(),
            address,
            _gauge: metrics::event_stream_opened(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.iampass
            .state()
            .live
            .give_back(&self.token, self.address);
    }
}

/// The session's shared feed, starting its ticker if no stream of the session has one.
/// `known`: the state the request has just learnt (it seeds a new feed, whose first check
/// then waits one interval).
fn subscribe(
    iampass: &Iampass,
    session: &Session,
    token: &str,
    known: LiveState,
) -> watch::Receiver<LiveState> {
    let (receiver, new_feed) = iampass.state().live.feed(token, known);
    if let Some(feed) = new_feed {
        tokio::spawn(tick(
            iampass.clone(),
            token.to_owned(),
            session.clone(),
            feed,
        ));
    }
    receiver
}

/// The session's ticker: asks IAMPASS (through the shared validator) every interval while
/// at least one stream reads the feed; stops when the last one goes or the session ends.
async fn tick(iampass: Iampass, token: String, session: Session, feed: watch::Sender<LiveState>) {
    let session = Arc::new(session);
    let interval = iampass.settings().events.interval;
    let live = &iampass.state().live;
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = feed.closed() => {}
        }
        if live.retire(&token, &feed, false) {
            return;
        }
        let (asking, asked) = (iampass.clone(), session.clone());
        let fetch = move || async move { asking.authentication_api().session_status(&asked).await };
        let judged = iampass
            .state()
            .validator
            .judge(&token, None, iampass.settings().policy(), fetch)
            .await;
        let state = LiveState::from_verdict(&judged.verdict, iampass.settings().walkaway);
        feed.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
        if state.is_final() {
            live.retire(&token, &feed, true);
            tracing::debug!(handle = %short_handle(&token), "live feed ended");
            return;
        }
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

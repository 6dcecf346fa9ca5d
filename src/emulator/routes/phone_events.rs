//! `GET /phone/events[?app_id][&user]`: what the phone page shows, as a Server-Sent Events
//! stream. An `event: state` carries the whole state (the JSON of `GET /_emulator/phone`)
//! first and then each time it changes: at once when anything changes the world, and at the
//! instant a time-based transition (a timeout, a scripted answer, an expiry) is due. A comment
//! line every 15 s keeps idle connections open. The stream ends when the server stops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::stream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::phone_state::state_of;
use super::reply::{Reject, Reply, query, query_param};
use crate::emulator::state::Shared;

/// Longest silence on an open stream.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// What a browser waits before reconnecting a dropped stream.
const RETRY_MS: u64 = 1_000;

/// One open stream.
struct Watch {
    shared: Arc<Shared>,
    app_id: Option<String>,
    user: Option<String>,
    changes: watch::Receiver<u64>,
    stopping: watch::Receiver<bool>,
    /// The state last sent (`None` before the first event).
    last: Option<String>,
    last_sent: Instant,
}

impl Watch {
    /// The state now, and when a time-based transition may change it.
    fn look(&self) -> (String, Option<Instant>) {
        let (app_id, user) = (self.app_id.as_deref(), self.user.as_deref());
        let state = state_of(&self.shared, app_id, user);
        let json = serde_json::to_string(&state).unwrap_or_else(|_| "{}".into());
        let due = self.shared.world().sessions.next_change(app_id, user);
        (json, due.map(Instant::from_std))
    }

    /// The next piece of the stream, or `None` once the server stops.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            let (json, due) = self.look();
            if self.last.as_ref() != Some(&json) {
                let retry = if self.last.is_none() {
                    format!("retry: {RETRY_MS}\n")
                } else {
                    String::new()
                };
                let event = format!("{retry}event: state\ndata: {json}\n\n");
                self.last = Some(json);
                self.last_sent = Instant::now();
                return Some(Bytes::from(event));
            }
            let heartbeat = self.last_sent + HEARTBEAT;
            let wake = due.map_or(heartbeat, |due| due.min(heartbeat));
            tokio::select! {
                changed = self.changes.changed() => changed.ok()?,
                _ = self.stopping.wait_for(|stopping| *stopping) => return None,
                () = tokio::time::sleep_until(wake) => {
                    if Instant::now() >= heartbeat {
                        self.last_sent = Instant::now();
                        return Some(Bytes::from_static(b": keep-alive\n\n"));
                    }
                }
            }
        }
    }
}

pub(crate) async fn events(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let pairs = query(&req)?;
    let filter = |name| query_param(&pairs, name).filter(|s| !s.is_empty());
    let (app_id, user) = (filter("app_id"), filter("user"));
    let shared = shared.into_inner();
    if *shared.stopping().borrow() {
        return Err(Reject::text(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "the emulator is stopping",
        ));
    }
    let watch = Watch {
        changes: shared.changes(),
        stopping: shared.stopping(),
        shared,
        app_id,
        user,
        last: None,
        last_sent: Instant::now(),
    };
    let body = stream::unfold(watch, |mut watch| async move {
        let piece = watch.next().await?;
        Some((Ok::<_, Infallible>(piece), watch))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

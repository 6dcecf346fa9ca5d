//! The live state of signed-in sessions for `GET {prefix}/events`: one shared ticker per
//! session (every stream of the session, across tabs and workers, reads the same
//! `watch` channel, so IAMPASS is asked once per interval whatever the number of tabs), and
//! the counters that cap concurrent streams per session and per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::config::{Iampass, WalkawayPolicy};
use super::handlers::short_handle;
use super::security::in_flight::InFlight;
use super::validate::{Verdict, verdict};
use crate::{Error, Session, Status};

/// What a page should show, as sent on the stream (the SSE event name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LiveState {
    /// Signed in and present.
    Active,
    /// The phone is away (or the session went back to a login in progress): lock the page.
    Walkaway,
    /// The session is over (remote logout, denied, unknown to IAMPASS).
    Closed,
    /// The login's lifetime is over.
    Expired,
    /// IAMPASS cannot be asked and the fail mode refuses.
    Unavailable,
}

impl LiveState {
    /// The event name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            LiveState::Active => "active",
            LiveState::Walkaway => "walkaway",
            LiveState::Closed => "closed",
            LiveState::Expired => "expired",
            LiveState::Unavailable => "unavailable",
        }
    }

    /// `true` when the stream ends after this state.
    pub(crate) fn is_final(self) -> bool {
        matches!(self, LiveState::Closed | LiveState::Expired)
    }

    /// The state for a status answer, judged exactly as the middleware judges a request.
    pub(crate) fn from_verdict(v: &Verdict, walkaway: WalkawayPolicy) -> Self {
        match v {
            Verdict::Allow { .. } => LiveState::Active,
            Verdict::Deny {
                status: Some(Status::Walkaway),
                ..
            } if walkaway == WalkawayPolicy::Deny => LiveState::Walkaway,
            Verdict::Deny {
                status: Some(Status::Pending | Status::Identifying),
                ..
            } => LiveState::Walkaway,
            Verdict::Deny {
                status: Some(Status::Timeout),
                ..
            } => LiveState::Expired,
            Verdict::Deny { .. } => LiveState::Closed,
            Verdict::Unavailable(_) => LiveState::Unavailable,
        }
    }
}

/// Every session's shared ticker and the stream counters. One per [`Iampass`].
#[derive(Default)]
pub(crate) struct LiveHub {
    feeds: Mutex<HashMap<String, watch::Sender<LiveState>>>,
    per_session: InFlight<String>,
    per_address: InFlight<IpAddr>,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHub")
            .field("sessions", &lock(&self.feeds).len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Which cap refused a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CapReached {
    Session,
    Address,
}

/// One open stream's place in the counters; dropping it (the stream ended or the client
/// went away) gives the place back.
pub(crate) struct StreamSlot {
    iampass: Iampass,
    token: String,
    address: Option<IpAddr>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let hub = self.iampass.live_hub();
        hub.per_session.release(&self.token);
        if let Some(address) = self.address {
            hub.per_address.release(&address);
        }
    }
}

impl LiveHub {
    /// Takes a stream place for session `token` from `address`, within the caps.
    pub(crate) fn open_slot(
        &self,
        iampass: &Iampass,
        token: &str,
        address: Option<IpAddr>,
    ) -> Result<StreamSlot, CapReached> {
        let (per_session, per_address) = iampass.events_caps();
        if let Some(address) = address
            && !self.per_address.try_acquire(&address, per_address)
        {
            return Err(CapReached::Address);
        }
        let token = token.to_owned();
        if !self.per_session.try_acquire(&token, per_session) {
            if let Some(address) = address {
                self.per_address.release(&address);
            }
            return Err(CapReached::Session);
        }
        Ok(StreamSlot {
            iampass: iampass.clone(),
            token,
            address,
        })
    }

    /// The session's shared feed, starting its ticker if no stream of the session has one.
    /// `known`: the state the caller has just learnt (it seeds a new feed, whose first
    /// check then waits one interval).
    pub(crate) fn subscribe(
        &self,
        iampass: &Iampass,
        session: Session,
        known: LiveState,
    ) -> watch::Receiver<LiveState> {
        let Some(token) = session.session_token().map(str::to_owned) else {
            return watch::channel(LiveState::Closed).1;
        };
        let mut feeds = lock(&self.feeds);
        if let Some(feed) = feeds.get(&token) {
            return feed.subscribe();
        }
        let (feed, receiver) = watch::channel(known);
        feeds.insert(token.clone(), feed.clone());
        drop(feeds);
        actix_web::rt::spawn(tick(iampass.clone(), token, session, feed));
        receiver
    }

    /// Drops the feed of `token` if nobody reads it any more (or `always`); `true` if gone.
    fn retire(&self, token: &str, feed: &watch::Sender<LiveState>, always: bool) -> bool {
        let mut feeds = lock(&self.feeds);
        if !always && feed.receiver_count() > 0 {
            return false;
        }
        if feeds.get(token).is_some_and(|f| f.same_channel(feed)) {
            feeds.remove(token);
        }
        true
    }
}

/// The session's ticker: asks IAMPASS (through the shared validator) every interval while
/// at least one stream reads the feed; stops when the last one goes or the session ends.
async fn tick(iampass: Iampass, token: String, session: Session, feed: watch::Sender<LiveState>) {
    let session = iampass.authentication_api().attach(session);
    let interval = iampass.events_interval();
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = feed.closed() => {}
        }
        if iampass.live_hub().retire(&token, &feed, false) {
            return;
        }
        let state = check(&iampass, &token, &session).await;
        feed.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
        if state.is_final() {
            iampass.live_hub().retire(&token, &feed, true);
            return;
        }
    }
}

/// One status check, shared with every concurrent request of the session.
async fn check(iampass: &Iampass, token: &str, session: &Session) -> LiveState {
    let session = session.clone();
    let checked = iampass
        .validator()
        .status(token, async move { session.fetch_status().await })
        .await;
    if let Some(transition) = checked.transition {
        transition.log(None, &short_handle(token));
    }
    let answer: Result<Status, Arc<Error>> = checked.answer;
    let last_good = match &answer {
        Err(_) => iampass.validator().last_good_age(token).await,
        Ok(_) => None,
    };
    let end_on_walkaway = iampass.walkaway() == WalkawayPolicy::EndSession;
    let v = verdict(
        &answer,
        end_on_walkaway,
        iampass.fail_mode().stale_grace(),
        last_good,
    );
    LiveState::from_verdict(&v, iampass.walkaway())
}

/// `Retry-After` of the `429` for a stream over a cap (streams last long; a free place is
/// not predictable, so a fixed, short wait).
pub(crate) const CAP_RETRY_AFTER: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_the_middlewares_verdicts() {
        let deny = |status| Verdict::Deny {
            status,
            remove: true,
        };
        let d = WalkawayPolicy::Deny;
        assert_eq!(
            LiveState::from_verdict(&Verdict::Allow { stale: true }, d),
            LiveState::Active
        );
        assert_eq!(
            LiveState::from_verdict(&deny(Some(Status::Walkaway)), d),
            LiveState::Walkaway
        );
        assert_eq!(
            LiveState::from_verdict(&deny(Some(Status::Walkaway)), WalkawayPolicy::EndSession),
            LiveState::Closed
        );
        assert_eq!(
            LiveState::from_verdict(&deny(Some(Status::Timeout)), d),
            LiveState::Expired
        );
        for s in [None, Some(Status::Closed), Some(Status::Failed)] {
            assert_eq!(LiveState::from_verdict(&deny(s), d), LiveState::Closed);
        }
        assert_eq!(
            LiveState::from_verdict(&Verdict::Unavailable("x".into()), d),
            LiveState::Unavailable
        );
        assert!(LiveState::Closed.is_final() && LiveState::Expired.is_final());
        assert!(!LiveState::Walkaway.is_final() && !LiveState::Unavailable.is_final());
    }
}

//! The live state of signed-in sessions for `GET {prefix}/events`: one shared ticker per
//! session (every stream of the session, across tabs and workers, reads the same
//! `watch` channel, so IAMPASS is asked once per interval whatever the number of tabs), and
//! the counters that cap concurrent streams per session and per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use crate::Status;
use crate::core::WalkawayPolicy;
use crate::core::security::client_addr::address_block;
use crate::core::security::in_flight::InFlight;
use crate::core::validate::Verdict;

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

/// Every session's shared feed and the stream counters. One per deployment (in its state);
/// the tickers that drive the feeds are the event handler's.
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

impl LiveHub {
    /// Takes a stream place for session `token` from `address` (by its block: an IPv6
    /// client by its /64), within `caps` (per session, per address). Give it back with
    /// [`give_back`](Self::give_back).
    pub(crate) fn take_place(
        &self,
        token: &str,
        address: Option<IpAddr>,
        (per_session, per_address): (usize, usize),
    ) -> Result<(), CapReached> {
        let address = address.map(address_block);
        if let Some(address) = address
            && !self.per_address.try_acquire(&address, per_address)
        {
            return Err(CapReached::Address);
        }
        if !self.per_session.try_acquire(&token.to_owned(), per_session) {
            if let Some(address) = address {
                self.per_address.release(&address);
            }
            return Err(CapReached::Session);
        }
        Ok(())
    }

    /// Gives back a place taken by [`take_place`](Self::take_place).
    pub(crate) fn give_back(&self, token: &str, address: Option<IpAddr>) {
        self.per_session.release(&token.to_owned());
        if let Some(address) = address.map(address_block) {
            self.per_address.release(&address);
        }
    }

    /// The session's shared feed; when no stream of the session has one, a new feed seeded
    /// with `known`, and its sender for the caller to drive.
    pub(crate) fn feed(
        &self,
        token: &str,
        known: LiveState,
    ) -> (watch::Receiver<LiveState>, Option<watch::Sender<LiveState>>) {
        let mut feeds = lock(&self.feeds);
        if let Some(feed) = feeds.get(token) {
            return (feed.subscribe(), None);
        }
        let (feed, receiver) = watch::channel(known);
        feeds.insert(token.to_owned(), feed.clone());
        (receiver, Some(feed))
    }

    /// Drops the feed of `token` if nobody reads it any more (or `always`); `true` if gone.
    pub(crate) fn retire(
        &self,
        token: &str,
        feed: &watch::Sender<LiveState>,
        always: bool,
    ) -> bool {
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

    #[test]
    fn stream_caps_count_an_ipv6_client_by_its_64() {
        let hub = LiveHub::default();
        let a: IpAddr = "2001:db8:1:2::a".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2::b".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::a".parse().unwrap();
        assert_eq!(hub.take_place("t1", Some(a), (8, 1)), Ok(()));
        assert_eq!(
            hub.take_place("t2", Some(b), (8, 1)),
            Err(CapReached::Address),
            "the same /64 is one client"
        );
        assert_eq!(hub.take_place("t3", Some(other), (8, 1)), Ok(()));
        hub.give_back("t1", Some(a));
        assert_eq!(hub.take_place("t2", Some(b), (8, 1)), Ok(()));
    }
}

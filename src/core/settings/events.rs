//! The knobs of the event stream (`GET {prefix}/events`).

use std::time::Duration;

use super::builder::IampassBuilder;

impl IampassBuilder {
    /// How often `GET {prefix}/events` asks IAMPASS about a session that has streams open
    /// (default [`DEFAULT_EVENTS_INTERVAL`](crate::core::defaults::DEFAULT_EVENTS_INTERVAL), 2 s). All the
    /// streams of one session share one check per interval. Must not be zero.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").events_interval(std::time::Duration::from_secs(5));
    /// # let _ = b;
    /// ```
    pub fn events_interval(mut self, interval: Duration) -> Self {
        self.events.interval = interval;
        self
    }

    /// How often an event stream sends `event: heartbeat` (default
    /// [`DEFAULT_EVENTS_HEARTBEAT`](crate::core::defaults::DEFAULT_EVENTS_HEARTBEAT), 15 s), so proxies keep
    /// it open and a gone client is noticed. Must not be zero.
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").events_heartbeat(std::time::Duration::from_secs(30));
    /// # let _ = b;
    /// ```
    pub fn events_heartbeat(mut self, heartbeat: Duration) -> Self {
        self.events.heartbeat = heartbeat;
        self
    }

    /// Concurrent event streams allowed per session (default
    /// [`DEFAULT_EVENTS_PER_SESSION`](crate::core::defaults::DEFAULT_EVENTS_PER_SESSION), 8) and per client
    /// address, the TCP peer (default [`DEFAULT_EVENTS_PER_ADDRESS`](crate::core::defaults::DEFAULT_EVENTS_PER_ADDRESS),
    /// 64). One more is answered `429` with `Retry-After`. Zero is refused by
    /// [`build`](Self::build).
    ///
    /// ```
    /// let b = iampass::actix::Iampass::builder("app", "secret").events_caps(4, 32);
    /// # let _ = b;
    /// ```
    pub fn events_caps(mut self, per_session: usize, per_address: usize) -> Self {
        self.events.per_session = per_session;
        self.events.per_address = per_address;
        self
    }
}

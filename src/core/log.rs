//! What the core writes into logs: a session's short handle (never its secrets), text the
//! application does not control as a quoted value, and an outage summed up instead of one
//! line per refused request.
//!
//! Log injection: a user name, a path, a header or an answer of IAMPASS is never written with
//! `%` (`Display` writes it raw: `mallory address=6.6.6.6` would forge a field, a U+2028 or a
//! newline a line). Such values are logged as `&str`/`String` values or with `?` (`Debug`);
//! `tracing-subscriber`'s formatter writes both quoted, with quotes, control characters and
//! U+2028/U+202E escaped. Event messages are constant text: formatted numbers at most.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A short, non-secret name for a session in logs: the first 8 hex digits of the SHA-256 of
/// its token (the token itself is a credential).
pub(crate) fn short_handle(token: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// [`short_handle`] of a session's token (empty without one).
pub(crate) fn session_short_handle(session: &crate::Session) -> String {
    session
        .session_token()
        .map(short_handle)
        .unwrap_or_default()
}

/// Text that may carry what someone else wrote (an error quoting IAMPASS's answer or the
/// user resolver's words), as a log value: a `String`, which formatters quote and escape
/// (`error = text(&e)`, never `error = %e`).
pub(crate) fn text(value: &impl std::fmt::Display) -> String {
    value.to_string()
}

/// How often, at most, an outage of IAMPASS is summed up in the log.
pub(crate) const OUTAGE_SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// What a request did without IAMPASS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Without {
    /// Refused (`503`): fail closed, a login that cannot start, a poll, a logout not told.
    Refused,
    /// Accepted on the last good status (stale-if-error).
    Stale,
}

/// The log of an IAMPASS outage, one per deployment: the first request that went without
/// IAMPASS after a healthy period is a `WARN` with the error, then at most one `WARN` summary
/// per [`OUTAGE_SUMMARY_EVERY`] (how many requests went without), and the first answer again
/// an `INFO` with the outage's length and count. Each request's own line is a `DEBUG`.
///
/// Lock-free: a healthy request costs one relaxed load; a refusal a few atomic adds. Under
/// races the counts are approximate (never the number of lines).
#[derive(Debug)]
pub(crate) struct OutageLog {
    origin: Instant,
    every: Duration,
    /// When the outage began, in milliseconds since `origin` plus one; 0: IAMPASS answers.
    since: AtomicU64,
    /// When the current summary window began (milliseconds since `origin`).
    window_start: AtomicU64,
    refused_total: AtomicU64,
    stale_total: AtomicU64,
    refused_window: AtomicU64,
    stale_window: AtomicU64,
}

impl Default for OutageLog {
    fn default() -> Self {
        OutageLog::new(OUTAGE_SUMMARY_EVERY)
    }
}

impl OutageLog {
    pub(crate) fn new(every: Duration) -> Self {
        OutageLog {
            origin: Instant::now(),
            every,
            since: AtomicU64::new(0),
            window_start: AtomicU64::new(0),
            refused_total: AtomicU64::new(0),
            stale_total: AtomicU64::new(0),
            refused_window: AtomicU64::new(0),
            stale_window: AtomicU64::new(0),
        }
    }

    fn ms(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.origin).as_millis() as u64
    }

    /// A request went without IAMPASS because of `error` (see [`Self::went_without_at`]).
    pub(crate) fn went_without(&self, what: Without, error: &str) {
        self.went_without_at(Instant::now(), what, error);
    }

    /// A request went without IAMPASS at `now`: the outage's first is logged, the others
    /// counted for the next summary.
    pub(crate) fn went_without_at(&self, now: Instant, what: Without, error: &str) {
        let now_ms = self.ms(now);
        if self.since.load(Ordering::Relaxed) == 0
            && self
                .since
                .compare_exchange(0, now_ms + 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            for counter in [
                &self.refused_total,
                &self.stale_total,
                &self.refused_window,
                &self.stale_window,
            ] {
                counter.store(0, Ordering::Relaxed);
            }
            self.window_start.store(now_ms, Ordering::Relaxed);
            self.count(what);
            match what {
                Without::Refused => tracing::warn!(
                    error,
                    "IAMPASS unavailable: refusing the requests that need it until it answers \
                     again (summed up every {} s)",
                    self.every.as_secs()
                ),
                Without::Stale => tracing::warn!(
                    error,
                    "IAMPASS unavailable: accepting the last good status (stale-if-error) \
                     until it answers again (summed up every {} s)",
                    self.every.as_secs()
                ),
            }
            return;
        }
        self.count(what);
        let start = self.window_start.load(Ordering::Relaxed);
        let every_ms = self.every.as_millis() as u64;
        if now_ms >= start.saturating_add(every_ms)
            && self
                .window_start
                .compare_exchange(start, now_ms, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            let refused = self.refused_window.swap(0, Ordering::Relaxed);
            let stale = self.stale_window.swap(0, Ordering::Relaxed);
            let secs = (now_ms - start).div_ceil(1000);
            if stale == 0 {
                tracing::warn!(
                    refused,
                    error,
                    "IAMPASS unavailable: {refused} requests refused in the last {secs} s"
                );
            } else {
                tracing::warn!(
                    refused,
                    stale,
                    error,
                    "IAMPASS unavailable: {refused} requests refused, {stale} accepted on the \
                     last good status in the last {secs} s"
                );
            }
        }
    }

    fn count(&self, what: Without) {
        let (total, window) = match what {
            Without::Refused => (&self.refused_total, &self.refused_window),
            Without::Stale => (&self.stale_total, &self.stale_window),
        };
        total.fetch_add(1, Ordering::Relaxed);
        window.fetch_add(1, Ordering::Relaxed);
    }

    /// IAMPASS answered (the answer given at `at`): ends an outage that began before.
    pub(crate) fn answered(&self, at: Instant) {
        self.answered_at(at, Instant::now());
    }

    /// [`Self::answered`], `now` being the time.
    pub(crate) fn answered_at(&self, at: Instant, now: Instant) {
        let since = self.since.load(Ordering::Relaxed);
        // An answer given before the outage began (a cached one) proves nothing.
        if since == 0 || self.ms(at) + 1 < since {
            return;
        }
        if self
            .since
            .compare_exchange(since, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let secs = self.ms(now).saturating_sub(since - 1).div_ceil(1000);
        let refused = self.refused_total.swap(0, Ordering::Relaxed);
        let stale = self.stale_total.swap(0, Ordering::Relaxed);
        tracing::info!(
            refused,
            stale,
            "IAMPASS answers again after {secs} s; {refused} requests refused, {stale} accepted \
             on the last good status"
        );
    }

    /// Whether IAMPASS is in an outage (as far as the requests saw).
    #[cfg(test)]
    pub(crate) fn in_outage(&self) -> bool {
        self.since.load(Ordering::Relaxed) != 0
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What a `tracing_subscriber::fmt` subscriber (the default format, no colours) writes
    /// while `f` runs on this thread.
    fn captured(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    fn lines_at<'a>(log: &'a str, level: &str) -> Vec<&'a str> {
        let level = format!(" {level} ");
        log.lines().filter(|l| l.contains(&level)).collect()
    }

    #[test]
    fn ten_thousand_refusals_over_25_s_are_at_most_four_warnings() {
        let outage = OutageLog::default();
        // The outage begins a second after the deployment started.
        let t0 = Instant::now() + Duration::from_secs(1);
        let log = captured(|| {
            for i in 0..10_000u64 {
                let now = t0 + Duration::from_micros(i * 2_500); // 25 s in all
                outage.went_without_at(now, Without::Refused, "IAMPASS answered HTTP 503");
            }
            assert!(outage.in_outage());
            // A cached answer from before the outage ends nothing.
            outage.answered_at(
                t0 - Duration::from_millis(500),
                t0 + Duration::from_secs(25),
            );
            assert!(outage.in_outage());
            outage.answered_at(t0 + Duration::from_secs(26), t0 + Duration::from_secs(26));
            assert!(!outage.in_outage());
        });
        let warnings = lines_at(&log, "WARN");
        assert!(warnings.len() <= 4, "{log}");
        assert_eq!(warnings.len(), 3, "the first, then every 10 s: {log}");
        assert!(
            warnings[0].contains("error=\"IAMPASS answered HTTP 503\""),
            "{log}"
        );
        assert!(warnings[2].contains("refused=4000"), "{log}");
        assert!(
            warnings[1].contains("4001 requests refused in the last 10 s"),
            "{log}"
        );
        let recovered = lines_at(&log, "INFO");
        assert_eq!(recovered.len(), 1, "{log}");
        assert!(
            recovered[0].contains("IAMPASS answers again after 26 s; 10000 requests refused"),
            "{log}"
        );
        // The next outage is announced again.
        let log = captured(|| {
            let later = t0 + Duration::from_secs(30);
            outage.went_without_at(later, Without::Stale, "circuit open");
            outage.went_without_at(later, Without::Refused, "circuit open");
        });
        let warnings = lines_at(&log, "WARN");
        assert_eq!(warnings.len(), 1, "{log}");
        assert!(warnings[0].contains("stale-if-error"), "{log}");
    }

    #[test]
    fn a_healthy_answer_logs_nothing() {
        let outage = OutageLog::default();
        let log = captured(|| outage.answered(Instant::now()));
        assert_eq!(log, "");
    }
}

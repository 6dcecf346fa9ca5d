//! The per-request state: the one place the session cookie is read and opened. An adapter's
//! middleware makes it for every request and keeps it in the request's extensions; the
//! extractors, the scope guard and the login handlers read it from there. It asks IAMPASS
//! about the session the first time the identity is needed, and remembers what the response
//! must do to the cookie.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cookie::Cookie;
use tokio::sync::OnceCell;
use tracing::Instrument as _;

use crate::Status;
use crate::core::Iampass;
use crate::core::cookie::{CookieState, Rejected, SessionCookie};
use crate::core::identity::IampassIdentity;
use crate::core::log::{Without, short_handle, text};
use crate::core::request::RequestHead;
use crate::core::validate::{Judged, Verdict};
use crate::metrics::{self, CacheResult, RequestVerdict};

/// The request's cookie, as opened.
#[derive(Debug)]
enum CookieRead {
    Absent,
    /// Refused; `expired`: only because it is past its lifetime.
    Rejected {
        expired: bool,
    },
    Pending(Arc<SessionCookie>),
    Authenticated(Arc<SessionCookie>),
}

/// What the request turned out to be, once validated.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub enum Outcome {
    Identity(IampassIdentity),
    /// No identity; the last status IAMPASS reported, when there was one.
    Anonymous(Option<Status>),
    /// IAMPASS could not be asked and the fail mode refuses.
    Unavailable(String),
}

/// Per-request state shared by the middleware, the extractors and the handlers.
///
/// Making one costs no decryption: the cookie is opened the first time something asks for
/// it (an extractor, the scope guard, a login handler), so routes that never ask pay for
/// nothing but finding the cookie's value.
///
/// Adapters keep it in the request (`Arc`), so it is `Send` and `Sync`.
#[derive(Debug)]
#[doc(hidden)]
pub struct RequestContext {
    iampass: Iampass,
    /// The cookie's value as sent, if there is one.
    raw: Option<Box<str>>,
    /// The cookie, opened on first use, and which key of the ring opened it (0: current).
    opened: OnceLock<(CookieRead, usize)>,
    outcome: OnceCell<Outcome>,
    remove_cookie: AtomicBool,
    /// The cookie re-sealed with the current key, when an old key opened it.
    reissue: Mutex<Option<Cookie<'static>>>,
}

/// The value of the cookie `name` in the request's `Cookie` headers (the first one), without
/// parsing the others.
pub(crate) fn cookie_value<'r>(req: &'r impl RequestHead, name: &'r str) -> Option<&'r str> {
    req.headers("cookie")
        .flat_map(|h| h.split(';'))
        .find_map(|pair| {
            pair.trim_start_matches(' ')
                .strip_prefix(name)?
                .strip_prefix('=')
                .map(|v| v.trim_end_matches(' '))
        })
}

impl RequestContext {
    /// The request's context: finds the cookie's value; opening it waits until it is needed.
    pub(crate) fn read(iampass: &Iampass, req: &impl RequestHead) -> Self {
        RequestContext {
            iampass: iampass.clone(),
            raw: cookie_value(req, iampass.cookie_name()).map(Box::from),
            opened: OnceLock::new(),
            outcome: OnceCell::new(),
            remove_cookie: AtomicBool::new(false),
            reissue: Mutex::new(None),
        }
    }

    /// The cookie, opened (once): a bad one is anonymous and marked for removal.
    fn cookie(&self) -> &CookieRead {
        &self.opened.get_or_init(|| self.open()).0
    }

    /// Which key of the ring opened the cookie (0: the current key).
    fn key_index(&self) -> usize {
        self.cookie();
        self.opened.get().map_or(0, |(_, index)| *index)
    }

    fn open(&self) -> (CookieRead, usize) {
        let Some(raw) = self.raw.as_deref() else {
            return (CookieRead::Absent, 0);
        };
        match self.iampass.settings().codec.open_shared(raw) {
            Ok((payload, index)) => match payload.state() {
                CookieState::Pending => (CookieRead::Pending(payload), index),
                CookieState::Authenticated => (CookieRead::Authenticated(payload), index),
            },
            Err(why) => {
                if why == Rejected::Expired {
                    tracing::debug!("IAMPASS session cookie expired");
                } else if why == Rejected::ForeignServer {
                    // Sealed by this deployment, yet naming another server: never called.
                    tracing::warn!(
                        "IAMPASS session cookie refused: its status or logout URL is not on the \
                         configured IAMPASS server"
                    );
                } else {
                    tracing::debug!(reason = ?why, len = raw.len(), "IAMPASS session cookie refused");
                }
                self.remove_cookie.store(true, Ordering::Relaxed);
                let expired = why == Rejected::Expired;
                (CookieRead::Rejected { expired }, 0)
            }
        }
    }

    /// The context for a login handler: the middleware's (`made`), else (handlers mounted
    /// without it, or called by the application) one read now.
    pub(crate) fn for_handler(
        iampass: &Iampass,
        made: Option<Arc<RequestContext>>,
        req: &impl RequestHead,
    ) -> Arc<RequestContext> {
        made.unwrap_or_else(|| Arc::new(RequestContext::read(iampass, req)))
    }

    /// The configuration the request is judged by.
    pub(crate) fn iampass(&self) -> &Iampass {
        &self.iampass
    }

    /// The login in progress, if the cookie carries one.
    pub(crate) fn pending(&self) -> Option<&SessionCookie> {
        match self.cookie() {
            CookieRead::Pending(payload) => Some(payload),
            _ => None,
        }
    }

    /// The cookie's payload, pending or authenticated (not yet validated).
    pub(crate) fn payload(&self) -> Option<&SessionCookie> {
        match self.cookie() {
            CookieRead::Pending(payload) | CookieRead::Authenticated(payload) => Some(payload),
            CookieRead::Absent | CookieRead::Rejected { .. } => None,
        }
    }

    /// What the response must do to our cookie: remove it, re-seal it, or nothing.
    pub(crate) fn cookie_update(&self) -> Option<Cookie<'static>> {
        if self.remove_cookie.load(Ordering::Relaxed) {
            Some(self.iampass.settings().codec.removal())
        } else {
            self.reissue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
        }
    }

    /// The request's identity, validating against IAMPASS the first time it is asked.
    pub(crate) async fn outcome(&self, req: &impl RequestHead) -> Outcome {
        if let Some(outcome) = self.outcome_now(req) {
            return outcome;
        }
        self.outcome
            .get_or_init(|| async {
                let outcome = self.validate(req).await;
                metrics::request(self.verdict(&outcome));
                outcome
            })
            .await
            .clone()
    }

    /// How `iampass_requests_total` counts an outcome (see [`metrics`](crate::metrics)).
    fn verdict(&self, outcome: &Outcome) -> RequestVerdict {
        match outcome {
            Outcome::Identity(_) => RequestVerdict::Active,
            Outcome::Unavailable(_) => RequestVerdict::Unavailable,
            Outcome::Anonymous(Some(Status::Walkaway)) => RequestVerdict::Walkaway,
            Outcome::Anonymous(Some(Status::Timeout)) => RequestVerdict::Expired,
            Outcome::Anonymous(Some(Status::Pending | Status::Identifying)) => {
                RequestVerdict::Anonymous
            }
            Outcome::Anonymous(Some(_)) => RequestVerdict::Closed,
            // A signed-in cookie without a status: IAMPASS no longer knows the session.
            Outcome::Anonymous(None) => match self.cookie() {
                CookieRead::Authenticated(_) => RequestVerdict::Closed,
                CookieRead::Rejected { expired: true } => RequestVerdict::Expired,
                _ => RequestVerdict::Anonymous,
            },
        }
    }

    /// The outcome when it is known without waiting: already decided, no signed-in cookie,
    /// or a status answer still fresh in this process's cache (`revalidate_after`). The
    /// extractors take this path first, so a cached request never allocates a future.
    pub(crate) fn outcome_now(&self, req: &impl RequestHead) -> Option<Outcome> {
        if let Some(outcome) = self.outcome.get() {
            return Some(outcome.clone());
        }
        if let Some(outcome) = self.recall(req) {
            return Some(outcome);
        }
        let outcome = match self.cookie() {
            CookieRead::Authenticated(payload) => {
                let token = payload.session().session_token()?;
                let (_, generation) = self.iampass.state().validator.generation();
                let (status, at) = self.iampass.state().validator.cached(token)?;
                let span = self.span(req, payload, token);
                let _entered = span.enter();
                let judged =
                    Judged::cached(status, at, generation, self.iampass.settings().policy());
                self.judge(payload, token, judged)
            }
            // A login in progress is not an identity (only the poll handler uses it).
            CookieRead::Pending(_) => Outcome::Anonymous(Some(Status::Pending)),
            CookieRead::Absent | CookieRead::Rejected { .. } => Outcome::Anonymous(None),
        };
        // Only fails when a validation is under way in this request: ours is as good (and
        // that one is counted).
        if self.outcome.set(outcome.clone()).is_ok() {
            metrics::request(self.verdict(&outcome));
        }
        Some(outcome)
    }

    /// The hottest path: this worker thread saw this very cookie value validated `active`
    /// and the answer is still fresh (see [`fast_path`](super::fast_path)).
    fn recall(&self, req: &impl RequestHead) -> Option<Outcome> {
        let raw = self.raw.as_deref()?;
        let (owner, generation) = self.iampass.state().validator.generation();
        let payload = crate::core::validate::fast_path::recall(owner, generation, raw)?;
        if payload.is_expired() {
            return None;
        }
        let token = payload.session().session_token().unwrap_or_default();
        let span = self.span(req, &payload, token);
        let _entered = span.enter();
        let outcome = Outcome::Identity(IampassIdentity::from_cookie(&payload));
        // The cookie counts as opened (by the current key: only such values are remembered).
        let _ = self.opened.set((CookieRead::Authenticated(payload), 0));
        if self.outcome.set(outcome.clone()).is_ok() {
            metrics::status_cache(CacheResult::Hit);
            metrics::request(RequestVerdict::Active);
        }
        Some(outcome)
    }

    /// The span of one validated request: the user, the session's short handle, the client
    /// address and the path (fields computed only when the span is enabled).
    fn span(&self, req: &impl RequestHead, payload: &SessionCookie, token: &str) -> tracing::Span {
        let span = tracing::debug_span!(
            "iampass_validate",
            user = payload.user(),
            handle = tracing::field::Empty,
            client = tracing::field::Empty,
            path = req.path(),
        );
        if !span.is_disabled() {
            span.record("handle", short_handle(token));
            if let Some(ip) = self.iampass.settings().login.trusted_proxies.client_ip(req) {
                span.record("client", tracing::field::display(ip));
            }
        }
        span
    }

    async fn validate(&self, req: &impl RequestHead) -> Outcome {
        let payload = match self.cookie() {
            CookieRead::Authenticated(payload) => payload,
            CookieRead::Pending(_) => return Outcome::Anonymous(Some(Status::Pending)),
            CookieRead::Absent | CookieRead::Rejected { .. } => return Outcome::Anonymous(None),
        };
        let iampass = &self.iampass;
        let Some(token) = payload.session().session_token() else {
            self.remove_cookie.store(true, Ordering::Relaxed);
            return Outcome::Anonymous(None);
        };
        let span = self.span(req, payload, token);
        async {
            // Two reference counts, not a copy of the session, for the call.
            let (asking, cookie) = (iampass.clone(), payload.clone());
            let fetch = move || async move {
                asking
                    .authentication_api()
                    .session_status(cookie.session())
                    .await
            };
            let judged = iampass
                .state()
                .validator
                .judge(
                    token,
                    Some(payload.user()),
                    iampass.settings().policy(),
                    fetch,
                )
                .await;
            self.judge(payload, token, judged)
        }
        .instrument(span)
        .await
    }

    /// What IAMPASS's answer means for this request, and for its cookie. `at`: when IAMPASS
    /// gave the answer to this process, and the validator's generation before it was read
    /// (for the fast path).
    fn judge(&self, payload: &Arc<SessionCookie>, token: &str, judged: Judged) -> Outcome {
        let iampass = &self.iampass;
        let Judged {
            verdict,
            answer,
            last_good,
            at,
        } = judged;
        match verdict {
            Verdict::Allow { stale } => {
                if stale {
                    let error = answer.as_ref().err().map(text).unwrap_or_default();
                    iampass.state().outage.went_without(Without::Stale, &error);
                    tracing::debug!(
                        user = payload.user(),
                        age_ms = last_good.map(|d| d.as_millis() as u64),
                        error,
                        "IAMPASS unavailable: accepting the last good status (stale-if-error)"
                    );
                } else if answer.is_ok()
                    && let Some((at, _)) = at
                {
                    iampass.state().outage.answered(at);
                }
                if self.key_index() > 0 {
                    // Opened by an old key: move the user to the current key.
                    match iampass.settings().codec.seal(payload) {
                        Ok(cookie) => {
                            *self.reissue.lock().unwrap_or_else(|e| e.into_inner()) = Some(cookie);
                        }
                        Err(e) => tracing::debug!(error = text(&e), "cannot re-seal the cookie"),
                    }
                } else if !stale
                    && let (Some(raw), Some((at, generation))) = (self.raw.as_deref(), at)
                    && let Some(until) = iampass.state().validator.fresh_until(at)
                {
                    // Never past the cookie's own expiry.
                    let left = payload
                        .expires_at()
                        .duration_since(std::time::SystemTime::now())
                        .unwrap_or_default();
                    let until = until.min(std::time::Instant::now() + left);
                    let (owner, _) = iampass.state().validator.generation();
                    crate::core::validate::fast_path::remember(
                        owner, generation, raw, until, payload,
                    );
                }
                Outcome::Identity(IampassIdentity::from_cookie(payload))
            }
            Verdict::Deny { status, remove } => {
                if answer.is_ok()
                    && let Some((at, _)) = at
                {
                    iampass.state().outage.answered(at);
                }
                tracing::debug!(
                    user = payload.user(),
                    ?status,
                    remove,
                    "IAMPASS session not active"
                );
                if remove {
                    self.remove_cookie.store(true, Ordering::Relaxed);
                    if status == Some(Status::Walkaway) {
                        self.end_remotely(payload, token);
                    }
                }
                Outcome::Anonymous(status)
            }
            Verdict::Unavailable(reason) => {
                iampass
                    .state()
                    .outage
                    .went_without(Without::Refused, &reason);
                tracing::debug!(
                    user = payload.user(),
                    error = reason,
                    "IAMPASS unavailable: refusing (fail mode closed)"
                );
                Outcome::Unavailable(reason)
            }
        }
    }

    /// Walkaway with [`WalkawayPolicy::EndSession`]: ends the session at IAMPASS too, in the
    /// background (best effort).
    fn end_remotely(&self, payload: &SessionCookie, token: &str) {
        let iampass = self.iampass.clone();
        let session = payload.session().clone();
        let token = token.to_owned();
        let ttl = payload.remaining_life();
        tokio::spawn(async move {
            // Every instance sharing the store refuses the cookie from now on.
            iampass.state().validator.revoke(&token, ttl).await;
            let ended = tokio::time::timeout(
                Duration::from_secs(30),
                iampass.authentication_api().end_session(&session),
            )
            .await;
            if !matches!(ended, Ok(Ok(()))) {
                tracing::debug!("could not end a walked-away IAMPASS session");
            }
        });
    }
}

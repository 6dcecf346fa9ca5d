//! The per-request state: the one place the session cookie is read and opened. The
//! middleware makes it for every request; the extractors, the scope guard and the login
//! handlers read it from the request's extensions. It asks IAMPASS about the session the
//! first time the identity is needed, and remembers what the response must do to the
//! cookie.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::Cookie;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest};
use tokio::sync::OnceCell;
use tracing::Instrument as _;

use super::config::{Iampass, WalkawayPolicy};
use super::cookie::{CookieState, Rejected, SessionCookie};
use super::handlers::short_handle;
use super::identity::IampassIdentity;
use super::validate::{Verdict, verdict};
use crate::Status;

/// The request's cookie, as opened.
#[derive(Debug)]
enum CookieRead {
    Absent,
    Rejected,
    Pending(Arc<SessionCookie>),
    Authenticated(Arc<SessionCookie>),
}

/// What the request turned out to be, once validated.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
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
#[derive(Debug)]
pub(crate) struct RequestContext {
    iampass: Iampass,
    /// The cookie's value as sent, if there is one.
    raw: Option<Box<str>>,
    /// The cookie, opened on first use, and which key of the ring opened it (0: current).
    opened: std::cell::OnceCell<(CookieRead, usize)>,
    outcome: OnceCell<Outcome>,
    remove_cookie: Cell<bool>,
    /// The cookie re-sealed with the current key, when an old key opened it.
    reissue: RefCell<Option<Cookie<'static>>>,
}

/// The value of the cookie `name` in the request's `Cookie` headers (the first one), without
/// parsing the others.
fn cookie_value<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|h| h.to_str().ok())
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
    pub(crate) fn read(iampass: &Iampass, req: &HttpRequest) -> Self {
        RequestContext {
            iampass: iampass.clone(),
            raw: cookie_value(req, iampass.cookie_name()).map(Box::from),
            opened: std::cell::OnceCell::new(),
            outcome: OnceCell::new(),
            remove_cookie: Cell::new(false),
            reissue: RefCell::new(None),
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
        match self.iampass.codec().open_shared(raw) {
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
                self.remove_cookie.set(true);
                (CookieRead::Rejected, 0)
            }
        }
    }

    /// The context the middleware stored in the request, if the route is wrapped by it.
    pub(crate) fn of(req: &HttpRequest) -> Option<Rc<RequestContext>> {
        req.extensions().get::<Rc<RequestContext>>().cloned()
    }

    /// Stores the context in the request for everything downstream.
    pub(crate) fn attach(self: &Rc<Self>, req: &impl HttpMessage) {
        req.extensions_mut().insert(self.clone());
    }

    /// The context for a login handler: the middleware's, else (handlers mounted without it)
    /// one read now.
    pub(crate) fn for_handler(iampass: &Iampass, req: &HttpRequest) -> Rc<RequestContext> {
        RequestContext::of(req).unwrap_or_else(|| Rc::new(RequestContext::read(iampass, req)))
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
            CookieRead::Absent | CookieRead::Rejected => None,
        }
    }

    /// What the response must do to our cookie: remove it, re-seal it, or nothing.
    pub(crate) fn cookie_update(&self) -> Option<Cookie<'static>> {
        if self.remove_cookie.get() {
            Some(self.iampass.codec().removal())
        } else {
            self.reissue.take()
        }
    }

    /// The request's identity, validating against IAMPASS the first time it is asked.
    pub(crate) async fn outcome(&self, req: &HttpRequest) -> Outcome {
        if let Some(outcome) = self.outcome_now(req) {
            return outcome;
        }
        self.outcome
            .get_or_init(|| self.validate(req))
            .await
            .clone()
    }

    /// The outcome when it is known without waiting: already decided, no signed-in cookie,
    /// or a status answer still fresh in this process's cache (`revalidate_after`). The
    /// extractors take this path first, so a cached request never allocates a future.
    pub(crate) fn outcome_now(&self, req: &HttpRequest) -> Option<Outcome> {
        if let Some(outcome) = self.outcome.get() {
            return Some(outcome.clone());
        }
        if let Some(outcome) = self.recall(req) {
            return Some(outcome);
        }
        let outcome = match self.cookie() {
            CookieRead::Authenticated(payload) => {
                let token = payload.session().session_token()?;
                let (_, generation) = self.iampass.validator().generation();
                let (status, at) = self.iampass.validator().cached(token)?;
                let span = self.span(req, payload, token);
                let _entered = span.enter();
                self.judge(payload, token, &Ok(status), None, Some((at, generation)))
            }
            // A login in progress is not an identity (only the poll handler uses it).
            CookieRead::Pending(_) => Outcome::Anonymous(Some(Status::Pending)),
            CookieRead::Absent | CookieRead::Rejected => Outcome::Anonymous(None),
        };
        // Only fails when a validation is under way in this request: ours is as good.
        let _ = self.outcome.set(outcome.clone());
        Some(outcome)
    }

    /// The hottest path: this worker thread saw this very cookie value validated `active`
    /// and the answer is still fresh (see [`fast_path`](super::fast_path)).
    fn recall(&self, req: &HttpRequest) -> Option<Outcome> {
        let raw = self.raw.as_deref()?;
        let (owner, generation) = self.iampass.validator().generation();
        let payload = super::fast_path::recall(owner, generation, raw)?;
        if payload.is_expired() {
            return None;
        }
        let token = payload.session().session_token().unwrap_or_default();
        let span = self.span(req, &payload, token);
        let _entered = span.enter();
        let outcome = Outcome::Identity(IampassIdentity::from_cookie(&payload));
        // The cookie counts as opened (by the current key: only such values are remembered).
        let _ = self.opened.set((CookieRead::Authenticated(payload), 0));
        let _ = self.outcome.set(outcome.clone());
        Some(outcome)
    }

    /// The span of one validated request: the user, the session's short handle, the client
    /// address and the path (fields computed only when the span is enabled).
    fn span(&self, req: &HttpRequest, payload: &SessionCookie, token: &str) -> tracing::Span {
        let span = tracing::debug_span!(
            "iampass_validate",
            user = payload.user(),
            handle = tracing::field::Empty,
            client = tracing::field::Empty,
            path = req.path(),
        );
        if !span.is_disabled() {
            span.record("handle", short_handle(token));
            if let Some(ip) = self
                .iampass
                .login_settings()
                .trusted_proxies
                .client_ip(req.peer_addr(), req.headers())
            {
                span.record("client", tracing::field::display(ip));
            }
        }
        span
    }

    async fn validate(&self, req: &HttpRequest) -> Outcome {
        let payload = match self.cookie() {
            CookieRead::Authenticated(payload) => payload,
            CookieRead::Pending(_) => return Outcome::Anonymous(Some(Status::Pending)),
            CookieRead::Absent | CookieRead::Rejected => return Outcome::Anonymous(None),
        };
        let iampass = &self.iampass;
        let Some(token) = payload.session().session_token() else {
            self.remove_cookie.set(true);
            return Outcome::Anonymous(None);
        };
        let span = self.span(req, payload, token);
        async {
            let session = iampass
                .authentication_api()
                .attach(payload.session().clone());
            let checked = iampass
                .validator()
                .status(token, async move { session.fetch_status().await })
                .await;
            if let Some(transition) = checked.transition {
                transition.log(Some(payload.user()), &short_handle(token));
            }
            let last_good = match &checked.answer {
                Err(_) => iampass.validator().last_good_age(token).await,
                Ok(_) => None,
            };
            self.judge(payload, token, &checked.answer, last_good, checked.at)
        }
        .instrument(span)
        .await
    }

    /// What IAMPASS's answer means for this request, and for its cookie. `at`: when IAMPASS
    /// gave the answer to this process, and the validator's generation before it was read
    /// (for the fast path).
    fn judge(
        &self,
        payload: &Arc<SessionCookie>,
        token: &str,
        answer: &Result<Status, Arc<crate::Error>>,
        last_good: Option<Duration>,
        at: Option<(std::time::Instant, u64)>,
    ) -> Outcome {
        let iampass = &self.iampass;
        let end_on_walkaway = iampass.walkaway() == WalkawayPolicy::EndSession;
        let stale_grace = iampass.fail_mode().stale_grace();
        match verdict(answer, end_on_walkaway, stale_grace, last_good) {
            Verdict::Allow { stale } => {
                if stale {
                    tracing::warn!(
                        user = payload.user(),
                        age_ms = last_good.map(|d| d.as_millis() as u64),
                        error = %answer.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
                        "IAMPASS unavailable: accepting the last good status (stale-if-error)"
                    );
                }
                if self.key_index() > 0 {
                    // Opened by an old key: move the user to the current key.
                    match iampass.codec().seal(payload) {
                        Ok(cookie) => *self.reissue.borrow_mut() = Some(cookie),
                        Err(e) => tracing::debug!(error = %e, "cannot re-seal the cookie"),
                    }
                } else if !stale
                    && let (Some(raw), Some((at, generation))) = (self.raw.as_deref(), at)
                    && let Some(until) = iampass.validator().fresh_until(at)
                {
                    // Never past the cookie's own expiry.
                    let left = payload
                        .expires_at()
                        .duration_since(std::time::SystemTime::now())
                        .unwrap_or_default();
                    let until = until.min(std::time::Instant::now() + left);
                    let (owner, _) = iampass.validator().generation();
                    super::fast_path::remember(owner, generation, raw, until, payload);
                }
                Outcome::Identity(IampassIdentity::from_cookie(payload))
            }
            Verdict::Deny { status, remove } => {
                tracing::debug!(
                    user = payload.user(),
                    ?status,
                    remove,
                    "IAMPASS session not active"
                );
                if remove {
                    self.remove_cookie.set(true);
                    if status == Some(Status::Walkaway) {
                        self.end_remotely(payload, token);
                    }
                }
                Outcome::Anonymous(status)
            }
            Verdict::Unavailable(reason) => {
                tracing::warn!(
                    user = payload.user(),
                    error = %reason,
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
        let mut session = iampass
            .authentication_api()
            .attach(payload.session().clone());
        let token = token.to_owned();
        let ttl = payload.remaining_life();
        actix_web::rt::spawn(async move {
            // Every instance sharing the store refuses the cookie from now on.
            iampass.validator().revoke(&token, ttl).await;
            let ended = tokio::time::timeout(Duration::from_secs(30), session.destroy()).await;
            if !matches!(ended, Ok(Ok(()))) {
                tracing::debug!("could not end a walked-away IAMPASS session");
            }
        });
    }
}

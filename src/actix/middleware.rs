//! [`IampassMiddleware`] (the `Transform`) and [`IampassMiddlewareService`] (the inner
//! `Service`): open the session cookie once per request, validate it lazily (when an
//! extractor or the scope guard first asks), and remove the cookie on the way out when the
//! session turned out to be over.

use std::cell::{Cell, RefCell};
use std::future::{Ready, ready};
use std::rc::Rc;
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::LocalBoxFuture;
use tokio::sync::OnceCell;

use super::config::Iampass;
use super::cookie::{CookieState, Rejected, SessionCookie};
use super::identity::IampassIdentity;
use super::validator::{Verdict, verdict};
use crate::Status;

impl Iampass {
    /// The middleware to [`wrap`](actix_web::App::wrap) the app (or a scope) with. It must
    /// wrap every route that uses [`IampassIdentity`], [`RequireIampass`](super::RequireIampass)
    /// or [`Iampass::require`].
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
    /// let app = actix_web::App::new().wrap(iampass.middleware());
    /// # let _ = app;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn middleware(&self) -> IampassMiddleware {
        IampassMiddleware {
            iampass: self.clone(),
        }
    }
}

/// The session middleware (an actix-web `Transform`), made by [`Iampass::middleware`].
///
/// Per request it opens the cookie (a bad one makes the request anonymous and is removed);
/// the IAMPASS status check happens the first time the request's identity is asked for, at
/// most once per request, shared with concurrent requests of the same session.
///
/// ```
/// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
/// let middleware: iampass::actix::IampassMiddleware = iampass.middleware();
/// let app = actix_web::App::new().wrap(middleware);
/// # let _ = app;
/// # Ok::<(), iampass::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct IampassMiddleware {
    iampass: Iampass,
}

impl<S, B> Transform<S, ServiceRequest> for IampassMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = IampassMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(IampassMiddlewareService {
            service,
            iampass: self.iampass.clone(),
        }))
    }
}

/// The service [`IampassMiddleware`] wraps around the app's services.
///
/// Not used directly; it is public because it appears in the `Transform` implementation.
///
/// ```
/// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
/// // Made for you by `App::wrap(iampass.middleware())`.
/// # let _ = iampass;
/// # Ok::<(), iampass::Error>(())
/// ```
#[derive(Debug)]
pub struct IampassMiddlewareService<S> {
    service: S,
    iampass: Iampass,
}

impl<S, B> Service<ServiceRequest> for IampassMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let context = Rc::new(RequestContext::read(&self.iampass, &req));
        req.extensions_mut().insert(context.clone());
        let response = self.service.call(req);
        Box::pin(async move {
            let mut response = response.await?;
            let update = if context.remove_cookie.get() {
                Some(context.iampass.inner.codec.removal())
            } else {
                context.reissue.take()
            };
            if let Some(cookie) = update {
                let name = context.iampass.cookie_name();
                // A handler that set a cookie of ours (a fresh login, a logout) wins.
                let replaced = response.response().cookies().any(|c| c.name() == name);
                let added = if replaced {
                    Ok(())
                } else {
                    response.response_mut().add_cookie(&cookie)
                };
                if let Err(e) = added {
                    tracing::warn!(error = %e, "cannot update the IAMPASS session cookie");
                }
            }
            Ok(response)
        })
    }
}

/// The request's cookie, as opened by the middleware.
#[derive(Debug)]
pub(crate) enum CookieRead {
    Absent,
    Rejected,
    Pending,
    Authenticated(Box<SessionCookie>),
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
#[derive(Debug)]
pub(crate) struct RequestContext {
    pub(crate) iampass: Iampass,
    pub(crate) cookie: CookieRead,
    /// Which key of the ring opened the cookie (0: the current key).
    key_index: usize,
    outcome: OnceCell<Outcome>,
    remove_cookie: Cell<bool>,
    /// The cookie re-sealed with the current key, when an old key opened it.
    reissue: RefCell<Option<Cookie<'static>>>,
}

impl RequestContext {
    fn read(iampass: &Iampass, req: &ServiceRequest) -> Self {
        let context = |cookie, remove, key_index| RequestContext {
            iampass: iampass.clone(),
            cookie,
            key_index,
            outcome: OnceCell::new(),
            remove_cookie: Cell::new(remove),
            reissue: RefCell::new(None),
        };
        let Some(raw) = req.cookie(iampass.cookie_name()) else {
            return context(CookieRead::Absent, false, 0);
        };
        match iampass.inner.codec.open(raw.value()) {
            Ok((payload, index)) => match payload.state() {
                CookieState::Pending => context(CookieRead::Pending, false, index),
                CookieState::Authenticated => {
                    context(CookieRead::Authenticated(Box::new(payload)), false, index)
                }
            },
            Err(why) => {
                if why == Rejected::Expired {
                    tracing::debug!("IAMPASS session cookie expired");
                } else {
                    tracing::debug!(reason = ?why, len = raw.value().len(), "IAMPASS session cookie refused");
                }
                context(CookieRead::Rejected, true, 0)
            }
        }
    }

    /// Asks for the cookie to be removed from the response.
    pub(crate) fn remove_cookie(&self) {
        self.remove_cookie.set(true);
    }

    /// The request's identity, validating against IAMPASS the first time it is asked.
    pub(crate) async fn outcome(&self) -> Outcome {
        self.outcome.get_or_init(|| self.validate()).await.clone()
    }

    async fn validate(&self) -> Outcome {
        let payload = match &self.cookie {
            CookieRead::Authenticated(payload) => payload,
            // A login in progress is not an identity (only the poll handler uses it).
            CookieRead::Pending => return Outcome::Anonymous(Some(Status::Pending)),
            CookieRead::Absent | CookieRead::Rejected => return Outcome::Anonymous(None),
        };
        let inner = &self.iampass.inner;
        let Some(token) = payload.session().session_token() else {
            self.remove_cookie();
            return Outcome::Anonymous(None);
        };
        let session = inner.api.attach(payload.session().clone());
        let answer = inner
            .validator
            .status(token, async move { session.fetch_status().await })
            .await;
        let last_good = match &answer {
            Err(_) => inner.validator.last_good_age(token).await,
            Ok(_) => None,
        };
        match verdict(&answer, inner.walkaway, inner.fail_mode, last_good) {
            Verdict::Allow { stale } => {
                if stale {
                    tracing::warn!(
                        user = payload.user(),
                        age_ms = last_good.map(|d| d.as_millis() as u64),
                        error = %answer.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
                        "IAMPASS unavailable: accepting the last good status (stale-if-error)"
                    );
                }
                if self.key_index > 0 {
                    // Opened by an old key: move the user to the current key.
                    match inner.codec.seal(payload) {
                        Ok(cookie) => *self.reissue.borrow_mut() = Some(cookie),
                        Err(e) => tracing::debug!(error = %e, "cannot re-seal the cookie"),
                    }
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
                    self.remove_cookie();
                    if status == Some(Status::Walkaway) {
                        self.end_remotely(token);
                    }
                }
                Outcome::Anonymous(status)
            }
            Verdict::Unavailable(reason) => {
                tracing::warn!(error = %reason, "IAMPASS unavailable: refusing (fail mode closed)");
                Outcome::Unavailable(reason)
            }
        }
    }

    /// Walkaway with [`WalkawayPolicy::EndSession`](super::WalkawayPolicy::EndSession): ends
    /// the session at IAMPASS too, in the background (best effort).
    fn end_remotely(&self, token: &str) {
        let CookieRead::Authenticated(payload) = &self.cookie else {
            return;
        };
        let iampass = self.iampass.clone();
        let mut session = iampass.inner.api.attach(payload.session().clone());
        let token = token.to_owned();
        actix_web::rt::spawn(async move {
            iampass.inner.validator.forget(&token).await;
            let ended = tokio::time::timeout(Duration::from_secs(30), session.destroy()).await;
            if !matches!(ended, Ok(Ok(()))) {
                tracing::debug!("could not end a walked-away IAMPASS session");
            }
        });
    }
}

//! What handlers see: [`IampassIdentity`] (also as `Option<IampassIdentity>`),
//! [`RequireIampass`], the scope guard made by [`Iampass::require`], and the answers to
//! requests that are refused ([`Denial`]).

use std::future::{Ready, ready};
use std::ops::Deref;
use std::rc::Rc;
use std::time::SystemTime;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{ACCEPT, CONTENT_TYPE, HeaderValue, LOCATION, RETRY_AFTER};
use actix_web::http::{Method, StatusCode};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde_json::json;

use super::config::Iampass;
use super::cookie::SessionCookie;
use super::middleware::{Outcome, RequestContext};
use super::redirect;
use crate::Status;

/// A signed-in user: IAMPASS confirmed the session is `active` for this request.
///
/// As an extractor it refuses requests without one (like [`RequireIampass`]); as
/// `Option<IampassIdentity>` it never refuses (anonymous, and also while IAMPASS is
/// unavailable, is `None`).
///
/// ```
/// use actix_web::{web, App};
/// use iampass::actix::IampassIdentity;
/// async fn home(who: Option<IampassIdentity>) -> String {
///     match who {
///         Some(who) => format!("hello {} ({})", who.user(), who.iampass_user_id()),
///         None => "hello stranger".into(),
///     }
/// }
/// let app = App::new().route("/", web::get().to(home));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IampassIdentity {
    user: String,
    iampass_user_id: String,
    status: Status,
    issued_at: SystemTime,
}

impl IampassIdentity {
    pub(crate) fn from_cookie(cookie: &SessionCookie) -> Self {
        IampassIdentity {
            user: cookie.user().to_owned(),
            iampass_user_id: cookie.iampass_user_id().to_owned(),
            status: Status::Active,
            issued_at: cookie.issued_at(),
        }
    }

    /// The application's user name (as typed at login).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The IAMPASS user id the user name resolved to.
    pub fn iampass_user_id(&self) -> &str {
        &self.iampass_user_id
    }

    /// The session status that granted access (always [`Status::Active`]).
    pub fn status(&self) -> Status {
        self.status
    }

    /// When the login completed.
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }
}

/// Why a request that needs an identity has none; given to a custom
/// [`unauthenticated_responder`](super::IampassBuilder::unauthenticated_responder).
///
/// ```
/// use actix_web::HttpResponse;
/// use iampass::actix::{Denial, Iampass};
/// let builder = Iampass::builder("app", "secret").unauthenticated_responder(|req, denial| {
///     match denial {
///         Denial::Unauthenticated { .. } => HttpResponse::Unauthorized().body("sign in first"),
///         other => other.default_response(req),
///     }
/// });
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// No active session.
    Unauthenticated {
        /// The status IAMPASS last reported (`walkaway`, `closed`, ...); `None` without a
        /// login cookie.
        status: Option<Status>,
        /// The login page with a safe `next` back to this request.
        login_url: String,
    },
    /// IAMPASS could not be asked and the fail mode refuses the request.
    Unavailable {
        /// What went wrong (for logs; not shown to users by the default responder).
        reason: String,
    },
    /// The route is not wrapped by [`Iampass::middleware`]: a configuration error.
    MissingMiddleware,
}

/// `true` when the client prefers an HTML answer (a browser navigation or form).
///
/// ```
/// use iampass::actix::accepts_html;
/// let req = actix_web::test::TestRequest::default()
///     .insert_header(("Accept", "text/html,application/xhtml+xml"))
///     .to_http_request();
/// assert!(accepts_html(&req));
/// ```
pub fn accepts_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// `true` for an HTML form submission.
pub(crate) fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .starts_with("application/x-www-form-urlencoded")
        })
}

pub(crate) fn json_response(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

pub(crate) fn html_response(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// The message shown while IAMPASS is unavailable.
pub(crate) const UNAVAILABLE_MESSAGE: &str = "IAMPASS, which confirms your sign-in, cannot be \
    reached right now. You have not been signed out; please try again in a moment.";

impl Denial {
    /// The default answer: `303` to the login page for HTML requests and `401` JSON
    /// `{"error": "unauthenticated", "status": ...}` otherwise; `503` (JSON or HTML) while
    /// IAMPASS is unavailable; `500` without the middleware.
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use iampass::actix::Denial;
    /// let req = TestRequest::default().insert_header(("Accept", "application/json")).to_http_request();
    /// let denial = Denial::Unauthenticated { status: None, login_url: "/auth/login".into() };
    /// assert_eq!(denial.default_response(&req).status(), 401);
    /// ```
    pub fn default_response(&self, req: &HttpRequest) -> HttpResponse {
        let html = accepts_html(req);
        match self {
            Denial::Unauthenticated { status, login_url } => {
                if html {
                    HttpResponse::SeeOther()
                        .insert_header((LOCATION, login_url.as_str()))
                        .insert_header(("Cache-Control", "no-store"))
                        .finish()
                } else {
                    json_response(
                        StatusCode::UNAUTHORIZED,
                        json!({"error": "unauthenticated", "status": status.map(Status::as_str)}),
                    )
                }
            }
            Denial::Unavailable { .. } => {
                let mut response = if html {
                    html_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        super::login_page::unavailable_page(UNAVAILABLE_MESSAGE),
                    )
                } else {
                    json_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        json!({"error": "iampass_unavailable", "message": UNAVAILABLE_MESSAGE}),
                    )
                };
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("5"));
                response
            }
            Denial::MissingMiddleware => {
                let message = "server configuration error: the IAMPASS middleware is missing";
                if html {
                    html_response(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        super::login_page::unavailable_page(message),
                    )
                } else {
                    json_response(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        json!({"error": "misconfigured", "message": message}),
                    )
                }
            }
        }
    }
}

/// The login page URL with a safe `next` pointing back at `req` (GET/HEAD only).
pub(crate) fn login_url(iampass: &Iampass, req: &HttpRequest) -> String {
    let login = iampass.login_path();
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return login.to_owned();
    }
    let target = match req.uri().path_and_query() {
        Some(pq) => pq.as_str().to_owned(),
        None => req.path().to_owned(),
    };
    let next = redirect::safe_next(Some(&target));
    if next == "/" {
        return login.to_owned();
    }
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    let sep = if login.contains('?') { '&' } else { '?' };
    format!("{login}{sep}next={encoded}")
}

/// Resolves the request's identity, or the reason there is none.
pub(crate) async fn identify(
    req: &HttpRequest,
) -> Result<IampassIdentity, (Option<Iampass>, Denial)> {
    let context = req.extensions().get::<Rc<RequestContext>>().cloned();
    let Some(context) = context else {
        tracing::error!(
            path = req.path(),
            "an IAMPASS extractor or guard is used on a route that is not wrapped by \
             Iampass::middleware(): add `.wrap(iampass.middleware())` to the App or scope"
        );
        return Err((None, Denial::MissingMiddleware));
    };
    match context.outcome().await {
        Outcome::Identity(identity) => {
            req.extensions_mut().insert(identity.clone());
            Ok(identity)
        }
        Outcome::Anonymous(status) => {
            let login_url = login_url(&context.iampass, req);
            Err((
                Some(context.iampass.clone()),
                Denial::Unauthenticated { status, login_url },
            ))
        }
        Outcome::Unavailable(reason) => Err((
            Some(context.iampass.clone()),
            Denial::Unavailable { reason },
        )),
    }
}

/// The configured (or default) answer to a denial.
pub(crate) fn respond(
    iampass: Option<&Iampass>,
    req: &HttpRequest,
    denial: &Denial,
) -> HttpResponse {
    match iampass.and_then(|i| i.inner.responder.as_ref()) {
        Some(responder) => responder(req, denial),
        None => denial.default_response(req),
    }
}

fn denial_error(iampass: Option<&Iampass>, req: &HttpRequest, denial: Denial) -> actix_web::Error {
    let response = respond(iampass, req, &denial);
    let message = match &denial {
        Denial::Unauthenticated { .. } => "unauthenticated",
        Denial::Unavailable { .. } => "IAMPASS unavailable",
        Denial::MissingMiddleware => "IAMPASS middleware missing",
    };
    actix_web::error::InternalError::from_response(message, response).into()
}

impl FromRequest for IampassIdentity {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            identify(&req)
                .await
                .map_err(|(iampass, denial)| denial_error(iampass.as_ref(), &req, denial))
        })
    }
}

/// An extractor that requires a signed-in user: without one the handler does not run and
/// the request is answered `303` to the login page (HTML) or `401` JSON (API), or `503`
/// while IAMPASS is unavailable (see [`Denial::default_response`]).
///
/// ```
/// use actix_web::{web, App};
/// use iampass::actix::RequireIampass;
/// async fn dashboard(who: RequireIampass) -> String {
///     format!("hi {}", who.user()) // Deref to IampassIdentity
/// }
/// let app = App::new().route("/dashboard", web::get().to(dashboard));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequireIampass(IampassIdentity);

impl RequireIampass {
    /// The identity.
    pub fn into_inner(self) -> IampassIdentity {
        self.0
    }
}

impl Deref for RequireIampass {
    type Target = IampassIdentity;
    fn deref(&self) -> &IampassIdentity {
        &self.0
    }
}

impl FromRequest for RequireIampass {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let identity = IampassIdentity::from_request(req, payload);
        Box::pin(async move { identity.await.map(RequireIampass) })
    }
}

impl Iampass {
    /// A guard middleware for a whole `web::scope`: every request in it needs a signed-in
    /// user, answered as [`RequireIampass`] would otherwise. The scope (or the app) must also
    /// be wrapped by [`Iampass::middleware`], outside this guard.
    ///
    /// ```
    /// use actix_web::{web, App};
    /// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
    /// let app = App::new()
    ///     .wrap(iampass.middleware())
    ///     .service(web::scope("/admin").wrap(iampass.require()).route("", web::get().to(|| async { "admin" })));
    /// # let _ = app;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn require(&self) -> RequireIampassMiddleware {
        RequireIampassMiddleware {
            iampass: self.clone(),
        }
    }
}

/// The scope guard made by [`Iampass::require`] (an actix-web `Transform`).
///
/// ```
/// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
/// let guard: iampass::actix::RequireIampassMiddleware = iampass.require();
/// let scope = actix_web::web::scope("/admin").wrap(guard);
/// # let _ = scope;
/// # Ok::<(), iampass::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequireIampassMiddleware {
    iampass: Iampass,
}

impl<S, B> Transform<S, ServiceRequest> for RequireIampassMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequireIampassService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireIampassService {
            service: Rc::new(service),
            iampass: self.iampass.clone(),
        }))
    }
}

/// The service [`RequireIampassMiddleware`] wraps around a scope.
///
/// ```
/// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
/// // Made for you by `Scope::wrap(iampass.require())`.
/// # let _ = iampass;
/// # Ok::<(), iampass::Error>(())
/// ```
#[derive(Debug)]
pub struct RequireIampassService<S> {
    service: Rc<S>,
    iampass: Iampass,
}

impl<S, B> Service<ServiceRequest> for RequireIampassService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let iampass = self.iampass.clone();
        Box::pin(async move {
            match identify(req.request()).await {
                Ok(_) => Ok(service.call(req).await?.map_into_left_body()),
                Err((_, denial)) => {
                    let response = respond(Some(&iampass), req.request(), &denial);
                    Ok(req.into_response(response).map_into_right_body())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn iampass() -> Iampass {
        Iampass::builder("app", "secret")
            .server("http://127.0.0.1:1")
            .cookie_key(&[1; 64])
            .build()
            .unwrap()
    }

    #[test]
    fn login_url_keeps_a_safe_next_for_get_only() {
        let i = iampass();
        let get = TestRequest::get().uri("/a/b?c=d").to_http_request();
        assert_eq!(login_url(&i, &get), "/auth/login?next=%2Fa%2Fb%3Fc%3Dd");
        let root = TestRequest::get().uri("/").to_http_request();
        assert_eq!(login_url(&i, &root), "/auth/login");
        let post = TestRequest::post().uri("/a").to_http_request();
        assert_eq!(login_url(&i, &post), "/auth/login");
        let sneaky = TestRequest::get().uri("//evil.example/x").to_http_request();
        assert_eq!(login_url(&i, &sneaky), "/auth/login");
    }

    #[test]
    fn default_responses_by_accept() {
        let html = TestRequest::get()
            .insert_header((ACCEPT, "text/html,*/*;q=0.8"))
            .to_http_request();
        let api = TestRequest::get()
            .insert_header((ACCEPT, "application/json"))
            .to_http_request();
        let anon = Denial::Unauthenticated {
            status: Some(Status::Walkaway),
            login_url: "/auth/login?next=%2Fx".into(),
        };
        let r = anon.default_response(&html);
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers().get(LOCATION).unwrap(), "/auth/login?next=%2Fx");
        assert_eq!(
            anon.default_response(&api).status(),
            StatusCode::UNAUTHORIZED
        );
        let down = Denial::Unavailable {
            reason: "timeout".into(),
        };
        for req in [&html, &api] {
            let r = down.default_response(req);
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(r.headers().contains_key(RETRY_AFTER));
        }
        assert_eq!(
            Denial::MissingMiddleware.default_response(&api).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[actix_web::test]
    async fn missing_middleware_is_reported_not_panicked() {
        let req = TestRequest::get().to_http_request();
        let (iampass, denial) = identify(&req).await.unwrap_err();
        assert!(iampass.is_none());
        assert_eq!(denial, Denial::MissingMiddleware);
    }
}

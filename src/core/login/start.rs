//! `GET {prefix}/login` (the login page) and `POST {prefix}/login` (starts a login: checks
//! the input, resolves the user, rate-limits, asks IAMPASS, seals the pending cookie).

use bytes::Bytes;
use cookie::Cookie;
use futures_util::Stream;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::body::read_body;
use super::refusal::Refusal;
use super::{Handler, decoy};
use crate::AuthenticationMethod;
use crate::core::answer::Reply;
use crate::core::cookie::{CookieState, Factors, SessionCookie};
use crate::core::log::{session_short_handle, short_handle, text};
use crate::core::login::pending::PENDING_MAX_AGE;
use crate::core::pages;
use crate::core::request::{RequestHead, accepts_html, is_form, prefers_json};
use crate::core::security::rate_limit::retry_after_secs;
use crate::core::security::redirect::safe_next;
use crate::metrics::{self, LoginOutcome};
use crate::user_name::{self, UserNameError};

/// Longest user name accepted at login, in bytes.
///
/// ```
/// assert_eq!(iampass::core::defaults::MAX_USER_LEN, 256);
/// ```
pub const MAX_USER_LEN: usize = user_name::MAX_LEN;

/// Shown on the login page when the browser will drop the `Secure` cookie.
const INSECURE_TRANSPORT: &str = "Signing in cannot work here: this site is served over plain \
    HTTP, and the browser will not keep the sign-in cookie, which is marked Secure. Use HTTPS \
    (or, for development only, turn cookie_secure off).";

/// Set once the plain-HTTP warning has been logged, so it is logged once per process.
static INSECURE_TRANSPORT_LOGGED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// A login request, from JSON or a form.
#[derive(Debug, Default, Deserialize)]
struct LoginRequest {
    user: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    methods: Option<Vec<String>>,
}

/// A login about to start, its inputs decided: by the public handler from the request and the
/// policy, or by the application's own handler ([`Iampass::start_login`](crate::core::Iampass::start_login)).
pub(super) struct Start<'a> {
    /// The application's user name (trimmed).
    pub(super) user: &'a str,
    /// The IAMPASS user id, when the application knows it (else the resolver decides).
    pub(super) iampass_user_id: Option<&'a str>,
    pub(super) methods: Vec<AuthenticationMethod>,
    pub(super) duration: std::time::Duration,
    /// How the user is signing in (recorded in the cookie).
    pub(super) factors: Factors,
}

/// The login request from a form or JSON body.
fn parse_request(form: bool, body: &[u8]) -> Result<LoginRequest, Refusal> {
    if !form {
        return serde_json::from_slice::<LoginRequest>(body).map_err(|e| {
            Refusal::bad_request(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}"))
        });
    }
    let mut request = LoginRequest::default();
    for (key, value) in url::form_urlencoded::parse(body) {
        match &*key {
            "user" => request.user = value.into_owned(),
            "next" => request.next = Some(value.into_owned()),
            "methods" if !value.is_empty() => {
                request.methods = Some(value.split(',').map(str::to_owned).collect());
            }
            _ => {}
        }
    }
    Ok(request)
}

pub(super) fn parse_methods(methods: &[String]) -> Result<Vec<AuthenticationMethod>, Refusal> {
    methods
        .iter()
        .map(|m| {
            m.trim().parse::<AuthenticationMethod>().map_err(|_| {
                Refusal::bad_request(StatusCode::BAD_REQUEST, format!("unknown method {m:?}"))
            })
        })
        .collect()
}

/// The user name trimmed as everywhere in the crate ([`user_name::trim`]); empty, over-long
/// and control-character names are refused.
fn check_user(user: &str) -> Result<&str, Refusal> {
    let problem = match user_name::trim(user) {
        Ok(user) if !user.chars().any(char::is_control) => return Ok(user),
        Ok(_) => "The user name contains control characters.".to_owned(),
        Err(UserNameError::Empty) => "Please enter your user name.".to_owned(),
        Err(e) => e.to_string(),
    };
    Err(Refusal::bad_request(StatusCode::BAD_REQUEST, problem))
}

impl Handler {
    /// `GET {prefix}/login[?next=/path][&user=name]`: the form, or (`?wait=1`) the
    /// no-JavaScript wait page.
    pub(crate) async fn login_page(&self, req: &impl RequestHead) -> Reply {
        if req.query_param("wait").is_some() {
            return self.wait_page(req).await;
        }
        let next = safe_next(req.query_param("next").as_deref());
        if let Some(elsewhere) = self.own_sign_in(&next) {
            // The public user-name form would only answer 403: the application's page instead.
            return elsewhere;
        }
        // `?user=` prefills the form (e.g. right after sign-up); over-long values are dropped.
        let user = req.query_param("user").filter(|u| u.len() <= MAX_USER_LEN);
        let warning = self.insecure_transport(req).then_some(INSECURE_TRANSPORT);
        let page = pages::login_form(
            &self.iampass.settings().branding,
            self.prefix(),
            user.as_deref().unwrap_or(""),
            &next,
            warning,
        );
        self.html(StatusCode::OK, page)
    }

    /// With the public login off and the application's own sign-in page elsewhere
    /// ([`login_path`](crate::core::IampassBuilder::login_path)): a `303` to that page, keeping
    /// `next`. `None` while the public login is on, or when `login_path` is this very page.
    fn own_sign_in(&self, next: &str) -> Option<Reply> {
        let login_path = self.iampass.login_path();
        if self.iampass.public_login() || login_path == format!("{}/login", self.prefix()) {
            return None;
        }
        if next == "/" {
            return Some(Reply::see_other(login_path));
        }
        let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let sep = if login_path.contains('?') { '&' } else { '?' };
        Some(Reply::see_other(format!("{login_path}{sep}next={encoded}")))
    }

    /// `true` when the cookie is `Secure` but the request came over plain HTTP from a name
    /// that is not loopback (browsers accept `Secure` cookies over HTTP only on localhost):
    /// the login could never complete, so say so (once in the log, and on the page).
    fn insecure_transport(&self, req: &impl RequestHead) -> bool {
        if !self.iampass.settings().codec.secure {
            return false;
        }
        if req.scheme() != "http" {
            return false;
        }
        let host = req.host();
        let host = host.as_str();
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            _ => host,
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        let loopback = name.eq_ignore_ascii_case("localhost")
            || name.to_ascii_lowercase().ends_with(".localhost")
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            return false;
        }
        if !INSECURE_TRANSPORT_LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(
                host = host,
                "the IAMPASS cookie is Secure but this site is served over plain HTTP: browsers \
                 will drop it and sign-ins cannot complete; serve HTTPS (or, in development, \
                 cookie_secure(false))"
            );
        }
        true
    }

    /// `POST {prefix}/login`, its body still to be read.
    pub(crate) async fn login<S, E>(&self, req: &impl RequestHead, body: S) -> Reply
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let form = is_form(req);
        if let Some(refused) = self.refuse_cross_site(req, form) {
            return refused;
        }
        let request = match self.read_request(req, body, form, parse_request).await {
            Ok(request) => request,
            Err(refused) => return refused,
        };
        let next = safe_next(request.next.as_deref());
        // An explicit `Accept: application/json` wins over a form body.
        let html = form && !prefers_json(req);
        if html && let Some(elsewhere) = self.own_sign_in(&next) {
            // A form (an old copy of the user-name page): the application's sign-in page.
            return elsewhere;
        }
        if !self.iampass.public_login() {
            let refusal = Refusal {
                status: StatusCode::FORBIDDEN,
                body: json!({"error": "public_login_disabled",
                             "message": "Sign in through this site's own sign-in page."}),
                message: "Sign in through this site's own sign-in page.".into(),
                retry_after: None,
            };
            return self.refuse(req, form, "", &next, refusal);
        }
        match self.start_public(req, &request, &next).await {
            Ok(cookie) if html => {
                Reply::see_other(format!("{}/login?wait=1", self.prefix())).cookie(Some(cookie))
            }
            Ok(cookie) => Reply::json(
                StatusCode::ACCEPTED,
                json!({"status": "pending", "poll_url": format!("{}/poll", self.prefix())}),
            )
            .cookie(Some(cookie)),
            Err(refusal) => self.refuse(req, form, &request.user, &next, refusal),
        }
    }

    /// A login or step-up request's body, read within the body timeout and parsed by
    /// `parse`; or the answer refusing it.
    pub(super) async fn read_request<T, S, E>(
        &self,
        req: &impl RequestHead,
        body: S,
        form: bool,
        parse: fn(bool, &[u8]) -> Result<T, Refusal>,
    ) -> Result<T, Reply>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let deadline = self.iampass.settings().login.body_timeout;
        read_body(req, body, deadline)
            .await
            .and_then(|body| parse(form, &body))
            .map_err(|refusal| self.refuse(req, form, "", "/", refusal))
    }

    pub(super) fn refuse(
        &self,
        req: &impl RequestHead,
        form: bool,
        user: &str,
        next: &str,
        r: Refusal,
    ) -> Reply {
        let html = !prefers_json(req)
            && (form || (accepts_html(req) && r.status != StatusCode::PAYLOAD_TOO_LARGE));
        let reply = if html {
            let user = if user.len() <= MAX_USER_LEN { user } else { "" };
            let page = pages::login_form(
                &self.iampass.settings().branding,
                self.prefix(),
                user,
                next,
                Some(&r.message),
            );
            self.html(r.status, page)
        } else {
            Reply::json(r.status, r.body)
        };
        reply.retry_after(r.retry_after)
    }

    /// The public handler's login: the user name and methods from the request, within policy.
    async fn start_public(
        &self,
        req: &impl RequestHead,
        request: &LoginRequest,
        next: &str,
    ) -> Result<Cookie<'static>, Refusal> {
        let user = check_user(&request.user)?;
        let requested = parse_methods(request.methods.as_deref().unwrap_or_default())?;
        let start = Start {
            user,
            iampass_user_id: None,
            methods: self.iampass.settings().login.methods_for(&requested),
            duration: self.iampass.settings().session_max_age,
            factors: Factors::Iampass,
        };
        match self.start(req, &start, next).await {
            Ok(cookie) => {
                self.learn_shape(&cookie);
                Ok(cookie)
            }
            // Who exists stays unsaid: the same answer as a real login, then a failed one.
            Err(refusal) if refusal.status == StatusCode::UNPROCESSABLE_ENTITY => {
                self.decoy(user, next, &refusal)
            }
            Err(refusal) => Err(refusal),
        }
    }

    /// The user resolver refused the name: an unknown user, counted against the rate limits
    /// like any login attempt (so guessing names costs the same as trying real ones).
    async fn unresolved(&self, req: &impl RequestHead, user: &str) -> Refusal {
        match self.take_limits(req, user).await {
            Ok(()) => Refusal::unknown_user(),
            Err(refusal) => refusal,
        }
    }

    /// One login start against the per-user and per-address limits; `429` when over.
    async fn take_limits(&self, req: &impl RequestHead, user: &str) -> Result<(), Refusal> {
        let address = self.client_ip(req);
        let Err(wait) = self.iampass.state().limits.check(user, address).await else {
            return Ok(());
        };
        let secs = retry_after_secs(wait);
        tracing::info!(user = ?user, ?address, retry_after = secs, "login start rate-limited");
        let message = format!("Too many sign-in attempts; try again in {secs} s.");
        Err(Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: json!({"error": "rate_limited", "retry_after": secs, "message": message}),
            message,
            retry_after: Some(secs),
        })
    }

    /// A decoy pending login (see [`decoy`](super::decoy)) for a name IAMPASS cannot start a
    /// login for, sealed like a real one.
    fn decoy(&self, user: &str, next: &str, refusal: &Refusal) -> Result<Cookie<'static>, Refusal> {
        let reason = refusal.body.get("reason").and_then(|r| r.as_str());
        tracing::info!(
            user = user,
            reason = reason,
            "login not started; answered with a decoy"
        );
        if let Some(previous) = self.context.payload() {
            self.end_previous(previous.session().clone(), previous.remaining_life());
        }
        let iampass = &self.iampass;
        let session = decoy::session(iampass.authentication_api().server());
        let max_age = PENDING_MAX_AGE.min(iampass.settings().session_max_age);
        let payload = |next: Option<String>| {
            SessionCookie::new(
                session.clone(),
                user.to_owned(),
                user.to_owned(),
                CookieState::Pending,
                max_age,
                next,
            )
        };
        iampass
            .settings()
            .codec
            .seal(&payload(Some(next.to_owned())))
            .or_else(|_| iampass.settings().codec.seal(&payload(None)))
            .map_err(|_| {
                Refusal::bad_request(StatusCode::BAD_REQUEST, "The sign-in request is too large.")
            })
    }

    /// Remembers the token and secret lengths of a real pending login, for decoys.
    fn learn_shape(&self, cookie: &Cookie<'static>) {
        if let Ok((payload, _)) = self.iampass.settings().codec.open(cookie.value()) {
            decoy::learn_shape(payload.session());
        }
    }

    /// Resolves the user, takes the rate limits and asks IAMPASS to start an approval: the
    /// started session and the IAMPASS user id (for a login and for a step-up). Every start
    /// attempt's outcome is counted here (see [`metrics`](crate::metrics)).
    pub(super) async fn ask_phone(
        &self,
        flow: metrics::Flow,
        req: &impl RequestHead,
        start: &Start<'_>,
    ) -> Result<(crate::Session, String), Refusal> {
        let asked = self.request_approval(req, start).await;
        let outcome = match &asked {
            Ok(_) => LoginOutcome::Started,
            Err(r) if r.status == StatusCode::TOO_MANY_REQUESTS => LoginOutcome::RateLimited,
            Err(r) if r.status == StatusCode::SERVICE_UNAVAILABLE => LoginOutcome::Unavailable,
            Err(_) => LoginOutcome::NotStarted,
        };
        metrics::login(flow, outcome);
        asked
    }

    /// The start itself (see [`Self::ask_phone`]).
    async fn request_approval(
        &self,
        req: &impl RequestHead,
        start: &Start<'_>,
    ) -> Result<(crate::Session, String), Refusal> {
        let iampass = &self.iampass;
        let user = check_user(start.user)?;
        let methods = &start.methods;
        let resolved = match start.iampass_user_id {
            Some(id) => id.trim().to_owned(),
            None => match iampass.settings().resolve_user(user.to_owned()).await {
                Ok(id) => id,
                Err(e) if e.is_outage() => {
                    return Err(Refusal::unavailable(&e, &iampass.state().outage));
                }
                Err(e) => {
                    tracing::debug!(error = text(&e), "user resolver refused a login");
                    return Err(self.unresolved(req, user).await);
                }
            },
        };
        if resolved.is_empty() || resolved.len() > MAX_USER_LEN {
            return Err(self.unresolved(req, user).await);
        }
        self.take_limits(req, &resolved).await?;
        let session = iampass
            .authentication_api()
            .authenticate_user_with(&resolved, methods, Some(start.duration))
            .await;
        let session = match session {
            Ok(session) => {
                iampass.state().outage.answered(std::time::Instant::now());
                session
            }
            Err(e) if e.is_outage() => {
                return Err(Refusal::unavailable(&e, &iampass.state().outage));
            }
            Err(e) if e.is_not_found() => return Err(Refusal::unknown_user()),
            Err(e) => {
                tracing::error!(error = text(&e), "IAMPASS refused to start a login");
                return Err(Refusal::failed(
                    StatusCode::BAD_GATEWAY,
                    "IAMPASS_ERROR",
                    "IAMPASS refused the request.",
                ));
            }
        };
        // Not started (no session to poll). A session that started and was answered at once
        // (an instant deny or approval) is reported by the poll like any other.
        if session.session_token().is_none() || session.status_url().is_none() {
            let reason = session.failure_reason().unwrap_or("NOT_STARTED").to_owned();
            let message = if reason == "NO_MOBILE_DEVICE" {
                "No phone is registered for this user.".to_owned()
            } else {
                format!("The sign-in could not start ({reason}).")
            };
            return Err(Refusal::failed(
                StatusCode::UNPROCESSABLE_ENTITY,
                reason,
                message,
            ));
        }
        Ok((session, resolved))
    }

    /// Resolve, rate-limit and ask IAMPASS; the pending cookie on success.
    pub(super) async fn start(
        &self,
        req: &impl RequestHead,
        start: &Start<'_>,
        next: &str,
    ) -> Result<Cookie<'static>, Refusal> {
        let iampass = &self.iampass;
        let (session, resolved) = self.ask_phone(metrics::Flow::Login, req, start).await?;
        let user = check_user(start.user)?;
        let address = self.client_ip(req);
        let methods = &start.methods;
        // One request at a time: the login this browser had (pending or signed in) ends.
        if let Some(previous) = self.context.payload() {
            let ttl = previous.remaining_life();
            self.end_previous(previous.session().clone(), ttl);
        }
        tracing::info!(
            user = user,
            address = ?address,
            handle = %session_short_handle(&session),
            "login started"
        );
        let max_age = PENDING_MAX_AGE.min(iampass.settings().session_max_age);
        let payload = |next: Option<String>| {
            SessionCookie::new(
                session.clone(),
                user.to_owned(),
                resolved.clone(),
                CookieState::Pending,
                max_age,
                next,
            )
            .with_factors(start.factors)
            .with_methods(methods.clone())
        };
        // A cookie that would not fit in 4 KiB drops `next` (the login matters more).
        let sealed = iampass
            .settings()
            .codec
            .seal(&payload(Some(next.to_owned())))
            .or_else(|_| iampass.settings().codec.seal(&payload(None)));
        match sealed {
            Ok(cookie) => Ok(cookie),
            Err(e) => {
                tracing::warn!(
                    error = text(&e),
                    "login cookie too large; ending the IAMPASS session"
                );
                let mut session = session;
                let _ = session.destroy().await;
                Err(Refusal::bad_request(
                    StatusCode::BAD_REQUEST,
                    "The sign-in request is too large.",
                ))
            }
        }
    }

    /// Ends, in the background, the IAMPASS session of this browser's previous login (a
    /// pending request left on the phone, or a signed-in session being replaced).
    /// The session is revoked in the store for `ttl` (its cookie's remaining life).
    pub(super) fn end_previous(&self, previous: crate::Session, ttl: std::time::Duration) {
        let Some(token) = previous.session_token().map(str::to_owned) else {
            return;
        };
        let iampass = self.iampass.clone();
        iampass.state().pending.forget(&token);
        let mut session = iampass.authentication_api().attach(previous);
        tokio::spawn(async move {
            iampass.state().validator.revoke(&token, ttl).await;
            match session.destroy().await {
                Ok(()) => tracing::info!(handle = %short_handle(&token), "previous login ended"),
                Err(e) => {
                    tracing::debug!(
                        error = text(&e),
                        "the previous login could not be ended at IAMPASS"
                    )
                }
            }
        });
    }
}

//! The login handlers mounted by [`Iampass::routes`] under the configured prefix:
//! [`login`] (`GET`/`POST {prefix}/login`), [`poll`] (`GET {prefix}/poll` and the
//! no-JavaScript wait page), [`logout`] (`POST {prefix}/logout`) and [`events`]
//! (`GET {prefix}/events`, the live state of the session, and `GET {prefix}/live.js`).

use std::rc::Rc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::config::Iampass;
use super::context::RequestContext;
use super::pages;
use super::respond::Reply;
use super::security::origin::check_same_origin;

mod decoy;
mod events;
mod login;
mod logout;
mod poll;
mod second_factor;

pub use login::MAX_USER_LEN;
pub(crate) use login::short_handle;
pub use poll::MAX_POLL_WAIT;
pub use second_factor::{LoginError, LoginStarted, SecondFactor};

impl Iampass {
    /// The login handlers under [`routes_prefix`](super::IampassBuilder::routes_prefix)
    /// (default `/auth`), for [`App::configure`](actix_web::App::configure):
    ///
    /// - `GET {prefix}/login`: a ready-made login page (`?next=/path` to come back to;
    ///   `?wait=1` is the self-refreshing page a no-JavaScript form login lands on);
    /// - `POST {prefix}/login`: JSON `{"user", "next"?, "methods"?}` or a form (`user`,
    ///   `next`): starts the login (`202 {"status": "pending", "poll_url"}`, or `303` to the
    ///   wait page for a form);
    /// - `GET {prefix}/poll[?wait=N]`: the pending login's status (long-polls up to N s,
    ///   at most 25); `{"status": "active", "redirect": next}` once signed in;
    /// - `POST {prefix}/logout`: ends the session at IAMPASS and removes the cookie;
    /// - `GET {prefix}/events[?next=/page]`: Server-Sent Events with the signed-in session's
    ///   state (`active`, `walkaway`, `closed`, `expired`, `unavailable`, and `heartbeat`);
    ///   see [`IampassBuilder::events_interval`](super::IampassBuilder::events_interval);
    /// - `GET {prefix}/live.js`: the script that locks an open page on `walkaway` (mark the
    ///   content with `data-iampass-protected`; see the README's "Live lock").
    ///
    /// ```
    /// # let iampass = iampass::actix::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
    /// let app = actix_web::App::new()
    ///     .wrap(iampass.middleware())
    ///     .configure(iampass.routes()); // /auth/login, /auth/poll, /auth/logout
    /// # let _ = app;
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn routes(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + 'static {
        let iampass = self.clone();
        move |cfg: &mut web::ServiceConfig| {
            let prefix = iampass.routes_prefix();
            let (page, start, status, end, live) = (
                iampass.clone(),
                iampass.clone(),
                iampass.clone(),
                iampass.clone(),
                iampass.clone(),
            );
            cfg.service(
                web::resource(format!("{prefix}/login"))
                    .route(web::get().to(move |req: HttpRequest| {
                        let h = Handler::new(&page, &req);
                        async move { h.login_page(req).await }
                    }))
                    .route(web::post().to(move |req: HttpRequest, body: web::Payload| {
                        let h = Handler::new(&start, &req);
                        async move { h.login(req, body).await }
                    })),
            )
            .service(web::resource(format!("{prefix}/poll")).route(web::get().to(
                move |req: HttpRequest| {
                    let h = Handler::new(&status, &req);
                    async move { h.poll(req).await }
                },
            )))
            .service(
                web::resource(format!("{prefix}/login.js"))
                    .route(web::get().to(|| async { script(pages::LOGIN_SCRIPT) })),
            )
            .service(
                web::resource(format!("{prefix}/logout")).route(web::post().to(
                    move |req: HttpRequest| {
                        let h = Handler::new(&end, &req);
                        async move { h.logout(req).await }
                    },
                )),
            )
            .service(
                web::resource(format!("{prefix}/events")).route(web::get().to(
                    move |req: HttpRequest| {
                        let h = Handler::new(&live, &req);
                        async move { h.events(req).await }
                    },
                )),
            )
            .service(
                web::resource(format!("{prefix}/live.js"))
                    .route(web::get().to(|| async { events::live_js() })),
            );
        }
    }
}

/// One request to a login handler: the configuration and the request's context.
struct Handler {
    iampass: Iampass,
    context: Rc<RequestContext>,
}

impl Handler {
    fn new(iampass: &Iampass, req: &HttpRequest) -> Self {
        Handler {
            iampass: iampass.clone(),
            context: RequestContext::for_handler(iampass, req),
        }
    }

    fn prefix(&self) -> &str {
        self.iampass.routes_prefix()
    }

    /// An HTML page with the security headers the configuration asks for.
    fn html(&self, status: StatusCode, page: String) -> Reply {
        Reply::html(status, page)
            .security_headers(self.iampass.login_settings().security_headers)
            .csp(self.iampass.branding().csp.clone())
    }

    /// The client's address: the TCP peer, or behind a trusted proxy the address it forwards.
    fn client_ip(&self, req: &HttpRequest) -> Option<std::net::IpAddr> {
        self.iampass
            .login_settings()
            .trusted_proxies
            .client_ip(req.peer_addr(), req.headers())
    }

    /// `403` for a cross-site `POST` (HTML or JSON), `None` for a same-site one.
    fn refuse_cross_site(&self, req: &HttpRequest, html: bool) -> Option<HttpResponse> {
        let Err(why) = check_same_origin(req) else {
            return None;
        };
        tracing::debug!(reason = %why.0, path = req.path(), "cross-site POST refused");
        let message = "This request came from another site and was refused.";
        let reply = if html {
            self.html(
                StatusCode::FORBIDDEN,
                pages::message_page(self.iampass.branding(), "Refused", message, Some("/")),
            )
        } else {
            Reply::json(
                StatusCode::FORBIDDEN,
                json!({"error": "cross_site", "message": message}),
            )
        };
        Some(reply.finish())
    }
}

/// A script the crate serves: cacheable for an hour, never sniffed as anything else.
fn script(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

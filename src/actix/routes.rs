//! The crate's routes under the configured prefix ([`Iampass::routes`]): each reads what it
//! needs of the request, hands it to the core's login state machine and writes its answer.

use actix_web::{HttpRequest, web};

use super::request::context_of;
use super::response::respond;
use crate::core::{Handler, Iampass, live_js, login_js};

impl Iampass {
    /// The login handlers under [`routes_prefix`](crate::core::IampassBuilder::routes_prefix)
    /// (default `/auth`), for [`App::configure`](actix_web::App::configure):
    ///
    /// - `GET {prefix}/login`: a ready-made login page (`?next=/path` to come back to;
    ///   `?wait=1` is the self-refreshing page a no-JavaScript form login lands on);
    /// - `POST {prefix}/login`: JSON `{"user", "next"?, "methods"?}` or a form (`user`,
    ///   `next`): starts the login (`202 {"status": "pending", "poll_url"}`, or `303` to the
    ///   wait page for a form);
    /// - `GET {prefix}/poll[?wait=N]`: the pending login's (or step-up's) status (long-polls
    ///   up to N s, at most 25); `{"status": "active", "redirect": next}` once signed in;
    /// - `GET {prefix}/step-up[?next=/path][&methods=facial]`: the step-up page of a
    ///   signed-in user (see [`Iampass::require_recent`]); `POST {prefix}/step-up` (JSON
    ///   `{"next"?, "methods"?}` or a form): asks the phone again, answered like a login
    ///   start; the poll completes it;
    /// - `POST {prefix}/logout`: ends the session at IAMPASS and removes the cookie;
    /// - `GET {prefix}/events[?next=/page]`: Server-Sent Events with the signed-in session's
    ///   state (`active`, `walkaway`, `closed`, `expired`, `unavailable`, and `heartbeat`);
    ///   see [`IampassBuilder::events_interval`](crate::core::IampassBuilder::events_interval);
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
            let (step_page, step_start) = (iampass.clone(), iampass.clone());
            cfg.service(
                web::resource(format!("{prefix}/login"))
                    .route(web::get().to(move |req: HttpRequest| {
                        let h = Handler::new(&page, context_of(&req), &req);
                        async move { respond(h.login_page(&req).await) }
                    }))
                    .route(web::post().to(move |req: HttpRequest, body: web::Payload| {
                        let h = Handler::new(&start, context_of(&req), &req);
                        async move { respond(h.login(&req, body).await) }
                    })),
            )
            .service(
                web::resource(format!("{prefix}/step-up"))
                    .route(web::get().to(move |req: HttpRequest| {
                        let h = Handler::new(&step_page, context_of(&req), &req);
                        async move { respond(h.step_up_page(&req).await) }
                    }))
                    .route(web::post().to(move |req: HttpRequest, body: web::Payload| {
                        let h = Handler::new(&step_start, context_of(&req), &req);
                        async move { respond(h.step_up(&req, body).await) }
                    })),
            )
            .service(web::resource(format!("{prefix}/poll")).route(web::get().to(
                move |req: HttpRequest| {
                    let h = Handler::new(&status, context_of(&req), &req);
                    async move { respond(h.poll(&req).await) }
                },
            )))
            .service(
                web::resource(format!("{prefix}/login.js"))
                    .route(web::get().to(|| async { respond(login_js()) })),
            )
            .service(
                web::resource(format!("{prefix}/logout")).route(web::post().to(
                    move |req: HttpRequest| {
                        let h = Handler::new(&end, context_of(&req), &req);
                        async move { respond(h.logout(&req).await) }
                    },
                )),
            )
            .service(
                web::resource(format!("{prefix}/events")).route(web::get().to(
                    move |req: HttpRequest| {
                        let h = Handler::new(&live, context_of(&req), &req);
                        async move { respond(h.events(&req).await) }
                    },
                )),
            )
            .service(
                web::resource(format!("{prefix}/live.js"))
                    .route(web::get().to(|| async { respond(live_js()) })),
            );
        }
    }
}

//! `POST {prefix}/logout`: revokes the session in the store (every instance refuses the
//! cookie within 1 s), ends it at IAMPASS, forgets its cached answers and removes the cookie,
//! even when IAMPASS or the store cannot be told.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::Handler;
use crate::actix::pages;
use crate::actix::respond::{Reply, accepts_html, is_form};

impl Handler {
    /// `POST {prefix}/logout`.
    pub(super) async fn logout(&self, req: HttpRequest) -> HttpResponse {
        let html = is_form(&req) || accepts_html(&req);
        if let Some(refused) = self.refuse_cross_site(&req, html) {
            return refused;
        }
        let mut outage = false;
        if let Some(payload) = self.context.payload() {
            let iampass = &self.iampass;
            if let Some(token) = payload.session().session_token() {
                iampass
                    .validator()
                    .revoke(token, payload.remaining_life())
                    .await;
            }
            let mut session = iampass
                .authentication_api()
                .attach(payload.session().clone());
            let handle = payload
                .session()
                .session_token()
                .map(super::login::short_handle)
                .unwrap_or_default();
            if let Some(token) = payload.session().session_token() {
                iampass.pending_logins().forget(token);
            }
            match session.destroy().await {
                Ok(()) => tracing::info!(user = payload.user(), handle = %handle, "logout"),
                Err(crate::Error::Refused { reason }) => tracing::info!(
                    user = payload.user(),
                    handle = %handle,
                    reason = reason.as_deref().unwrap_or("none given"),
                    "IAMPASS refused the logout (session already over?); cookie removed"
                ),
                Err(e) if e.is_outage() => {
                    tracing::warn!(error = %e, "IAMPASS unavailable at logout; cookie removed locally");
                    outage = true;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "IAMPASS logout refused (session already over)")
                }
            }
        }
        let message = "You are signed out of this site, but IAMPASS could not be told; \
                       the phone may still show the session until it expires.";
        let landing = self.iampass.after_logout_path();
        let reply = match (html, outage) {
            (true, false) => Reply::see_other(landing),
            (true, true) => self.html(
                StatusCode::SERVICE_UNAVAILABLE,
                pages::message_page(
                    self.iampass.branding(),
                    "Signed out",
                    message,
                    Some(landing),
                ),
            ),
            (false, false) => Reply::json(StatusCode::OK, json!({"status": "closed"})),
            (false, true) => Reply::json(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "closed", "error": "iampass_unavailable", "message": message}),
            ),
        };
        reply.cookie(Some(self.iampass.codec().removal())).finish()
    }
}

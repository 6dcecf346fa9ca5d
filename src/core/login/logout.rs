//! `POST {prefix}/logout`: revokes the session in the store (every instance refuses the
//! cookie within 1 s), ends it at IAMPASS, forgets its cached answers and removes the cookie,
//! even when IAMPASS or the store cannot be told.

use http::StatusCode;
use serde_json::json;

use super::Handler;
use crate::core::answer::Reply;
use crate::core::log::{Without, text};
use crate::core::pages;
use crate::core::request::{RequestHead, answers_html, is_form};

impl Handler {
    /// `POST {prefix}/logout`.
    pub(crate) async fn logout(&self, req: &impl RequestHead) -> Reply {
        let html = answers_html(req, is_form(req));
        if let Some(refused) = self.refuse_cross_site(req, html) {
            return refused;
        }
        let mut outage = false;
        if let Some(payload) = self.context.payload() {
            let iampass = &self.iampass;
            if let Some(token) = payload.session().session_token() {
                iampass
                    .state()
                    .validator
                    .revoke(token, payload.remaining_life())
                    .await;
            }
            let mut session = iampass
                .authentication_api()
                .attach(payload.session().clone());
            let handle = payload
                .session()
                .session_token()
                .map(crate::core::log::short_handle)
                .unwrap_or_default();
            if let Some(token) = payload.session().session_token() {
                iampass.state().pending.forget(token);
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
                    let error = text(&e);
                    iampass
                        .state()
                        .outage
                        .went_without(Without::Refused, &error);
                    tracing::debug!(
                        error,
                        "IAMPASS unavailable at logout; cookie removed locally"
                    );
                    outage = true;
                }
                Err(e) => {
                    tracing::debug!(
                        error = text(&e),
                        "IAMPASS logout refused (session already over)"
                    )
                }
            }
        }
        let message = "You are signed out of this site, but IAMPASS could not be told; \
                       the phone may still show the session until it expires.";
        let landing = &self.iampass.settings().after_logout_path;
        let reply = match (html, outage) {
            (true, false) => Reply::see_other(landing),
            (true, true) => self.html(
                StatusCode::SERVICE_UNAVAILABLE,
                pages::message_page(
                    &self.iampass.settings().branding,
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
        // A step-up still waiting on the phone ends with the session.
        let step_up = self.step_up_pending(req).map(|step| {
            self.end_previous(step.session().clone(), step.remaining_life());
            self.iampass.settings().step_up_codec.removal()
        });
        reply
            .cookie(Some(self.iampass.settings().codec.removal()))
            .extra_cookie(step_up)
    }
}

//! Signing a user in for an application's own tests, in one call (features `emulator` and
//! `actix`): a phone is registered, the login is started and approved, and the signed-in
//! cookie comes back ready to send.

use std::time::Duration;

use actix_web::cookie::Cookie;

use super::handle::RunningEmulator;
use super::types::SessionAction;
use crate::actix::{CookieState, Factors, Iampass, SessionCookie};
use crate::{Error, Status};

impl RunningEmulator {
    /// Signs `user` in against this emulator and answers the signed-in cookie, sealed by
    /// `iampass` (which must point at this emulator). For an application's own tests: no
    /// login page, no polling, no phone page.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use actix_web::{App, test, web};
    /// use iampass::actix::{Iampass, RequireIampass};
    /// use iampass::emulator::Emulator;
    ///
    /// let emulator = Emulator::builder().application("app", "secret").start().await?;
    /// let iampass = Iampass::builder("app", "secret")
    ///     .server(emulator.base_url())
    ///     .cookie_key(&[7u8; 64])
    ///     .build()?;
    /// let cookie = emulator.sign_in(&iampass, "alice").await?;
    ///
    /// let app = test::init_service(
    ///     App::new().wrap(iampass.middleware()).route(
    ///         "/dashboard",
    ///         web::get().to(|who: RequireIampass| async move { format!("hi {}", who.user()) }),
    ///     ),
    /// )
    /// .await;
    /// let request = test::TestRequest::get().uri("/dashboard").cookie(cookie).to_request();
    /// assert_eq!(test::call_and_read_body(&app, request).await, "hi alice");
    /// # Ok(()) }
    /// ```
    pub async fn sign_in(&self, iampass: &Iampass, user: &str) -> Result<Cookie<'static>, Error> {
        let api = iampass.authentication_api();
        self.register_device(api.application_id(), user).await?;
        let mut session = api.authenticate_user(user).await?;
        let token = session.session_token().map(str::to_owned).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "the login of {user:?} did not start: {}",
                session.failure_reason().unwrap_or("no reason given")
            ))
        })?;
        self.session_action(&token, SessionAction::Approve).await?;
        let status = session.get_status().await?;
        if status != Status::Active {
            return Err(Error::Protocol(format!(
                "the approved login of {user:?} is {status}, not active"
            )));
        }
        let payload = SessionCookie::new(
            session,
            user,
            user,
            CookieState::Authenticated,
            Duration::from_secs(3600),
            None,
        )
        // As after the application's own first factor: valid for every deployment.
        .with_factors(Factors::FirstFactorThenIampass);
        iampass.seal_cookie(&payload)
    }
}

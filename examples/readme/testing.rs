//! Testing your app against the emulator: its own `/signin`, the poll, a protected page.
//! One file so that it can be pasted; in your crate `settings` and `routes` live in
//! `src/lib.rs` and the tests in `tests/`.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use iampass::actix::{Iampass, IampassBuilder, RequireIampass, SecondFactor};

#[derive(serde::Deserialize)]
struct SignIn {
    user: String,
    password: String,
}

/// A stand-in for your password check.
fn password_ok(user: &str, password: &str) -> bool {
    user == "alice" && password == "correct horse"
}

async fn sign_in(
    req: HttpRequest,
    form: web::Form<SignIn>,
    iampass: web::Data<Iampass>,
) -> HttpResponse {
    if !password_ok(&form.user, &form.password) {
        return HttpResponse::Unauthorized().body("wrong user name or password");
    }
    match iampass
        .start_login(&req, SecondFactor::new(&form.user).next("/dashboard"))
        .await
    {
        Ok(started) => started.into_http_response(),
        Err(e) => e.error_response(), // JSON {reason, message}; or your own page from them
    }
}

/// The app's IAMPASS settings, for `main` and the tests alike.
pub fn settings(builder: IampassBuilder) -> IampassBuilder {
    builder
        .public_login(false)
        .login_path("/signin")
        .cookie_secure(!cfg!(debug_assertions))
}

/// The app's routes (all but the middleware, which wraps the `App`).
pub fn routes(iampass: Iampass) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(iampass.clone()))
            .configure(iampass.routes())
            .route(
                "/signin",
                web::get().to(|| async { "your sign-in form, as above" }),
            )
            .route("/signin", web::post().to(sign_in))
            .route(
                "/dashboard",
                web::get().to(|who: RequireIampass| async move { format!("hi {}", who.user()) }),
            );
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let iampass = Iampass::from_env()
        .map(settings)
        .and_then(|b| b.build())
        .expect("IAMPASS configuration");
    HttpServer::new(move || {
        App::new()
            .wrap(iampass.middleware())
            .configure(routes(iampass.clone()))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;
    use actix_web::test;
    use iampass::emulator::{Behaviour, Emulator};
    use std::time::Duration;

    #[actix_web::test]
    async fn a_password_then_the_phone_then_the_dashboard() {
        let emulator = Emulator::builder()
            .application("app", "secret")
            .start()
            .await
            .unwrap();
        emulator.register_device("app", "alice").await.unwrap();
        let approve = Behaviour::Approve {
            after: Duration::ZERO,
        }; // alice's phone approves at once
        emulator
            .set_behaviour("app", "alice", approve)
            .await
            .unwrap();
        let builder = Iampass::builder("app", "secret")
            .server(emulator.base_url())
            .cookie_key(&[7u8; 64]);
        let iampass = settings(builder).build().unwrap();
        let app = test::init_service(
            App::new()
                .wrap(iampass.middleware())
                .configure(routes(iampass.clone())),
        )
        .await;

        // Without a session, a browser is sent to the sign-in page.
        let request = test::TestRequest::get()
            .uri("/dashboard")
            .insert_header(("accept", "text/html"))
            .to_request();
        let refused = test::call_service(&app, request).await;
        assert_eq!(refused.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            refused.headers().get("location").unwrap(),
            "/signin?next=%2Fdashboard"
        );

        // The app's own first factor, then the phone: 202 and the pending-login cookie.
        let request = test::TestRequest::post()
            .uri("/signin")
            .insert_header(("accept", "application/json"))
            .set_form([("user", "alice"), ("password", "correct horse")])
            .to_request();
        let started = test::call_service(&app, request).await;
        assert_eq!(started.status(), StatusCode::ACCEPTED);
        let pending = started
            .response()
            .cookies()
            .next()
            .expect("pending cookie")
            .into_owned();

        // A long poll answers as soon as the phone approved, with the signed-in cookie.
        let request = test::TestRequest::get()
            .uri("/auth/poll?wait=10")
            .cookie(pending)
            .to_request();
        let approved = test::call_service(&app, request).await;
        let cookie = approved
            .response()
            .cookies()
            .next()
            .expect("signed-in cookie")
            .into_owned();
        let body = test::read_body(approved).await;
        assert!(String::from_utf8_lossy(&body).contains(r#""status":"active""#));

        let request = test::TestRequest::get()
            .uri("/dashboard")
            .cookie(cookie)
            .to_request();
        assert_eq!(test::call_and_read_body(&app, request).await, "hi alice");
    }

    #[actix_web::test]
    async fn signed_in_in_one_call() {
        let emulator = Emulator::builder()
            .application("app", "secret")
            .start()
            .await
            .unwrap();
        let builder = Iampass::builder("app", "secret")
            .server(emulator.base_url())
            .cookie_key(&[7u8; 64]);
        let iampass = settings(builder).build().unwrap();
        let cookie = emulator.sign_in(&iampass, "alice").await.unwrap(); // phone registered, login approved
        let app = test::init_service(
            App::new()
                .wrap(iampass.middleware())
                .configure(routes(iampass.clone())),
        )
        .await;
        let request = test::TestRequest::get()
            .uri("/dashboard")
            .cookie(cookie)
            .to_request();
        assert_eq!(test::call_and_read_body(&app, request).await, "hi alice");
    }
}

//! IAMPASS as the second factor: your own password check, then the phone.

use actix_web::http::header::ContentType;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, Responder, ResponseError, web};
use iampass::actix::{Iampass, RequireIampass, SecondFactor};

#[derive(serde::Deserialize)]
struct SignIn {
    user: String,
    password: String,
    next: Option<String>,
}

#[derive(serde::Deserialize)]
struct Next {
    next: Option<String>,
}

/// Your first factor. A stand-in: verify a stored Argon2id hash in constant time instead.
fn password_ok(user: &str, password: &str) -> bool {
    user == "alice" && password == "correct horse"
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /signin?next=…`: where the middleware sends a browser without a session.
async fn sign_in_page(query: web::Query<Next>) -> HttpResponse {
    let next = escape(query.next.as_deref().unwrap_or("/dashboard"));
    HttpResponse::Ok().content_type(ContentType::html()).body(format!(
        r#"<!doctype html><title>Sign in</title>
<form method="post" action="/signin">
  <input type="hidden" name="next" value="{next}">
  <label>User name <input name="user" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button>Sign in</button>
</form>"#
    ))
}

/// `POST /signin`: the password, then the phone.
async fn sign_in(
    req: HttpRequest,
    form: web::Form<SignIn>,
    iampass: web::Data<Iampass>,
) -> HttpResponse {
    // Limit password guessing first: an attempt counts whether it is right or wrong.
    if let Err(limited) = iampass.limit_first_factor(&req, &form.user).await {
        return limited.error_response(); // 429 with Retry-After
    }
    if !password_ok(&form.user, &form.password) {
        return HttpResponse::Unauthorized().body("wrong user name or password");
    }
    let next = form.next.as_deref().unwrap_or("/dashboard"); // only same-site paths are kept
    match iampass
        .start_login(&req, SecondFactor::new(&form.user).next(next))
        .await
    {
        // A form post: 303 to the crate's wait page, which redirects to `next` once approved.
        // `Accept: application/json`: 202 {"poll_url": "/auth/poll"}, for a script to poll.
        Ok(started) => started.into_http_response(),
        // e.reason(): UNKNOWN_USER, NO_MOBILE_DEVICE, rate_limited, iampass_unavailable, ...
        Err(e) => e.error_response(), // JSON {reason, message}; or your own page from them
    }
}

async fn sign_out(req: HttpRequest, iampass: web::Data<Iampass>) -> impl Responder {
    iampass.logout(&req).await
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let iampass = Iampass::from_env()
        .map(|b| {
            b.public_login(false) // nobody makes a phone ring without the password
                .login_path("/signin") // where the middleware and /auth/login send browsers
                // Secure cookie in release builds; plain http://127.0.0.1:8080 in debug ones.
                .cookie_secure(!cfg!(debug_assertions))
        })
        .and_then(|b| b.build())
        .expect("IAMPASS configuration");
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(iampass.clone()))
            .wrap(iampass.middleware())
            .configure(iampass.routes()) // poll, wait page, logout, events
            .route("/signin", web::get().to(sign_in_page))
            .route("/signin", web::post().to(sign_in))
            .route("/signout", web::post().to(sign_out))
            .route(
                "/dashboard",
                web::get().to(|who: RequireIampass| async move { format!("hi {}", who.user()) }),
            )
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}

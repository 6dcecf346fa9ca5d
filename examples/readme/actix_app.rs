//! Add IAMPASS to an actix-web app: the crate's own sign-in page, by user name and phone.

use actix_web::{App, HttpServer, web};
use iampass::actix::{Iampass, IampassIdentity, RequireIampass};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // IAMPASS_APPLICATION_ID, IAMPASS_APPLICATION_SECRET, IAMPASS_COOKIE_KEY (base64, >= 64 bytes)
    let iampass = Iampass::from_env()
        // The cookie is Secure; debug builds drop that for plain-HTTP development.
        .map(|b| b.cookie_secure(!cfg!(debug_assertions)))
        .and_then(|b| b.build())
        .expect("IAMPASS configuration");
    HttpServer::new(move || {
        App::new()
            .wrap(iampass.middleware()) // opens and re-validates the session cookie
            .configure(iampass.routes()) // /auth/login (page + POST), /auth/poll, /auth/logout
            .route(
                "/",
                web::get().to(|who: Option<IampassIdentity>| async move {
                    who.map_or("hello, stranger".to_owned(), |w| {
                        format!("hello {}", w.user())
                    })
                }),
            )
            .route(
                "/dashboard",
                // HTML clients without a session: 303 to /auth/login?next=%2Fdashboard
                web::get().to(|who: RequireIampass| async move {
                    format!("signed in as {}", who.user())
                }),
            )
            .service(
                web::scope("/admin")
                    .wrap(iampass.require())
                    .route("", web::get().to(|| async { "admin" })),
            )
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}

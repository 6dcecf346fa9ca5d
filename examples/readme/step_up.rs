//! Step-up for sensitive actions: a recent (facial) phone approval before showing an API key.

use std::time::Duration;

use actix_web::{App, HttpServer, web};
use iampass::AuthenticationMethod;
use iampass::actix::{Iampass, RecentApproval};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let iampass = Iampass::from_env()
        .map(|b| b.cookie_secure(!cfg!(debug_assertions)))
        .and_then(|b| b.build())
        .expect("IAMPASS configuration");
    HttpServer::new(move || {
        App::new()
            .wrap(iampass.middleware())
            .configure(iampass.routes()) // also GET/POST /auth/step-up
            .service(
                web::scope("/settings")
                    // An approval older than 5 minutes, or not facial: step up first.
                    .wrap(
                        iampass
                            .require_recent(Duration::from_secs(300))
                            .methods([AuthenticationMethod::Facial]),
                    )
                    .route(
                        "/api-key",
                        web::get().to(|who: RecentApproval| async move {
                            format!("{}'s API key: k-1234", who.user())
                        }),
                    ),
            )
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}

//! Add IAMPASS to an axum app: the same sign-in as the actix program, as a tower layer.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use iampass::axum::{Iampass, IampassIdentity, IampassLayer, RequireIampass, RequireIampassLayer};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // IAMPASS_APPLICATION_ID, IAMPASS_APPLICATION_SECRET, IAMPASS_COOKIE_KEY (base64, >= 64 bytes)
    let iampass = Iampass::from_env()
        // The cookie is Secure; debug builds drop that for plain-HTTP development.
        .map(|b| b.cookie_secure(!cfg!(debug_assertions)))
        .and_then(|b| b.build())
        .expect("IAMPASS configuration");
    let admin = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .layer(RequireIampassLayer::new(&iampass)); // every route in it needs a signed-in user
    let app = Router::new()
        .route(
            "/",
            get(|who: Option<IampassIdentity>| async move {
                who.map_or("hello, stranger".to_owned(), |w| {
                    format!("hello {}", w.user())
                })
            }),
        )
        .route(
            "/dashboard",
            // HTML clients without a session: 303 to /auth/login?next=%2Fdashboard
            get(|who: RequireIampass| async move { format!("signed in as {}", who.user()) }),
        )
        .merge(admin)
        .merge(iampass::axum::routes(&iampass)) // /auth/login (page + POST), /auth/poll, /auth/logout
        .layer(IampassLayer::new(&iampass)); // opens and re-validates the session cookie
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    // The client's address (the per-address login limits) comes from ConnectInfo.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await
}

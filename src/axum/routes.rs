//! The crate's routes under the configured prefix ([`routes`]): each reads what it needs of
//! the request, hands it to the core's login state machine and writes its answer.

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::Request;
use http::request::Parts;

use super::request::context_of;
use crate::core::{Handler, Iampass, live_js, login_js};

/// The login routes of `iampass` under its
/// [`routes_prefix`](crate::core::IampassBuilder::routes_prefix) (default `/auth`), the same
/// as the actix adapter's: `GET`/`POST {prefix}/login`, `GET`/`POST {prefix}/step-up`,
/// `GET {prefix}/poll`,
/// `GET {prefix}/login.js`, `POST {prefix}/logout`, `GET {prefix}/events` and
/// `GET {prefix}/live.js`. Merge them into the app's router, inside [`IampassLayer`](super::IampassLayer).
///
/// ```
/// # let iampass = iampass::core::Iampass::builder("a", "s").cookie_key(&[1; 64]).build()?;
/// let app: axum::Router = axum::Router::new()
///     .merge(iampass::axum::routes(&iampass))
///     .layer(iampass::axum::IampassLayer::new(&iampass));
/// # let _ = app;
/// # Ok::<(), iampass::Error>(())
/// ```
pub fn routes<S: Clone + Send + Sync + 'static>(iampass: &Iampass) -> Router<S> {
    let prefix = iampass.routes_prefix();
    let (page, start, status, end, live) = (
        iampass.clone(),
        iampass.clone(),
        iampass.clone(),
        iampass.clone(),
        iampass.clone(),
    );
    let (step_page, step_start) = (iampass.clone(), iampass.clone());
    Router::new()
        .route(
            &format!("{prefix}/step-up"),
            get(move |parts: Parts| async move {
                let handler = Handler::new(&step_page, context_of(&parts.extensions), &parts);
                handler.step_up_page(&parts).await.into_response()
            })
            .post(move |req: Request<Body>| async move {
                let (parts, body) = req.into_parts();
                let handler = Handler::new(&step_start, context_of(&parts.extensions), &parts);
                handler
                    .step_up(&parts, body.into_data_stream())
                    .await
                    .into_response()
            }),
        )
        .route(
            &format!("{prefix}/login"),
            get(move |parts: Parts| async move {
                let handler = Handler::new(&page, context_of(&parts.extensions), &parts);
                handler.login_page(&parts).await.into_response()
            })
            .post(move |req: Request<Body>| async move {
                let (parts, body) = req.into_parts();
                let handler = Handler::new(&start, context_of(&parts.extensions), &parts);
                handler
                    .login(&parts, body.into_data_stream())
                    .await
                    .into_response()
            }),
        )
        .route(
            &format!("{prefix}/poll"),
            get(move |parts: Parts| async move {
                let handler = Handler::new(&status, context_of(&parts.extensions), &parts);
                handler.poll(&parts).await.into_response()
            }),
        )
        .route(
            &format!("{prefix}/login.js"),
            get(|| async { login_js().into_response() }),
        )
        .route(
            &format!("{prefix}/logout"),
            axum::routing::post(move |parts: Parts| async move {
                let handler = Handler::new(&end, context_of(&parts.extensions), &parts);
                handler.logout(&parts).await.into_response()
            }),
        )
        .route(
            &format!("{prefix}/events"),
            get(move |parts: Parts| async move {
                let handler = Handler::new(&live, context_of(&parts.extensions), &parts);
                let reply: Response = handler.events(&parts).await.into_response();
                reply
            }),
        )
        .route(
            &format!("{prefix}/live.js"),
            get(|| async { live_js().into_response() }),
        )
}

//! Step-up on axum: `RequireRecentLayer` and `RecentApproval` answer as the actix guard does,
//! and `GET`/`POST {prefix}/step-up` and the poll complete the step-up.

use serde_json::json;

use super::common::actix_app::sign_in;
use super::common::emulator::emulator;
use super::{builder, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_guard_asks_for_a_step_up_and_lets_a_fresh_approval_in() {
    let emulator = emulator().await;
    let app = serve(builder(&emulator).build().unwrap()).await;
    let mut client = app.client();
    // Anonymous: the plain unauthenticated answer.
    let anonymous = client.get("/settings/api-key").await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.json()["error"], "unauthenticated");

    sign_in(&emulator, &mut client, "axum-sudo").await;
    // The login is recent, but was not facial.
    assert_eq!(client.get("/recent").await.status, 200);
    let stale = client.get("/settings/api-key").await;
    assert_eq!(stale.status, 401, "{}", stale.body);
    assert_eq!(stale.json()["error"], "step_up_required");
    let step_up_url = "/auth/step-up?next=%2Fsettings%2Fapi-key&methods=facial";
    assert_eq!(stale.json()["step_up_url"], step_up_url);
    let html = client.get_html("/settings/api-key").await;
    assert_eq!(html.status, 303);
    assert_eq!(html.header("location"), Some(step_up_url));
    let page = client.get_html(step_up_url).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("axum-sudo"), "{}", page.body);

    let started = client
        .post_json(
            "/auth/step-up",
            json!({"next": "/settings/api-key", "methods": ["facial"]}),
        )
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["status"], "active", "{}", done.body);
    assert_eq!(done.json()["redirect"], "/settings/api-key");
    assert!(client.others.is_empty(), "the step-up cookie is removed");
    let ok = client.get("/settings/api-key").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["methods"], json!(["facial"]));
    assert_eq!(client.get("/dashboard").await.body, "hi axum-sudo");
}

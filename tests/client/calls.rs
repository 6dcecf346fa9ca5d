//! Every call against the scripted server: its method, path, body and signature.

use std::time::Duration;

use iampass::{
    AddUserResult, AddedUsers, AuthenticationMethod, DeviceRegistration, Error, Session, Status,
};
use serde_json::json;

use crate::server::{APP, SECRET, ScriptedServer, started};

#[tokio::test]
async fn add_users_posts_the_user_list_signed() {
    let server = ScriptedServer::answering(
        201,
        json!({"status": true, "users": {"created": ["a b"], "existing": ["c"]}}),
    )
    .await;
    let added = server.management().add_users(&["a b", "c"]).await.unwrap();
    assert_eq!(
        added,
        AddedUsers {
            created: vec!["a b".into()],
            existing: vec!["c".into()]
        }
    );
    let req = server.last();
    assert_eq!(req.method, "POST");
    assert_eq!(req.target, "/management/add_users/app-1");
    assert_eq!(req.headers["content-type"], "application/json");
    assert_eq!(req.json(), json!({"users": ["a b", "c"]}));
    req.assert_signed_with(APP, SECRET);
}

#[tokio::test]
async fn add_user_classifies_like_the_reference_client() {
    let server = ScriptedServer::answering(
        201,
        json!({"status": true, "users": {"created": ["u"], "existing": []}}),
    )
    .await;
    let api = server.management();
    assert_eq!(api.add_user("u").await.unwrap(), AddUserResult::Success);
    server.set_reply(
        201,
        json!({"status": true, "users": {"created": [], "existing": ["u"]}}),
    );
    assert_eq!(api.add_user("u").await.unwrap(), AddUserResult::UserExists);
    server.set_reply(
        201,
        json!({"status": true, "users": {"created": [], "existing": []}}),
    );
    assert_eq!(
        api.add_user("u").await.unwrap(),
        AddUserResult::Failed { reason: None }
    );
    server.set_reply(200, json!({"status": false, "reason": "LIMIT"}));
    assert_eq!(
        api.add_user("u").await.unwrap(),
        AddUserResult::Failed {
            reason: Some("LIMIT".into())
        }
    );
    assert!(
        matches!(api.add_users(&["u"]).await, Err(Error::Refused { reason: Some(r) }) if r == "LIMIT")
    );
    assert!(matches!(
        api.add_user("").await,
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(server.requests().len(), 5, "an empty user id sends nothing");
    assert_eq!(server.last().json(), json!({"users": ["u"]}));
}

#[tokio::test]
async fn delete_users_and_delete_user() {
    let server = ScriptedServer::answering(200, json!({"status": true})).await;
    let api = server.management();
    api.delete_users(&["a", "b"]).await.unwrap();
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/management/delete_users/app-1")
    );
    assert_eq!(req.json(), json!({"users": ["a", "b"]}));
    req.assert_signed_with(APP, SECRET);
    api.delete_user("a/b").await.unwrap();
    assert_eq!(server.last().json(), json!({"users": ["a/b"]}));
    server.set_reply(200, json!({"status": false}));
    assert!(matches!(
        api.delete_user("a").await,
        Err(Error::Refused { reason: None })
    ));
}

#[tokio::test]
async fn registration_link_encodes_user_and_display_name() {
    let server =
        ScriptedServer::answering(200, json!({"status": true, "register_url": "http://r/1"})).await;
    let api = server.management();
    let link = api
        .get_registration_link("MY USER+1/é", Some("Ann O'Neil & co"))
        .await
        .unwrap();
    assert_eq!(link, "http://r/1");
    let req = server.last();
    assert_eq!(req.method, "GET");
    assert_eq!(
        req.target,
        "/management/device_registration_link/app-1/MY+USER%2B1%2F%C3%A9?display_name=Ann+O%27Neil+%26+co"
    );
    assert!(req.body.is_empty());
    req.assert_signed_with(APP, SECRET);
    api.get_registration_link("u", None).await.unwrap();
    assert_eq!(
        server.last().target,
        "/management/device_registration_link/app-1/u"
    );
    server.set_reply(200, json!({"status": true}));
    assert!(matches!(
        api.get_registration_link("u", None).await,
        Err(Error::Protocol(_))
    ));
}

#[tokio::test]
async fn registration_sms_sends_the_optional_fields_only_when_given() {
    let server = ScriptedServer::answering(200, json!({"status": true})).await;
    let api = server.management();
    api.send_registration_sms("u 1", Some("U"), "+15550100", Some("hi"))
        .await
        .unwrap();
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/management/send_registration_sms/app-1/u+1")
    );
    assert_eq!(
        req.json(),
        json!({"phone_number": "+15550100", "display_name": "U", "message": "hi"})
    );
    req.assert_signed_with(APP, SECRET);
    api.send_registration_sms("u", None, "+15550100", None)
        .await
        .unwrap();
    assert_eq!(server.last().json(), json!({"phone_number": "+15550100"}));
    assert!(matches!(
        api.send_registration_sms("u", None, "", None).await,
        Err(Error::InvalidArgument(_))
    ));
    server.set_reply(200, json!({"status": false, "reason": "BAD_NUMBER"}));
    assert!(matches!(
        api.send_registration_sms("u", None, "+1", None).await,
        Err(Error::Refused { reason: Some(r) }) if r == "BAD_NUMBER"
    ));
}

#[tokio::test]
async fn has_registered_mobile_device_and_lost_device() {
    let server =
        ScriptedServer::answering(200, json!({"status": true, "device_registered": true})).await;
    let api = server.management();
    assert_eq!(
        api.has_registered_mobile_device("x@y.z").await.unwrap(),
        DeviceRegistration::HasMobileDevice
    );
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        (
            "GET",
            "/management/has_registered_mobile_device/app-1/x%40y.z"
        )
    );
    req.assert_signed_with(APP, SECRET);
    server.set_reply(200, json!({"status": true, "device_registered": false}));
    assert_eq!(
        api.has_registered_mobile_device("u").await.unwrap(),
        DeviceRegistration::NoMobileDevice
    );
    server.set_reply(200, json!({"status": true}));
    assert!(matches!(
        api.has_registered_mobile_device("u").await,
        Err(Error::Protocol(_))
    ));

    server.set_reply(200, json!({"status": true, "register_url": "http://r/2"}));
    assert_eq!(
        api.lost_user_mobile_device("u").await.unwrap(),
        "http://r/2"
    );
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("GET", "/management/lost_user_mobile_device/app-1/u")
    );
    req.assert_signed_with(APP, SECRET);
}

#[tokio::test]
async fn authenticate_then_status_then_logout_signed_with_the_session() {
    let server = ScriptedServer::answering(202, json!({})).await;
    server.set_reply(202, started(&server));
    let api = server.authentication();
    let mut session = api.authenticate_user("a b").await.unwrap();
    assert_eq!(session.session_status(), Status::Pending);
    assert!(session.in_progress());
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/authentication/authenticate_user/app-1/a+b")
    );
    assert_eq!(req.json(), json!({}));
    req.assert_signed_with(APP, SECRET);

    server.set_reply(
        200,
        json!({"authentication_status": {"authenticated": true, "session_status": "active"}}),
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Active);
    assert!(session.active());
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("GET", "/authentication/status/tok-1")
    );
    req.assert_signed_with("tok-1", "sess-secret");

    server.set_reply(200, json!({"status": true}));
    session.destroy().await.unwrap();
    assert_eq!(session.session_status(), Status::Closed);
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/authentication/logout/tok-1")
    );
    req.assert_signed_with("tok-1", "sess-secret");
}

#[tokio::test]
async fn authenticate_with_methods_and_duration_sends_the_query() {
    let server = ScriptedServer::answering(202, json!({})).await;
    server.set_reply(202, started(&server));
    let api = server.authentication();
    api.authenticate_user_with(
        "u",
        &[
            AuthenticationMethod::Acceptance,
            AuthenticationMethod::Facial,
        ],
        Some(Duration::from_secs(90)),
    )
    .await
    .unwrap();
    let req = server.last();
    assert_eq!(
        req.target,
        "/authentication/authenticate_user/app-1/u?methods=acceptance,facial&duration_seconds=90"
    );
    req.assert_signed_with(APP, SECRET);
}

#[tokio::test]
async fn a_request_that_did_not_start_is_a_failed_session_with_its_reason() {
    let server = ScriptedServer::answering(
        200,
        json!({"authentication_status": {"authenticated": false, "session_status": "failed",
               "reason": "NO_MOBILE_DEVICE", "session_token": null, "session_secret": null,
               "status_url": null, "logout_url": null}}),
    )
    .await;
    let mut session = server
        .authentication()
        .authenticate_user("u")
        .await
        .unwrap();
    assert!(session.failed());
    assert_eq!(session.failure_reason(), Some("NO_MOBILE_DEVICE"));
    assert!(matches!(
        session.get_status().await,
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(
        server.requests().len(),
        1,
        "a session that never started calls nothing"
    );
}

#[tokio::test]
async fn a_restored_session_uses_the_attached_client() {
    let server = ScriptedServer::answering(
        200,
        json!({"authentication_status": {"authenticated": true, "session_status": "walkaway"}}),
    )
    .await;
    let json = Session::new(
        "tok-9",
        "s9",
        format!("{}/authentication/status/tok-9", server.url),
        format!("{}/authentication/logout/tok-9", server.url),
        Status::Active,
    )
    .to_json();
    let session = server
        .authentication()
        .attach(Session::from_json(&json).unwrap());
    assert_eq!(session.fetch_status().await.unwrap(), Status::Walkaway);
    assert_eq!(
        session.session_status(),
        Status::Active,
        "fetch_status does not store"
    );
    server.last().assert_signed_with("tok-9", "s9");
}

//! The crate's own client through every management and authentication call, several
//! applications side by side, and user ids that need encoding.

use super::*;

#[tokio::test]
async fn the_client_through_every_management_call() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();

    assert_eq!(
        management
            .add_users(&["alice", "bob", "alice"])
            .await
            .unwrap(),
        AddedUsers {
            created: vec!["alice".into(), "bob".into()],
            existing: vec![]
        }
    );
    assert_eq!(
        management.add_users(&["bob", "carol"]).await.unwrap(),
        AddedUsers {
            created: vec!["carol".into()],
            existing: vec!["bob".into()]
        }
    );
    assert_eq!(
        management.add_user("alice").await.unwrap(),
        AddUserResult::UserExists
    );
    assert_eq!(
        management.add_user("dave").await.unwrap(),
        AddUserResult::Success
    );

    // Registration link: opens the phone page; using it registers the phone, once.
    assert_eq!(
        registration_of(&management, "alice").await,
        DeviceRegistration::NoMobileDevice
    );
    let link = management
        .get_registration_link("alice", Some("Alice Liddell"))
        .await
        .unwrap();
    let prefix = format!("{}/phone/register/", emulator.base_url());
    assert!(link.starts_with(&prefix), "{link}");
    let http = reqwest::Client::new();
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Alice Liddell"), "{html}");
    assert!(html.contains(r#"<button type="button" data-action="register""#));
    let token = &link[prefix.len()..];
    let register = format!("{}/_emulator/registrations/{token}", emulator.base_url());
    let (status, body) = control(&http, Method::POST, register.clone(), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"], "alice");
    assert_eq!(
        registration_of(&management, "alice").await,
        DeviceRegistration::HasMobileDevice
    );
    let (status, _) = control(&http, Method::POST, register, None).await;
    assert_eq!(status, StatusCode::GONE, "a link works once");
    let html = get_text(&http, &link).await;
    assert!(html.contains("already used"));
    assert!(!html.contains(r#"<button type="button" data-action="register""#));

    // SMS: lands in the outbox with the link appended.
    management
        .send_registration_sms("bob", Some("Bob"), "+15551234567", Some("Welcome!"))
        .await
        .unwrap();
    management
        .send_registration_sms("carol", None, "+447700900123", None)
        .await
        .unwrap();
    let refused = management
        .send_registration_sms("bob", None, "not a number", None)
        .await;
    assert!(
        matches!(refused, Err(Error::Refused { ref reason }) if reason.as_deref() == Some("INVALID_PHONE_NUMBER")),
        "{refused:?}"
    );
    let sms = emulator.sms().await.unwrap();
    assert_eq!(sms.len(), 2);
    assert_eq!((sms[0].app_id.as_str(), sms[0].user.as_str()), (APP, "bob"));
    assert_eq!(sms[0].phone_number, "+15551234567");
    assert!(sms[0].register_url.starts_with(&prefix));
    assert_eq!(sms[0].message, format!("Welcome! {}", sms[0].register_url));
    assert!(sms[1].message.ends_with(&sms[1].register_url));
    // The SMS link registers the phone too.
    let token = &sms[0].register_url[prefix.len()..];
    let (status, _) = control(
        &http,
        Method::POST,
        format!("{}/_emulator/registrations/{token}", emulator.base_url()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        registration_of(&management, "bob").await,
        DeviceRegistration::HasMobileDevice
    );

    // Lost phone: disabled, a new link issued, older links revoked.
    let old_link = management.get_registration_link("bob", None).await.unwrap();
    let new_link = management.lost_user_mobile_device("bob").await.unwrap();
    assert!(new_link.starts_with(&prefix) && new_link != old_link);
    assert_eq!(
        registration_of(&management, "bob").await,
        DeviceRegistration::NoMobileDevice
    );
    let (status, _) = control(
        &http,
        Method::POST,
        format!(
            "{}/_emulator/registrations/{}",
            emulator.base_url(),
            &old_link[prefix.len()..]
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::GONE, "older links die with the phone");

    // Unknown users on management routes are 404s.
    for result in [
        management
            .get_registration_link("zed", None)
            .await
            .map(drop),
        management
            .send_registration_sms("zed", None, "+15551234567", None)
            .await,
        management
            .has_registered_mobile_device("zed")
            .await
            .map(drop),
        management.lost_user_mobile_device("zed").await.map(drop),
    ] {
        let err = result.unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
    }

    // Deleting users; deleting unknown users is harmless.
    management.delete_users(&["carol", "nobody"]).await.unwrap();
    management.delete_user("dave").await.unwrap();
    assert!(
        management
            .has_registered_mobile_device("carol")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(
        management.add_user("carol").await.unwrap(),
        AddUserResult::Success
    );
    let apps = emulator.applications().await.unwrap();
    let app = apps.iter().find(|a| a.app_id == APP).unwrap();
    assert_eq!(app.users, 3, "{apps:?}"); // alice, bob, carol (again); dave deleted
    emulator.shutdown().await;
}

#[tokio::test]
async fn authentication_through_the_client_status_and_logout() {
    let emulator = emulator().await;
    let auth = emulator.authentication_api(APP).unwrap();
    let management = emulator.management_api(APP).unwrap();

    // Did not start: unknown user, user without phone.
    let s = auth.authenticate_user("ghost").await.unwrap();
    assert_eq!(
        (s.session_status(), s.failure_reason()),
        (Status::Failed, Some("UNKNOWN_USER"))
    );
    assert!(s.session_token().is_none());
    management.add_user("alice").await.unwrap();
    let s = auth.authenticate_user("alice").await.unwrap();
    assert_eq!(
        (s.session_status(), s.failure_reason()),
        (Status::Failed, Some("NO_MOBILE_DEVICE"))
    );
    assert_eq!(
        serde_json::from_str::<Value>(&s.to_json()).unwrap(),
        json!({"session_token": null, "session_secret": null, "logout_url": null,
               "status_url": null, "failure_reason": "NO_MOBILE_DEVICE", "session_status": "failed"})
    );

    emulator.register_device(APP, "alice").await.unwrap();
    let mut session = auth
        .authenticate_user_with(
            "alice",
            &[AuthenticationMethod::Facial, AuthenticationMethod::Device],
            Some(Duration::from_secs(600)),
        )
        .await
        .unwrap();
    assert_eq!(session.session_status(), Status::Pending);
    let token = session.session_token().unwrap().to_owned();
    assert_eq!(
        session.status_url().unwrap(),
        format!("{}/authentication/status/{token}", emulator.base_url())
    );
    assert_eq!(
        session.logout_url().unwrap(),
        format!("{}/authentication/logout/{token}", emulator.base_url())
    );
    let listed = emulator.sessions(Some(APP), Some("alice")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].session_token, token);
    assert_eq!(
        listed[0].methods,
        vec![AuthenticationMethod::Facial, AuthenticationMethod::Device]
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Pending);

    // The session JSON survives a round trip and still works.
    let mut restored = auth.attach(Session::from_json(&session.to_json()).unwrap());
    session_action(&emulator, &token, SessionAction::Approve).await;
    assert_eq!(restored.get_status().await.unwrap(), Status::Active);
    assert!(restored.active());
    restored.destroy().await.unwrap();
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);
    // Logging out again is harmless.
    session.destroy().await.unwrap();
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);

    // Default methods.
    let (_, token) = start_session(&emulator, APP, "alice").await;
    let listed = emulator.sessions(Some(APP), Some("alice")).await.unwrap();
    let s = listed.iter().find(|s| s.session_token == token).unwrap();
    assert_eq!(s.methods, vec![AuthenticationMethod::Acceptance]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn applications_are_isolated() {
    let emulator = emulator().await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let m2 = emulator.management_api(APP2).unwrap();
    assert!(
        m2.has_registered_mobile_device("alice")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(m2.add_user("alice").await.unwrap(), AddUserResult::Success);
    assert_eq!(
        m2.has_registered_mobile_device("alice").await.unwrap(),
        DeviceRegistration::NoMobileDevice
    );
    let (_, t1) = start_session(&emulator, APP, "alice").await;
    let s2 = emulator
        .authentication_api(APP2)
        .unwrap()
        .authenticate_user("alice")
        .await
        .unwrap();
    assert_eq!(s2.failure_reason(), Some("NO_MOBILE_DEVICE"));
    assert!(
        emulator
            .sessions(Some(APP2), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        emulator.sessions(Some(APP), None).await.unwrap()[0].session_token,
        t1
    );
    m2.send_registration_sms("alice", None, "+15551234567", None)
        .await
        .unwrap();
    let sms = emulator.sms().await.unwrap();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].app_id, APP2);

    // One application's credentials open nothing of another's.
    let http = reqwest::Client::new();
    let url = format!(
        "{}/management/has_registered_mobile_device/{APP}/alice",
        emulator.base_url()
    );
    let (status, _) = status_and_text(signed(&http, Method::GET, &url, APP2, SECRET2)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = status_and_text(signed(&http, Method::GET, &url, APP, SECRET2)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Applications added at run time, through the library and the control API.
    emulator.add_application("app-3", "secret-3");
    let m3 = emulator.management_api("app-3").unwrap();
    assert_eq!(m3.add_user("x").await.unwrap(), AddUserResult::Success);
    let (status, body) = control(
        &http,
        Method::POST,
        format!("{}/_emulator/applications", emulator.base_url()),
        Some(json!({"app_id": "app-4", "secret": "secret-4"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let m4 = iampass::ManagementApi::builder("app-4", "secret-4")
        .server(emulator.base_url())
        .build()
        .unwrap();
    assert_eq!(m4.add_user("y").await.unwrap(), AddUserResult::Success);
    let apps = emulator.applications().await.unwrap();
    let ids: Vec<(&str, usize)> = apps.iter().map(|a| (a.app_id.as_str(), a.users)).collect();
    assert_eq!(ids, vec![(APP, 1), (APP2, 1), ("app-3", 1), ("app-4", 1)]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn odd_user_ids_work_end_to_end() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();
    let auth = emulator.authentication_api(APP).unwrap();
    let long = "ü".repeat(1000);
    let ids = [
        "MY USER 1",
        " padded ",
        "a+b",
        "a/b/c",
        "100%",
        "x@y.z",
        "q?uery=1&x#frag",
        "é unicode ✓ 日本語",
        "<script>alert(1)</script>",
        long.as_str(),
    ];
    for id in ids {
        assert_eq!(
            management.add_user(id).await.unwrap(),
            AddUserResult::Success,
            "{id}"
        );
        assert_eq!(
            registration_of(&management, id).await,
            DeviceRegistration::NoMobileDevice
        );
        let link = management
            .get_registration_link(id, Some(id))
            .await
            .unwrap();
        assert!(link.contains("/phone/register/"));
        emulator.register_device(APP, id).await.unwrap();
        assert_eq!(
            registration_of(&management, id).await,
            DeviceRegistration::HasMobileDevice
        );
        let mut session = auth.authenticate_user(id).await.unwrap();
        assert_eq!(session.session_status(), Status::Pending, "{id}");
        let listed = emulator.sessions(Some(APP), Some(id)).await.unwrap();
        assert_eq!(listed.len(), 1, "{id}");
        assert_eq!(listed[0].user, id);
        session_action(&emulator, &listed[0].session_token, SessionAction::Approve).await;
        assert_eq!(session.get_status().await.unwrap(), Status::Active);
        session.destroy().await.unwrap();
    }
    // The phone page shows them, escaped.
    let http = reqwest::Client::new();
    let html = get_text(&http, emulator.phone_url()).await;
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(html.contains("é unicode ✓ 日本語"));
    for id in ids {
        management.delete_user(id).await.unwrap();
    }
    assert_eq!(emulator.applications().await.unwrap()[0].users, 0);
    emulator.shutdown().await;
}

//! The control API over HTTP, injected faults and request counters.

use super::*;

#[tokio::test]
async fn the_control_api_over_http() {
    let emulator = emulator().await;
    let http = reqwest::Client::new();
    let base = emulator.base_url().to_owned();
    let c = |method: Method, path: &str, body: Option<Value>| {
        let url = format!("{base}{path}");
        let http = &http;
        async move { control(http, method, url, body).await }
    };

    let (status, apps) = c(Method::GET, "/_emulator/applications", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        apps,
        json!([{"app_id": APP, "users": 0}, {"app_id": APP2, "users": 0}])
    );
    assert!(!apps.to_string().contains(SECRET));
    for bad in [json!({"app_id": "", "secret": "s"}), json!({"app_id": "x"})] {
        let (status, body) = c(Method::POST, "/_emulator/applications", Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"].is_string());
    }

    // Devices: the user is created; segments are quote_plus-encoded.
    let user = "MY USER/1";
    let path = format!("/_emulator/devices/{APP}/{}", quote_plus(user));
    let (status, body) = c(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"], user);
    let (status, _) = c(Method::POST, "/_emulator/devices/nope/x", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, devices) = c(Method::GET, "/_emulator/devices?app_id=app-1", None).await;
    assert_eq!(devices[0]["user"], user);

    // Sessions, filters, actions.
    let auth = emulator.authentication_api(APP).unwrap();
    let first = auth.authenticate_user(user).await.unwrap();
    user_with_phone_in(&emulator, APP, "other").await;
    let second = auth.authenticate_user("other").await.unwrap();
    let (_, all) = c(Method::GET, "/_emulator/sessions", None).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["session_token"], first.session_token().unwrap());
    assert_eq!(all[1]["session_token"], second.session_token().unwrap());
    assert_eq!(
        all[0],
        json!({"session_token": first.session_token().unwrap(), "app_id": APP, "user": user,
               "session_status": "pending", "methods": ["acceptance"]})
    );
    let (_, filtered) = c(
        Method::GET,
        &format!("/_emulator/sessions?app_id={APP}&user={}", quote_plus(user)),
        None,
    )
    .await;
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    let (_, none) = c(Method::GET, "/_emulator/sessions?app_id=app-2", None).await;
    assert_eq!(none, json!([]));
    let token = first.session_token().unwrap();
    let act = |action: &str| {
        c(
            Method::POST,
            &format!("/_emulator/sessions/{token}/{action}"),
            None,
        )
    };
    let (status, body) = act("approve").await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"session_status": "active"}))
    );
    let (status, body) = act("approve").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["session_status"], "active");
    assert!(body["error"].is_string());
    let (status, _) = act("dance").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = c(Method::POST, "/_emulator/sessions/nope/approve", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
    let (status, one) = c(Method::GET, &format!("/_emulator/sessions/{token}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["session_status"], "active");

    // Behaviour.
    let path = format!("/_emulator/users/{APP}/{}/behaviour", quote_plus(user));
    let (status, body) = c(
        Method::PUT,
        &path,
        Some(json!({"respond": "deny", "after_ms": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = c(Method::GET, &path, None).await;
    assert_eq!(body, json!({"respond": "deny", "after_ms": 0}));
    for bad in [
        json!({"respond": "shrug"}),
        json!({"after_ms": 5}),
        json!({"respond": "approve", "after_ms": -1}),
    ] {
        let (status, _) = c(Method::PUT, &path, Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let s = auth.authenticate_user(user).await.unwrap();
    assert_eq!(s.session_status(), Status::Failed, "denied at once");

    // SMS, faults, stats.
    let (status, sms) = c(Method::GET, "/_emulator/sms", None).await;
    assert_eq!((status, sms), (StatusCode::OK, json!([])));
    let (status, body) = c(
        Method::PUT,
        "/_emulator/faults",
        Some(json!({"latency_ms": 0, "error_rate": 0.0, "error_status": 500})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error_status"], 500);
    for bad in [
        json!({"error_rate": 2.0}),
        json!({"error_status": 42}),
        json!({"latency_ms": "slow"}),
    ] {
        let (status, _) = c(Method::PUT, "/_emulator/faults", Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (status, stats) = c(Method::GET, "/_emulator/stats", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["routes"]["authenticate_user"], 3);
    let (status, body) = c(Method::GET, "/_emulator/nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
    let (status, _) = c(Method::PUT, "/_emulator/faults", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "missing body");

    // The phone's JSON.
    let (status, phone) = c(Method::GET, "/_emulator/phone?app_id=app-1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(phone["sessions"][0]["session_token"], token);
    assert_eq!(phone["pending"][0]["user"], "other");
    assert_eq!(phone["devices"].as_array().unwrap().len(), 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn faults_hit_the_wire_api_only() {
    let emulator = emulator().await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let management = emulator.management_api(APP).unwrap();
    let http = reqwest::Client::new();

    emulator
        .set_faults(every_call_delayed_by(Duration::from_millis(1500)))
        .await
        .unwrap();
    let started = Instant::now();
    management
        .has_registered_mobile_device("alice")
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // The control API and the phone page are not slowed down.
    let started = Instant::now();
    emulator.sessions(None, None).await.unwrap();
    let page = http.get(emulator.phone_url()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(1000));

    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    let err = management
        .has_registered_mobile_device("alice")
        .await
        .unwrap_err();
    assert!(err.is_outage(), "{err:?}");
    assert_eq!(err.status(), Some(503));
    let err = emulator
        .authentication_api(APP)
        .unwrap()
        .authenticate_user("alice")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(emulator.sms().await.is_ok());

    emulator
        .set_faults(every_call_fails_with(429))
        .await
        .unwrap();
    let err = management.add_user("bob").await.unwrap_err();
    assert_eq!(err.status(), Some(429));

    // About half fail at 0.5.
    emulator
        .set_faults(Faults {
            error_rate: 0.5,
            ..Faults::default()
        })
        .await
        .unwrap();
    let mut failures = 0;
    for _ in 0..200 {
        if management
            .has_registered_mobile_device("alice")
            .await
            .is_err()
        {
            failures += 1;
        }
    }
    assert!((40..=160).contains(&failures), "{failures} of 200 failed");

    emulator.set_faults(Faults::default()).await.unwrap();
    assert_eq!(
        registration_of(&management, "alice").await,
        DeviceRegistration::HasMobileDevice
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn injected_errors_carry_retry_after_only_when_it_is_set() {
    let emulator = emulator().await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let management = emulator.management_api(APP).unwrap();
    let http = reqwest::Client::new();
    let faults_url = format!("{}/_emulator/faults", emulator.base_url());
    // Faults are injected before the signature is looked at: a bare request meets them.
    let wire_url = format!(
        "{}/management/has_registered_mobile_device/{APP}/alice",
        emulator.base_url()
    );
    let injected_retry_after = || async {
        let answer = http.get(&wire_url).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        answer
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned())
    };

    // By default an injected error asks for no particular wait.
    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    assert_eq!(injected_retry_after().await, None);
    let (_, faults) = control(&http, Method::GET, faults_url.clone(), None).await;
    assert_eq!(faults["retry_after_secs"], Value::Null);

    emulator
        .set_faults(Faults {
            retry_after: Some(Duration::from_secs(3)),
            ..every_call_fails_with(503)
        })
        .await
        .unwrap();
    assert_eq!(injected_retry_after().await.as_deref(), Some("3"));
    // The crate's own client reads it from the real answer.
    let err = management
        .has_registered_mobile_device("alice")
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)), "{err:?}");
    let (_, faults) = control(&http, Method::GET, faults_url.clone(), None).await;
    assert_eq!(faults["retry_after_secs"], 3);

    // Bad values are refused with a message naming the field, and change nothing.
    for bad in [
        json!(-1),
        json!(1.5),
        json!("3"),
        json!(86_401),
        json!(u64::MAX),
    ] {
        let body = json!({"error_rate": 1.0, "retry_after_secs": bad});
        let (status, answer) = control(&http, Method::PUT, faults_url.clone(), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains("retry_after_secs"), "{bad}: {message}");
    }
    let err = emulator
        .set_faults(Faults {
            retry_after: Some(Duration::from_secs(86_401)),
            ..Faults::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert_eq!(injected_retry_after().await.as_deref(), Some("3"));

    // `null` clears it, as leaving it out does.
    let body = json!({"error_rate": 1.0, "retry_after_secs": null});
    let (status, _) = control(&http, Method::PUT, faults_url.clone(), Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(injected_retry_after().await, None);
    emulator.set_faults(Faults::default()).await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn stats_count_requests_per_route() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();
    let auth = emulator.authentication_api(APP).unwrap();
    user_with_phone_in(&emulator, APP, "alice").await;
    emulator.reset_stats().await.unwrap();
    assert_eq!(emulator.stats().await.unwrap().total(), 0);

    management.add_users(&["a", "b"]).await.unwrap();
    management.delete_user("a").await.unwrap();
    management.get_registration_link("b", None).await.unwrap();
    management
        .send_registration_sms("b", None, "+15551234567", None)
        .await
        .unwrap();
    management.has_registered_mobile_device("b").await.unwrap();
    management.has_registered_mobile_device("b").await.unwrap();
    management.lost_user_mobile_device("b").await.unwrap();
    let mut session = auth.authenticate_user("alice").await.unwrap();
    for _ in 0..5 {
        session.get_status().await.unwrap();
    }
    session.destroy().await.unwrap();
    // Refused requests count too.
    let http = reqwest::Client::new();
    let url = session.status_url().unwrap();
    let _ = signed(&http, Method::GET, url, "x", "y")
        .send()
        .await
        .unwrap();

    let stats = emulator.stats().await.unwrap();
    for (route, count) in [
        ("add_users", 1),
        ("delete_users", 1),
        ("device_registration_link", 1),
        ("send_registration_sms", 1),
        ("has_registered_mobile_device", 2),
        ("lost_user_mobile_device", 1),
        ("authenticate_user", 1),
        ("status", 6),
        ("logout", 1),
    ] {
        assert_eq!(stats.route_count(route), count, "{route}");
    }
    assert_eq!(stats.total(), 15);
    assert_eq!(
        stats.routes.keys().collect::<Vec<_>>().len(),
        iampass::emulator::ROUTES.len()
    );
    emulator.shutdown().await;
}

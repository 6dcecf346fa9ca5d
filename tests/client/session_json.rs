//! A session's JSON (the spec's documents, every status) and its `Debug` output.

use iampass::{AuthenticationApi, ManagementApi, Session, Status};
use serde_json::Value;

#[test]
fn session_json_loads_the_spec_documents_and_round_trips() {
    let active = r#"{"session_token": "tok", "session_secret": "sec", "logout_url": "http://x/logout",
 "status_url": "http://x/status", "failure_reason": null, "session_status": "active"}"#;
    let session = Session::from_json(active).unwrap();
    assert!(session.active() && !session.failed() && !session.in_progress());
    assert_eq!(session.session_token(), Some("tok"));
    assert_eq!(session.session_secret().unwrap().expose(), "sec");
    assert_eq!(session.status_url(), Some("http://x/status"));
    assert_eq!(session.logout_url(), Some("http://x/logout"));
    let written: Value = serde_json::from_str(&session.to_json()).unwrap();
    assert_eq!(written, serde_json::from_str::<Value>(active).unwrap());
    assert_eq!(Session::from_json(&session.to_json()).unwrap(), session);

    let failed = r#"{"session_token": null, "session_secret": null, "logout_url": null, "status_url": null, "failure_reason": "NO_MOBILE_DEVICE", "session_status": "failed"}"#;
    let session = Session::from_json(failed).unwrap();
    assert!(session.failed());
    assert_eq!(session.failure_reason(), Some("NO_MOBILE_DEVICE"));
    assert_eq!(session.session_token(), None);
    let written: Value = serde_json::from_str(&session.to_json()).unwrap();
    assert_eq!(written, serde_json::from_str::<Value>(failed).unwrap());
}

#[test]
fn every_status_round_trips_and_classifies_like_the_reference() {
    for status in Status::ALL {
        let s = Session::new("t", "s", "http://x/s", "http://x/l", status);
        let back = Session::from_json(&s.to_json()).unwrap();
        assert_eq!(back.session_status(), status);
        assert_eq!(status.as_str().parse::<Status>().unwrap(), status);
        assert_eq!(
            back.failed(),
            matches!(status, Status::Failed | Status::Timeout | Status::Cancelled)
        );
        assert_eq!(
            back.in_progress(),
            matches!(status, Status::Pending | Status::Identifying)
        );
        assert_eq!(back.active(), status == Status::Active);
    }
    assert!(Session::from_json(r#"{"session_status": "bogus"}"#).is_err());
    assert!(Session::from_json("not json").is_err());
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let session = Session::new(
        "tok",
        "very-secret-value",
        "http://x/s",
        "http://x/l",
        Status::Active,
    );
    assert!(!format!("{session:?}").contains("very-secret-value"));
    let api = ManagementApi::builder("app", "another-secret-value")
        .server("http://127.0.0.1:1")
        .build()
        .unwrap();
    assert!(!format!("{api:?}").contains("another-secret-value"));
    let builder = AuthenticationApi::builder("app", "third-secret-value");
    assert!(!format!("{builder:?}").contains("third-secret-value"));
}

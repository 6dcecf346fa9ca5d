//! Reading IAMPASS's status and logout answers.

use super::*;

/// Answers that are no status answer at all: both readers refuse them.
const NOT_STATUS_ANSWERS: [&[u8]; 8] = [
    b"{}",
    b"[]",
    b"5",
    b"",
    br#"{"status": true}"#,
    br#"{"authentication_status": 5}"#,
    br#"{"authentication_status": {"session_status": "weird"}}"#,
    br#"{"authenticated": "yes"}"#,
];

#[test]
fn status_answers_are_read_wrapped_or_flat() {
    let wrapped =
        br#"{"authentication_status": {"authenticated": true, "session_status": "active"}}"#;
    let flat = br#"{"authenticated": true, "session_status": "walkaway"}"#;
    let only_status = br#"{"session_status": "closed"}"#;
    assert_eq!(
        AuthenticationStatus::from_answer(wrapped)
            .unwrap()
            .session_status,
        Some(Status::Active)
    );
    let read = AuthenticationStatus::from_answer(flat).unwrap();
    assert_eq!(read.session_status, Some(Status::Walkaway));
    assert_eq!(read.authenticated, Some(true));
    assert_eq!(
        AuthenticationStatus::from_answer(only_status)
            .unwrap()
            .session_status,
        Some(Status::Closed)
    );
    for bad in NOT_STATUS_ANSWERS {
        assert!(
            matches!(
                AuthenticationStatus::from_answer(bad),
                Err(Error::Protocol(_))
            ),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn the_status_call_reads_answers_as_from_answer_does() {
    for (answer, status) in [
        (
            &br#"{"authentication_status": {"authenticated": true, "session_status": "active"}}"#[..],
            Status::Active,
        ),
        (
            br#"{"authenticated": true, "session_status": "walkaway"}"#,
            Status::Walkaway,
        ),
        (br#"{"session_status": "closed"}"#, Status::Closed),
        (
            br#"{"authentication_status": {"session_status": "pending", "status_url": "u",
                "extra": [1, {"a": null}]}, "session_status": "active"}"#,
            Status::Pending,
        ),
    ] {
        assert_eq!(
            status_of_answer(answer).unwrap(),
            status,
            "{}",
            String::from_utf8_lossy(answer)
        );
    }
    let without_a_status: [&[u8]; 2] = [
        br#"{"authentication_status": {"authenticated": true}}"#,
        br#"{"authenticated": true}"#,
    ];
    for bad in NOT_STATUS_ANSWERS.into_iter().chain(without_a_status) {
        assert!(
            matches!(status_of_answer(bad), Err(Error::Protocol(_))),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn only_status_false_is_a_logout_refusal() {
    assert_eq!(
        logout_refusal(br#"{"status": false, "reason": "UNKNOWN_SESSION"}"#),
        Some(Some("UNKNOWN_SESSION".into()))
    );
    assert_eq!(logout_refusal(br#"{"status": false}"#), Some(None));
    for ok in [
        &br#"{"status": true}"#[..],
        b"",
        b"{}",
        b"null",
        b"ok",
        br#"{"status": "false"}"#,
    ] {
        assert_eq!(logout_refusal(ok), None, "{}", String::from_utf8_lossy(ok));
    }
}

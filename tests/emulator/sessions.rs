//! The session state machine over HTTP: every transition through the control API, timeouts
//! and expiry, sessions that close with their user or phone, and scripted phones.

use super::*;

#[tokio::test]
async fn every_session_transition_through_the_control_api() {
    let emulator = emulator().await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let act = |token: String, action| {
        let emulator = &emulator;
        async move { emulator.session_action(&token, action).await }
    };

    // pending → identifying → active ↔ walkaway → closed
    let (mut session, t) = start_session(&emulator, APP, "alice").await;
    assert_eq!(
        act(t.clone(), SessionAction::Identify).await.unwrap(),
        Status::Identifying
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Identifying);
    assert_eq!(
        act(t.clone(), SessionAction::Approve).await.unwrap(),
        Status::Active
    );
    assert_eq!(
        act(t.clone(), SessionAction::Walkaway).await.unwrap(),
        Status::Walkaway
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Walkaway);
    assert_eq!(
        act(t.clone(), SessionAction::Return).await.unwrap(),
        Status::Active
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Active);
    assert_eq!(
        act(t.clone(), SessionAction::Close).await.unwrap(),
        Status::Closed
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);
    // Illegal transitions are 409s; unknown tokens 404s.
    for action in SessionAction::ALL {
        assert_eq!(http_status(act(t.clone(), action).await), 409, "{action}");
    }
    assert_eq!(
        http_status(act("no-such-token".into(), SessionAction::Approve).await),
        404
    );

    // pending → failed / cancelled / timeout; identifying → the same.
    for (action, expected) in [
        (SessionAction::Deny, Status::Failed),
        (SessionAction::Cancel, Status::Cancelled),
        (SessionAction::Timeout, Status::Timeout),
    ] {
        for identify_first in [false, true] {
            let (mut session, t) = start_session(&emulator, APP, "alice").await;
            if identify_first {
                act(t.clone(), SessionAction::Identify).await.unwrap();
            }
            assert_eq!(act(t.clone(), action).await.unwrap(), expected);
            assert_eq!(session.get_status().await.unwrap(), expected);
            assert!(session.failed());
            assert_eq!(
                http_status(act(t.clone(), SessionAction::Close).await),
                409,
                "{expected} is final"
            );
        }
    }
    // walkaway → closed; pending → closed.
    let (mut session, t) = start_session(&emulator, APP, "alice").await;
    act(t.clone(), SessionAction::Approve).await.unwrap();
    act(t.clone(), SessionAction::Walkaway).await.unwrap();
    assert_eq!(
        http_status(act(t.clone(), SessionAction::Walkaway).await),
        409
    );
    session.destroy().await.unwrap();
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);
    let (mut session, t) = start_session(&emulator, APP, "alice").await;
    assert_eq!(
        http_status(act(t.clone(), SessionAction::Return).await),
        409
    );
    act(t.clone(), SessionAction::Close).await.unwrap();
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);
    emulator.shutdown().await;
}

#[tokio::test]
async fn unanswered_requests_time_out_and_sessions_expire() {
    let emulator = emulator_timing_out_after(Duration::from_millis(1000)).await;
    user_with_phone_in(&emulator, APP, "alice").await;
    let started = Instant::now();
    let (mut session, _) = start_session(&emulator, APP, "alice").await;
    await_status(&mut session, Status::Timeout).await;
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert!(session.failed());

    // An identifying request times out too.
    let (mut session, t) = start_session(&emulator, APP, "alice").await;
    session_action(&emulator, &t, SessionAction::Identify).await;
    await_status(&mut session, Status::Timeout).await;

    // duration_seconds elapsed → closed.
    let auth = emulator.authentication_api(APP).unwrap();
    let mut session = auth
        .authenticate_user_with("alice", &[], Some(Duration::from_secs(2)))
        .await
        .unwrap();
    let t = session.session_token().unwrap().to_owned();
    session_action(&emulator, &t, SessionAction::Approve).await;
    assert_eq!(session.get_status().await.unwrap(), Status::Active);
    await_status(&mut session, Status::Closed).await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn deleting_the_user_or_losing_the_phone_closes_sessions() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();
    let auth = emulator.authentication_api(APP).unwrap();
    user_with_phone_in(&emulator, APP, "alice").await;
    user_with_phone_in(&emulator, APP, "bob").await;

    let (mut active, t) = start_session(&emulator, APP, "alice").await;
    session_action(&emulator, &t, SessionAction::Approve).await;
    let (mut pending, _) = start_session(&emulator, APP, "alice").await;
    let (mut other, _) = start_session(&emulator, APP, "bob").await;
    management.lost_user_mobile_device("alice").await.unwrap();
    assert_eq!(active.get_status().await.unwrap(), Status::Closed);
    assert_eq!(pending.get_status().await.unwrap(), Status::Closed);
    assert_eq!(other.get_status().await.unwrap(), Status::Pending);
    let s = auth.authenticate_user("alice").await.unwrap();
    assert_eq!(s.failure_reason(), Some("NO_MOBILE_DEVICE"));

    let t = other.session_token().unwrap().to_owned();
    session_action(&emulator, &t, SessionAction::Approve).await;
    assert_eq!(other.get_status().await.unwrap(), Status::Active);
    management.delete_user("bob").await.unwrap();
    assert_eq!(other.get_status().await.unwrap(), Status::Closed);
    let s = auth.authenticate_user("bob").await.unwrap();
    assert_eq!(s.failure_reason(), Some("UNKNOWN_USER"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn scripted_phones_answer_by_themselves() {
    let emulator = emulator_timing_out_after(Duration::from_millis(1500)).await;
    let auth = emulator.authentication_api(APP).unwrap();
    for user in ["yes", "no", "silent"] {
        user_with_phone_in(&emulator, APP, user).await;
    }
    let after = Duration::from_millis(150);
    phone_answers(&emulator, "yes", Behaviour::Approve { after }).await;
    phone_answers(&emulator, "no", Behaviour::Deny { after }).await;
    phone_answers(&emulator, "silent", Behaviour::Ignore).await;

    let started = Instant::now();
    let mut yes = auth.authenticate_user("yes").await.unwrap();
    let mut no = auth.authenticate_user("no").await.unwrap();
    let mut silent = auth.authenticate_user("silent").await.unwrap();
    assert_eq!(yes.session_status(), Status::Pending);
    assert_eq!(no.session_status(), Status::Pending);
    assert_eq!(silent.session_status(), Status::Pending);
    await_status(&mut yes, Status::Active).await;
    assert!(started.elapsed() >= after);
    await_status(&mut no, Status::Failed).await;
    // Nobody answers for it: it times out.
    await_status(&mut silent, Status::Timeout).await;
    assert!(started.elapsed() >= Duration::from_millis(1500));

    // A manual answer before the scripted one wins.
    phone_answers(
        &emulator,
        "yes",
        Behaviour::Approve {
            after: Duration::from_secs(60),
        },
    )
    .await;
    let (mut s, t) = start_session(&emulator, APP, "yes").await;
    session_action(&emulator, &t, SessionAction::Deny).await;
    assert_eq!(s.get_status().await.unwrap(), Status::Failed);

    // wait_for_session sees what the phone page would.
    let (_, t) = start_session(&emulator, APP, "silent").await;
    let pending = emulator
        .wait_for_session(APP, "silent", Status::Pending, DEADLINE)
        .await
        .unwrap();
    assert_eq!(pending.session_token, t);
    emulator.shutdown().await;
}

//! The emulator over real HTTP on loopback: the crate's own client through every call,
//! signature checks, the control API, behaviour automation, faults, counters, the binary and
//! the reference Python client.

use std::time::Duration;

use iampass::emulator::{Emulator, RunningEmulator, SessionAction};
use iampass::{AddUserResult, DeviceRegistration, Status};

const APP: &str = "app-1";
const SECRET: &str = "secret-1";

async fn emulator() -> RunningEmulator {
    Emulator::builder()
        .application(APP, SECRET)
        .start()
        .await
        .expect("emulator starts")
}

#[tokio::test]
async fn smoke_under_tokio() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();
    assert_eq!(
        management.add_user("alice").await.unwrap(),
        AddUserResult::Success
    );
    assert_eq!(
        management
            .has_registered_mobile_device("alice")
            .await
            .unwrap(),
        DeviceRegistration::NoMobileDevice
    );
    emulator.register_device(APP, "alice").await.unwrap();
    let auth = emulator.authentication_api(APP).unwrap();
    let mut session = auth.authenticate_user("alice").await.unwrap();
    assert_eq!(session.session_status(), Status::Pending);
    let token = session.session_token().unwrap().to_owned();
    assert_eq!(
        emulator
            .session_action(&token, SessionAction::Approve)
            .await
            .unwrap(),
        Status::Active
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Active);
    session.destroy().await.unwrap();
    assert_eq!(
        emulator.sessions(Some(APP), None).await.unwrap()[0].session_status,
        Status::Closed
    );
    emulator.shutdown().await;
}

#[actix_web::test]
async fn smoke_under_actix() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();
    assert_eq!(
        management.add_user("bob").await.unwrap(),
        AddUserResult::Success
    );
    let stats = emulator.stats().await.unwrap();
    assert_eq!(stats.route_count("add_users"), 1);
    drop(emulator);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

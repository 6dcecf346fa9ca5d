//! The emulator in-process: a phone, a login, an approval.

use iampass::emulator::{Emulator, SessionAction};

#[tokio::main] // in a test: #[tokio::test]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::builder()
        .application("app", "secret")
        .start()
        .await?;
    emulator.register_device("app", "alice").await?;
    let auth = emulator.authentication_api("app")?;
    let mut session = auth.authenticate_user("alice").await?;
    let token = session.session_token().unwrap().to_owned();
    emulator
        .session_action(&token, SessionAction::Approve)
        .await?;
    assert_eq!(session.get_status().await?, iampass::Status::Active);
    Ok(())
}

//! An in-process emulator on loopback, its test application, and users with a phone.

use std::time::Duration;

use iampass::emulator::{Behaviour, Emulator, EmulatorBuilder, RunningEmulator};

/// The test application every emulator serves.
pub const APP: &str = "app-1";
pub const SECRET: &str = "secret-1";

/// An emulator of [`APP`] on a free loopback port.
pub async fn emulator() -> RunningEmulator {
    emulator_with(|b| b).await
}

/// An emulator of [`APP`] on a free loopback port, further configured by `configure` (more
/// applications, a pending timeout, …).
pub async fn emulator_with(
    configure: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder,
) -> RunningEmulator {
    configure(
        Emulator::builder()
            .application(APP, SECRET)
            .bind("127.0.0.1:0"),
    )
    .start()
    .await
    .expect("emulator starts")
}

/// An emulator of [`APP`] where a request nobody answers times out after `pending_timeout`.
pub async fn emulator_timing_out_after(pending_timeout: Duration) -> RunningEmulator {
    emulator_with(|b| b.pending_timeout(pending_timeout)).await
}

/// `user` of [`APP`] with a registered phone (registering creates the user, as opening the
/// registration link does).
pub async fn user_with_phone(emulator: &RunningEmulator, user: &str) {
    user_with_phone_in(emulator, APP, user).await;
}

/// `user` of `app` with a registered phone.
pub async fn user_with_phone_in(emulator: &RunningEmulator, app: &str, user: &str) {
    emulator
        .register_device(app, user)
        .await
        .unwrap_or_else(|e| panic!("registering a phone for {user:?} in {app}: {e}"));
}

/// `user` of [`APP`], added through the management API, without a phone.
pub async fn user_without_phone(emulator: &RunningEmulator, user: &str) {
    emulator
        .management_api(APP)
        .unwrap()
        .add_user(user)
        .await
        .unwrap();
}

/// Makes `user`'s phone (in [`APP`]) answer every request by itself.
pub async fn phone_answers(emulator: &RunningEmulator, user: &str, behaviour: Behaviour) {
    emulator.set_behaviour(APP, user, behaviour).await.unwrap();
}

/// `user` with a phone that approves every login at once.
pub async fn phone_approving_at_once(emulator: &RunningEmulator, user: &str) {
    user_with_phone(emulator, user).await;
    phone_answers(
        emulator,
        user,
        Behaviour::Approve {
            after: Duration::ZERO,
        },
    )
    .await;
}

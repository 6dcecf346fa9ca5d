//! The IAMPASS client alone: a user, a registration link, a login.

use iampass::{AuthenticationApi, ManagementApi};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), iampass::Error> {
    let management = ManagementApi::new("app-id", "app-secret")?;
    management.add_user("alice").await?;
    let link = management
        .get_registration_link("alice", Some("Alice"))
        .await?;
    println!("open on alice's phone: {link}");

    let auth = AuthenticationApi::builder("app-id", "app-secret")
        .timeout(Duration::from_secs(5)) // default 10 s
        .build()?;
    let mut session = auth.authenticate_user("alice").await?;
    while session.in_progress() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        session.get_status().await?; // an outage is an Err, never "the user failed"
    }
    println!("active: {}, JSON: {}", session.active(), session.to_json());
    Ok(())
}

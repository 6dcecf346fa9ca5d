//! `users`, `link`, `sms`, `device` and `lost-device`, in text and `--json` form, with
//! ordinary and odd user ids.

use iampass::DeviceRegistration;
use iampass::emulator::Behaviour;
use predicates::str::{contains, starts_with};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn users_add_reports_created_and_existing_users() {
    let emulator = emulator().await;
    let out = run(iampass(&emulator).args(["users", "add", "alice", "bob"])).await;
    check(&out)
        .code(0)
        .stdout("added \"alice\"\nadded \"bob\"\n");

    let out = run(iampass(&emulator).args(["users", "add", "alice", "carol", "--json"])).await;
    check(&out).code(0);
    assert_eq!(
        json(&out),
        json!({"created": ["carol"], "existing": ["alice"]})
    );

    let out = run(iampass(&emulator).args(["users", "add", "carol"])).await;
    check(&out).code(0).stdout("already exists: \"carol\"\n");
    let apps = emulator.applications().await.unwrap();
    assert_eq!(apps[0].users, 3);
}

#[tokio::test]
async fn users_delete_removes_users() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();
    management
        .add_users(&["alice", "bob", "carol"])
        .await
        .unwrap();

    let out = run(iampass(&emulator).args(["users", "delete", "alice"])).await;
    check(&out).code(0).stdout("deleted \"alice\"\n");
    let out = run(iampass(&emulator).args(["--json", "users", "delete", "bob", "carol"])).await;
    check(&out).code(0);
    assert_eq!(
        json(&out),
        json!({"deleted": ["bob", "carol"], "not_found": []})
    );
    assert_eq!(emulator.applications().await.unwrap()[0].users, 0);
}

#[tokio::test]
async fn link_prints_the_users_registration_link() {
    let emulator = emulator().await;
    user_without_phone(&emulator, "alice").await;
    let prefix = format!("{}/phone/register/", emulator.base_url());

    let out = run(iampass(&emulator).args(["link", "alice"])).await;
    check(&out).code(0).stdout(starts_with(prefix.clone()));
    assert_eq!(
        stdout(&out).lines().count(),
        1,
        "only the link: {}",
        stdout(&out)
    );

    let out =
        run(iampass(&emulator).args(["link", "alice", "--display-name", "Alice A.", "--json"]))
            .await;
    check(&out).code(0);
    let doc = json(&out);
    assert_eq!(doc["user"], "alice");
    assert!(doc.get("qr").is_none(), "{doc}");
    let url = doc["register_url"].as_str().unwrap();
    assert!(url.starts_with(&prefix), "{url}");

    // The link is the emulator's, for alice, with the display name.
    let token = url.rsplit('/').next().unwrap();
    let link: serde_json::Value = reqwest::get(format!(
        "{}/_emulator/registrations/{token}",
        emulator.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(link["user"], "alice", "{link}");
    assert_eq!(link["display_name"], "Alice A.", "{link}");
}

#[tokio::test]
async fn link_draws_a_qr_code() {
    let emulator = emulator().await;
    user_without_phone(&emulator, "alice").await;

    let out = run(iampass(&emulator).args(["link", "alice", "--qr"])).await;
    check(&out).code(0);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let (url, code) = lines.split_last().unwrap();
    assert!(url.starts_with(&emulator.base_url().to_string()), "{text}");
    assert!(code.len() > 10, "a QR code has many rows: {text}");
    assert!(
        code.iter()
            .all(|row| row.chars().all(|c| " ▀▄█".contains(c))),
        "rows of half blocks: {text}"
    );

    let out = run(iampass(&emulator).args(["link", "alice", "--qr", "--json"])).await;
    check(&out).code(0);
    let doc = json(&out);
    assert!(doc["qr"].as_str().unwrap().contains('█'), "{doc}");
}

#[tokio::test]
async fn sms_sends_the_link_to_the_number() {
    let emulator = emulator().await;
    user_without_phone(&emulator, "alice").await;

    let out = run(iampass(&emulator).args(["sms", "alice", "+447700900123"])).await;
    check(&out)
        .code(0)
        .stdout("sent the registration link for \"alice\" to +447700900123\n");

    let out = run(iampass(&emulator).args([
        "sms",
        "alice",
        "+15550100",
        "--display-name",
        "Alice",
        "--message",
        "Hi Alice:",
        "--json",
    ]))
    .await;
    check(&out).code(0);
    assert_eq!(
        json(&out),
        json!({"user": "alice", "phone_number": "+15550100", "sent": true})
    );

    let outbox = emulator.sms().await.unwrap();
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox[0].phone_number, "+447700900123");
    assert_eq!(outbox[1].phone_number, "+15550100");
    assert!(
        outbox[1].message.starts_with("Hi Alice: "),
        "{:?}",
        outbox[1]
    );
}

#[tokio::test]
async fn device_tells_whether_a_phone_is_registered() {
    let emulator = emulator().await;
    user_without_phone(&emulator, "alice").await;

    let out = run(iampass(&emulator).args(["device", "alice"])).await;
    check(&out)
        .code(0)
        .stdout("\"alice\" has no registered phone\n");
    let out = run(iampass(&emulator).args(["device", "alice", "--json"])).await;
    assert_eq!(json(&out), json!({"user": "alice", "registered": false}));

    user_with_phone(&emulator, "alice").await;
    let out = run(iampass(&emulator).args(["device", "alice"])).await;
    check(&out)
        .code(0)
        .stdout("\"alice\" has a registered phone\n");
    let out = run(iampass(&emulator).args(["device", "alice", "--json"])).await;
    check(&out).code(0);
    assert_eq!(json(&out), json!({"user": "alice", "registered": true}));
}

#[tokio::test]
async fn lost_device_disables_the_phone_and_prints_a_new_link() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "alice").await;
    user_with_phone(&emulator, "bob").await;
    let management = emulator.management_api(APP).unwrap();

    let out = run(iampass(&emulator).args(["lost-device", "alice"])).await;
    check(&out)
        .code(0)
        .stdout(contains("the phone of \"alice\" is disabled"))
        .stdout(contains(format!("{}/phone/register/", emulator.base_url())));
    assert_eq!(
        management
            .has_registered_mobile_device("alice")
            .await
            .unwrap(),
        DeviceRegistration::NoMobileDevice
    );

    let out = run(iampass(&emulator).args(["lost-device", "bob", "--json"])).await;
    check(&out).code(0);
    let doc = json(&out);
    assert_eq!(doc["user"], "bob");
    assert!(
        doc["register_url"]
            .as_str()
            .unwrap()
            .contains("/phone/register/"),
        "{doc}"
    );
    assert_eq!(
        management
            .has_registered_mobile_device("bob")
            .await
            .unwrap(),
        DeviceRegistration::NoMobileDevice
    );
}

/// Ids with a space, `+`, `/`, `%` and non-ASCII letters reach IAMPASS as exactly that user,
/// through every command.
#[tokio::test]
async fn odd_user_ids_go_through_every_command() {
    let emulator = emulator().await;
    for user in ["a b", "a+b", "a/b", "50%", "zoë", "ö /+%20 é"] {
        let out = run(iampass(&emulator).args(["users", "add", user, "--json"])).await;
        check(&out).code(0);
        assert_eq!(
            json(&out),
            json!({"created": [user], "existing": []}),
            "{user}"
        );

        let out = run(iampass(&emulator).args(["device", user, "--json"])).await;
        check(&out).code(0);
        assert_eq!(json(&out)["registered"], false, "{user}");
        user_with_phone(&emulator, user).await;
        let out = run(iampass(&emulator).args(["device", user, "--json"])).await;
        assert_eq!(
            json(&out),
            json!({"user": user, "registered": true}),
            "{user}"
        );

        let out = run(iampass(&emulator).args(["link", user])).await;
        check(&out).code(0);
        let out = run(iampass(&emulator).args(["sms", user, "+15550100"])).await;
        check(&out).code(0);

        phone_answers(
            &emulator,
            user,
            Behaviour::Approve {
                after: Default::default(),
            },
        )
        .await;
        let out = run(iampass(&emulator).args(["login", user, "--json"])).await;
        check(&out).code(0);
        assert_eq!(json(&out)["user"], user);
        let sessions = emulator.sessions(Some(APP), Some(user)).await.unwrap();
        assert_eq!(sessions.len(), 1, "{user}: {sessions:?}");
        assert_eq!(sessions[0].user, user);

        let out = run(iampass(&emulator).args(["lost-device", user])).await;
        check(&out).code(0);
        let out = run(iampass(&emulator).args(["users", "delete", user])).await;
        check(&out).code(0);
    }
    let outbox = emulator.sms().await.unwrap();
    let users: Vec<&str> = outbox.iter().map(|s| s.user.as_str()).collect();
    assert_eq!(users, ["a b", "a+b", "a/b", "50%", "zoë", "ö /+%20 é"]);
    assert_eq!(emulator.applications().await.unwrap()[0].users, 0);
}

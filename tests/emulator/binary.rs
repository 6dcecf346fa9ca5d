//! The `iampass-emulator` binary as a process.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::*;

#[tokio::test]
async fn prints_one_line_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iampass-emulator"))
        .args(["--listen", "127.0.0.1:0", "--app", "a:b", "--app", "c:d:e"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("iampass-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );

    let management = iampass::ManagementApi::builder("a", "b")
        .server(url.clone())
        .build()
        .unwrap();
    assert_eq!(
        management.add_user("alice").await.unwrap(),
        AddUserResult::Success
    );
    // The secret is everything after the first colon.
    let other = iampass::ManagementApi::builder("c", "d:e")
        .server(url.clone())
        .build()
        .unwrap();
    assert_eq!(other.add_user("x").await.unwrap(), AddUserResult::Success);
    let apps: Value = reqwest::get(format!("{url}/_emulator/applications"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(apps.as_array().unwrap().len(), 2);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn generates_a_demo_application_without_app() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iampass-emulator"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (line, id, secret) = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let mut id = None;
        let mut secret = None;
        for l in BufReader::new(stderr).lines() {
            let l = l.unwrap();
            if let Some(v) = l.trim().strip_prefix("IAMPASS_APPLICATION_ID=") {
                id = Some(v.to_owned());
            }
            if let Some(v) = l.trim().strip_prefix("IAMPASS_APPLICATION_SECRET=") {
                secret = Some(v.to_owned());
            }
            if id.is_some() && secret.is_some() {
                break;
            }
        }
        (line, id.unwrap(), secret.unwrap())
    })
    .await
    .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("iampass-emulator listening on ")
        .unwrap()
        .to_owned();
    let management = iampass::ManagementApi::builder(id, secret)
        .server(url)
        .build()
        .unwrap();
    assert_eq!(
        management.add_user("alice").await.unwrap(),
        AddUserResult::Success
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn help_documents_every_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_iampass-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--listen",
        "--app",
        "--pending-timeout-secs",
        "--signature-window-secs",
        "--session-duration-secs",
        "--workers",
        "--help",
        "--version",
        "127.0.0.1:8765",
        "ID:SECRET",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn refuses_bad_arguments() {
    for args in [
        &["--app", "nocolon"][..],
        &["--app", ":secret"],
        &["--pending-timeout-secs", "soon"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_iampass-emulator"))
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_iampass-emulator"))
        .args(["--listen", "256.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
}

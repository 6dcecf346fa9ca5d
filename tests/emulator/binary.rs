//! The `iampass-emulator` binary as a process: what it prints, what it serves, its flags and
//! its request log.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStderr, Command, Stdio};

use assert_cmd::cargo::cargo_bin;

use super::*;

/// A running `iampass-emulator` (killed on drop) and what it printed on standard output.
struct Running {
    child: Child,
    /// The address of the `listening on` line.
    url: String,
    /// The `export NAME=VALUE` lines, by name (values as printed).
    exports: HashMap<String, String>,
    /// Standard error, line by line.
    stderr: Lines<BufReader<ChildStderr>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Starts the binary on a free port with `args`, and reads its four lines of output.
    async fn start(args: &[&str]) -> Running {
        let mut child = Command::new(cargo_bin("iampass-emulator"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        let lines = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .take(4)
                .map(Result::unwrap)
                .collect::<Vec<String>>()
        })
        .await
        .unwrap();
        let url = lines[0]
            .strip_prefix("iampass-emulator listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {:?}", lines[0]))
            .to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
            "{url}"
        );
        let exports = lines[1..]
            .iter()
            .map(|line| {
                let (name, value) = line
                    .strip_prefix("export ")
                    .and_then(|l| l.split_once('='))
                    .unwrap_or_else(|| panic!("not an export line: {line:?}"));
                (name.to_owned(), value.to_owned())
            })
            .collect();
        let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        Running {
            child,
            url,
            exports,
            stderr,
        }
    }

    /// The management API of application `id`.
    fn management(&self, id: &str, secret: &str) -> ManagementApi {
        ManagementApi::builder(id, secret)
            .server(self.url.clone())
            .build()
            .unwrap()
    }

    /// Standard error from here on, line by line.
    fn take_stderr(&mut self) -> Lines<BufReader<ChildStderr>> {
        std::mem::replace(&mut self.stderr, BufReader::new(empty_stderr()).lines())
    }

    /// Stops the process and answers everything it wrote on standard error that was not read.
    async fn stop(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let stderr = self.take_stderr();
        tokio::task::spawn_blocking(move || stderr.map_while(Result::ok).collect())
            .await
            .unwrap()
    }
}

/// A standard error stream that is already at its end.
fn empty_stderr() -> ChildStderr {
    Command::new("true")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
        .stderr
        .take()
        .unwrap()
}

impl Running {
    /// Reads standard error until `done` holds for the lines read (or the stream ends);
    /// answers whether it did, and the lines.
    async fn read_stderr_until(
        &mut self,
        done: impl Fn(&[String]) -> bool + Send + 'static,
    ) -> (bool, Vec<String>) {
        let mut stderr = self.take_stderr();
        let (found, lines, stderr) = tokio::task::spawn_blocking(move || {
            let mut lines = Vec::new();
            while let Some(Ok(line)) = stderr.next() {
                lines.push(line);
                if done(&lines) {
                    return (true, lines, stderr);
                }
            }
            (false, lines, stderr)
        })
        .await
        .unwrap();
        self.stderr = stderr;
        (found, lines)
    }
}

#[tokio::test]
async fn prints_the_address_and_exports_then_serves() {
    let running = Running::start(&["--app", "a:b", "--app", "c:d:e"]).await;
    assert_eq!(running.exports["IAMPASS_SERVER"], running.url);
    assert_eq!(running.exports["IAMPASS_APPLICATION_ID"], "a");
    assert_eq!(running.exports["IAMPASS_APPLICATION_SECRET"], "b");
    assert_eq!(
        running
            .management("a", "b")
            .add_user("alice")
            .await
            .unwrap(),
        AddUserResult::Success
    );
    // The secret is everything after the first colon.
    let other = running.management("c", "d:e");
    assert_eq!(other.add_user("x").await.unwrap(), AddUserResult::Success);
    let apps: Value = reqwest::get(format!("{}/_emulator/applications", running.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(apps.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn export_lines_are_quoted_for_the_shell() {
    let running = Running::start(&["--app", "my app:it's $ecret"]).await;
    assert_eq!(running.exports["IAMPASS_APPLICATION_ID"], "'my app'");
    let secret = &running.exports["IAMPASS_APPLICATION_SECRET"];
    assert!(
        secret.starts_with('\'') || secret.starts_with('"'),
        "{secret}"
    );
    assert_eq!(
        shlex::split(secret).unwrap(),
        ["it's $ecret"],
        "the shell reads the value back"
    );
}

#[tokio::test]
async fn generates_a_demo_application_without_app() {
    let running = Running::start(&[]).await;
    let id = running.exports["IAMPASS_APPLICATION_ID"].clone();
    let secret = running.exports["IAMPASS_APPLICATION_SECRET"].clone();
    assert!(id.starts_with("demo-"), "{id}");
    assert_eq!(
        running
            .management(&id, &secret)
            .add_user("alice")
            .await
            .unwrap(),
        AddUserResult::Success
    );
}

#[tokio::test]
async fn users_are_seeded_with_a_phone_and_every_request_is_logged() {
    let mut running = Running::start(&[
        "--app",
        "a:b",
        "--app",
        "c:d",
        "--user",
        "alice",
        "--user",
        "bob smith",
    ])
    .await;
    let management = running.management("a", "b");
    for user in ["alice", "bob smith"] {
        assert_eq!(
            registration_of(&management, user).await,
            DeviceRegistration::HasMobileDevice,
            "{user}"
        );
    }
    // Only in the first application.
    assert_eq!(
        running
            .management("c", "d")
            .add_user("alice")
            .await
            .unwrap(),
        AddUserResult::Success
    );
    // A seeded user can sign in at once.
    let mut session = iampass::AuthenticationApi::builder("a", "b")
        .server(running.url.clone())
        .build()
        .unwrap()
        .authenticate_user("alice")
        .await
        .unwrap();
    assert_eq!(session.session_status(), Status::Pending);
    assert_eq!(session.get_status().await.unwrap(), Status::Pending);

    // One line per request, with method, path, status, latency and application; the status
    // call is logged under the application that started the session, the control API
    // (seeding the users) without one.
    let wanted = [
        ("POST", "/_emulator/devices/a/alice", "200", "-"),
        (
            "GET",
            "/management/has_registered_mobile_device/a/bob+smith",
            "200",
            "a",
        ),
        ("POST", "/management/add_users/c", "201", "c"),
        (
            "POST",
            "/authentication/authenticate_user/a/alice",
            "202",
            "a",
        ),
        ("GET", "/authentication/status/", "200", "a"),
    ];
    let logged = move |lines: &[String]| {
        wanted.iter().all(|(method, path, status, app)| {
            lines.iter().any(|l| {
                l.contains(&format!("method={method} path={path}"))
                    && l.contains(&format!("status={status}"))
                    && l.contains(&format!("app={app}"))
                    && l.contains("latency_ms=")
            })
        })
    };
    let (found, lines) = running.read_stderr_until(logged).await;
    assert!(found, "missing request lines in:\n{}", lines.join("\n"));
}

#[tokio::test]
async fn quiet_logs_no_request() {
    let mut running = Running::start(&["--app", "a:b", "--user", "alice", "--quiet"]).await;
    // The start-up notes come first (the control API line last).
    let (noted, notes) = running
        .read_stderr_until(|lines| lines.iter().any(|l| l.starts_with("control API: ")))
        .await;
    assert!(noted, "{notes:#?}");
    let management = running.management("a", "b");
    assert_eq!(
        registration_of(&management, "alice").await,
        DeviceRegistration::HasMobileDevice
    );
    // The request was answered, so a log line would already have been written.
    let after = running.stop().await;
    assert!(
        notes.iter().chain(&after).all(|l| !l.contains("path=")),
        "request lines despite --quiet: {notes:#?} {after:#?}"
    );
}

#[tokio::test]
async fn unknown_users_can_be_answered_404() {
    let running = Running::start(&["--app", "a:b", "--unknown-user", "not-found"]).await;
    let url = format!("{}/authentication/authenticate_user/a/ghost", running.url);
    let (status, text) = status_and_text(signed(
        &reqwest::Client::new(),
        Method::POST,
        &url,
        "a",
        "b",
    ))
    .await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::NOT_FOUND, "User ghost not found")
    );
}

#[test]
fn help_documents_every_flag_and_the_control_api() {
    let output = assert_cmd::Command::new(cargo_bin("iampass-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--listen",
        "--app",
        "--user",
        "--quiet",
        "--unknown-user",
        "not-found",
        "--pending-timeout-secs",
        "--signature-window-secs",
        "--session-duration-secs",
        "--workers",
        "--help",
        "--version",
        "127.0.0.1:8765",
        "ID:SECRET",
        "/_emulator/applications",
        "/_emulator/devices/{app_id}/{user}",
        "/_emulator/sessions/{token}/{action}",
        "/_emulator/users/{app_id}/{user}/behaviour",
        "/_emulator/sms",
        "/_emulator/faults",
        "retry_after_secs",
        "/_emulator/stats",
        "/_emulator/phone",
        "/_emulator/registrations/{token}",
        "/phone/events",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn refuses_bad_arguments_with_a_clear_message() {
    for (args, says) in [
        (&["--app", "nocolon"][..], "ID:SECRET"),
        (&["--app", ":secret"], "ID:SECRET"),
        (&["--user", ""], "user name cannot be empty"),
        (&["--pending-timeout-secs", "soon"], "soon"),
        (&["--unknown-user", "maybe"], "maybe"),
        (&["--bogus"], "--bogus"),
    ] {
        let output = assert_cmd::Command::new(cargo_bin("iampass-emulator"))
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("error") && stderr.contains(says),
            "{args:?}: {stderr}"
        );
    }
    let output = assert_cmd::Command::new(cargo_bin("iampass-emulator"))
        .args(["--listen", "256.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen on 256.0.0.1:1"), "{stderr}");
}

//! One function per subcommand: each calls the client and answers a [`Report`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use iampass::client::DEFAULT_SERVER;
use iampass::{
    AuthenticationApi, AuthenticationMethod, DeviceRegistration, ManagementApi, Secret, Session,
    Status,
};
use serde_json::json;

use crate::args::{Cli, Command, Global, LoginArgs, UsersCommand};
use crate::exit::Exit;
use crate::interrupt::Interrupt;
use crate::output::{Failure, Output, Report};

/// IAMPASS's reason for a login of a user it does not know.
const UNKNOWN_USER: &str = "UNKNOWN_USER";

/// Runs the command line's subcommand.
pub async fn run(cli: &Cli, output: &Output) -> Result<Report, Failure> {
    let global = &cli.global;
    match &cli.command {
        Command::Users(UsersCommand::Add { names }) => add_users(global, names).await,
        Command::Users(UsersCommand::Delete { names }) => delete_users(global, names).await,
        Command::Link {
            name,
            display_name,
            qr,
        } => link(global, name, display_name.as_deref(), *qr).await,
        Command::Sms {
            name,
            phone,
            display_name,
            message,
        } => {
            sms(
                global,
                name,
                phone,
                display_name.as_deref(),
                message.as_deref(),
            )
            .await
        }
        Command::Device { name } => device(global, name).await,
        Command::LostDevice { name } => lost_device(global, name).await,
        Command::Login(args) => login(global, args, output).await,
        Command::Status { session } => status(global, session_file("status", session)?).await,
        Command::Logout { session } => logout(global, session_file("logout", session)?).await,
    }
}

/// `--session`, or a bad-input failure naming just it (the command needs nothing else).
fn session_file<'a>(command: &str, session: &'a Option<PathBuf>) -> Result<&'a Path, Failure> {
    session.as_deref().ok_or_else(|| {
        Failure::new(
            Exit::BadInput,
            format!(
                "missing --session FILE: `{command}` needs the session file written by \
                 `login --session-out FILE` (and no application credentials)"
            ),
        )
    })
}

/// The secret from `--app-secret-file`: its first line.
fn secret_from_file(path: &Path) -> Result<Secret, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(
            Exit::BadInput,
            format!("cannot read --app-secret-file {}: {e}", path.display()),
        )
    })?;
    Ok(Secret::new(text.lines().next().unwrap_or("").trim()))
}

/// The application's id and secret, or a bad-input failure naming what is missing.
fn credentials(global: &Global) -> Result<(&str, Secret), Failure> {
    let missing = |what: &str, flag: &str, var: &str| {
        Failure::new(
            Exit::BadInput,
            format!("missing application {what}: set {var} or pass {flag}"),
        )
    };
    let app_id = global
        .app_id
        .as_deref()
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| missing("id", "--app-id", "IAMPASS_APPLICATION_ID"))?;
    let secret = match &global.app_secret_file {
        Some(path) => Some(secret_from_file(path)?),
        None => global.app_secret.clone(),
    };
    let secret = secret
        .filter(|s| !s.expose().is_empty())
        .ok_or_else(|| missing("secret", "--app-secret-file", "IAMPASS_APPLICATION_SECRET"))?;
    Ok((app_id, secret))
}

/// `--server`/`IAMPASS_SERVER`; empty is unset (the client then uses its default).
fn server(global: &Global) -> Option<String> {
    global.server.clone().filter(|s| !s.trim().is_empty())
}

/// A user agent naming the CLI, so IAMPASS's logs can tell it apart.
fn user_agent() -> String {
    format!("iampass-cli/{}", env!("CARGO_PKG_VERSION"))
}

fn management(global: &Global) -> Result<ManagementApi, Failure> {
    let (app_id, secret) = credentials(global)?;
    let mut builder = ManagementApi::builder(app_id, secret)
        .timeout(global.timeout)
        .user_agent(user_agent());
    if let Some(server) = server(global) {
        builder = builder.server(server);
    }
    Ok(builder.build()?)
}

fn authentication(global: &Global) -> Result<AuthenticationApi, Failure> {
    let (app_id, secret) = credentials(global)?;
    let mut builder = AuthenticationApi::builder(app_id, secret)
        .timeout(global.timeout)
        .user_agent(user_agent());
    if let Some(server) = server(global) {
        builder = builder.server(server);
    }
    Ok(builder.build()?)
}

/// A user name as shown to people: quoted, control characters escaped (a name cannot
/// smuggle terminal escapes into the output).
fn shown(name: &str) -> String {
    format!("{name:?}")
}

async fn add_users(global: &Global, names: &[String]) -> Result<Report, Failure> {
    let added = management(global)?.add_users(names).await?;
    let mut lines: Vec<String> = added
        .created
        .iter()
        .map(|n| format!("added {}", shown(n)))
        .collect();
    lines.extend(
        added
            .existing
            .iter()
            .map(|n| format!("already exists: {}", shown(n))),
    );
    Ok(Report::ok(
        json!({"created": added.created, "existing": added.existing}),
        lines.join("\n"),
    ))
}

/// Deletes the users IAMPASS knows. Its delete answer does not say which users existed, and
/// unknown ones are `404` elsewhere in the API: each name is looked up first, and names
/// IAMPASS does not know (a lookup or a one-name delete answered `404`) are reported as such.
async fn delete_users(global: &Global, names: &[String]) -> Result<Report, Failure> {
    let api = management(global)?;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match api.has_registered_mobile_device(name).await {
            Err(e) if e.status() == Some(404) && is_unknown_user(&e) => unknown.push(name.clone()),
            Err(e) => return Err(e.into()),
            Ok(_) => known.push(name.clone()),
        }
    }
    if !known.is_empty() {
        match api.delete_users(&known).await {
            Err(e) if known.len() == 1 && e.status() == Some(404) && is_unknown_user(&e) => {
                unknown.append(&mut known);
            }
            result => result?,
        }
    }
    let mut lines: Vec<String> = known
        .iter()
        .map(|n| format!("deleted {}", shown(n)))
        .collect();
    lines.extend(
        unknown
            .iter()
            .map(|n| format!("no such user: {} (nothing to delete)", shown(n))),
    );
    Ok(Report::ok(
        json!({"deleted": known, "not_found": unknown}),
        lines.join("\n"),
    ))
}

/// A `404` about the user, not the application (whose absence stays an error).
fn is_unknown_user(error: &iampass::Error) -> bool {
    match error {
        iampass::Error::Http { body, .. } => !body.to_ascii_lowercase().contains("application"),
        _ => true,
    }
}

async fn link(
    global: &Global,
    name: &str,
    display_name: Option<&str>,
    qr: bool,
) -> Result<Report, Failure> {
    let url = management(global)?
        .get_registration_link(name, display_name)
        .await?;
    let mut document = json!({"user": name, "register_url": url});
    let mut text = url.clone();
    if qr {
        let code = qr_code(&url)?;
        text = format!("{code}\n{url}");
        document["qr"] = json!(code);
    }
    Ok(Report::ok(document, text))
}

/// The link as a QR code of Unicode half blocks, light on dark as terminals usually are.
fn qr_code(url: &str) -> Result<String, Failure> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| {
        Failure::new(
            Exit::Unexpected,
            format!("cannot draw the link as a QR code: {e}"),
        )
    })?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .build())
}

async fn sms(
    global: &Global,
    name: &str,
    phone: &str,
    display_name: Option<&str>,
    message: Option<&str>,
) -> Result<Report, Failure> {
    management(global)?
        .send_registration_sms(name, display_name, phone, message)
        .await?;
    Ok(Report::ok(
        json!({"user": name, "phone_number": phone, "sent": true}),
        format!("sent the registration link for {} to {phone}", shown(name)),
    ))
}

async fn device(global: &Global, name: &str) -> Result<Report, Failure> {
    let registered = management(global)?
        .has_registered_mobile_device(name)
        .await?
        == DeviceRegistration::HasMobileDevice;
    let text = if registered {
        format!("{} has a registered phone", shown(name))
    } else {
        format!("{} has no registered phone", shown(name))
    };
    Ok(Report::ok(
        json!({"user": name, "registered": registered}),
        text,
    ))
}

async fn lost_device(global: &Global, name: &str) -> Result<Report, Failure> {
    let url = management(global)?.lost_user_mobile_device(name).await?;
    Ok(Report::ok(
        json!({"user": name, "register_url": url}),
        format!(
            "the phone of {} is disabled and its sessions closed; new registration link:\n{url}",
            shown(name)
        ),
    ))
}

/// How waiting for the phone's answer ended.
enum Waited {
    /// IAMPASS reported a status other than pending/identifying.
    Answered,
    /// `--max-wait` passed first.
    GaveUp,
    /// Ctrl-C.
    Interrupted,
}

async fn login(global: &Global, args: &LoginArgs, output: &Output) -> Result<Report, Failure> {
    if let Some(path) = &args.session_out {
        check_writable_dir(path)?;
    }
    let api = authentication(global)?;
    // Listen before the request starts, so a Ctrl-C at any moment can still log it out.
    let mut interrupt = Interrupt::listen()
        .map_err(|e| Failure::new(Exit::Unexpected, format!("cannot listen for Ctrl-C: {e}")))?;
    let methods: Vec<AuthenticationMethod> = args.methods.iter().map(|&m| m.into()).collect();
    let duration = args.duration.map(Duration::from_secs);
    let mut session = api
        .authenticate_user_with(&args.name, &methods, duration)
        .await?;
    if session.session_token().is_none() {
        return not_started(&args.name, &session);
    }

    let spinner = output.spinner(format!(
        "waiting for {} to answer on their phone",
        shown(&args.name)
    ));
    let waited = tokio::select! {
        biased;
        () = interrupt.recv() => Waited::Interrupted,
        waited = wait_for_answer(&mut session, args.poll_interval, args.max_wait) => waited?,
    };
    drop(spinner);

    match waited {
        Waited::Interrupted => {
            let logout = session.destroy().await.map(drop);
            let message = match logout {
                Ok(()) => "interrupted: the login request was withdrawn (logged out)".to_owned(),
                Err(e) => format!(
                    "interrupted; withdrawing the login request failed too: {}",
                    Failure::from(e).message
                ),
            };
            Err(Failure::new(Exit::Interrupted, message))
        }
        Waited::GaveUp => {
            let _ = session.destroy().await;
            let secs = args.max_wait.as_secs_f64();
            Ok(Report {
                exit: Exit::NotApproved,
                json: json!({
                    "user": args.name,
                    "status": "timeout",
                    "approved": false,
                    "reason": format!("no answer within --max-wait {secs} s"),
                }),
                text: format!(
                    "{} no answer within {secs} s; the request was withdrawn",
                    console::style("✘").red()
                ),
            })
        }
        Waited::Answered if session.active() => approved(&args.name, &mut session, args).await,
        Waited::Answered => Ok(not_approved(&args.name, &session)),
    }
}

/// Polls until the session leaves pending/identifying, or `max_wait` passes.
async fn wait_for_answer(
    session: &mut Session,
    poll_interval: Duration,
    max_wait: Duration,
) -> Result<Waited, Failure> {
    let polling = async {
        while session.in_progress() {
            tokio::time::sleep(poll_interval).await;
            session.get_status().await?;
        }
        Ok::<_, Failure>(Waited::Answered)
    };
    match tokio::time::timeout(max_wait, polling).await {
        Ok(waited) => waited,
        Err(_) => Ok(Waited::GaveUp),
    }
}

/// A login IAMPASS did not start: an unknown user is "not found", anything else (no phone)
/// a login that was not approved.
fn not_started(name: &str, session: &Session) -> Result<Report, Failure> {
    if session.failure_reason() == Some(UNKNOWN_USER) {
        return Err(Failure::new(
            Exit::NotFound,
            format!("IAMPASS does not know the user {}", shown(name)),
        ));
    }
    Ok(not_approved(name, session))
}

fn not_approved(name: &str, session: &Session) -> Report {
    let status = session.session_status();
    let reason = session.failure_reason();
    let why = match status {
        Status::Failed if session.session_token().is_none() => "the login could not start",
        // IAMPASS gives no reason when the person pressed Deny.
        Status::Failed if reason.is_none() => "denied on the phone",
        Status::Failed => "failed on the phone",
        Status::Timeout => "no answer in time",
        Status::Cancelled => "cancelled on the phone",
        Status::Closed => "the session was closed",
        Status::Walkaway => "the phone walked away",
        _ => "not approved",
    };
    let mut text = format!(
        "{} {} did not sign in: {why}",
        console::style("✘").red(),
        shown(name)
    );
    if status != Status::Failed || session.session_token().is_none() {
        text.push_str(&format!(" ({status})"));
    }
    if let Some(reason) = reason {
        text.push_str(&format!(": {reason}"));
    }
    // Never null: IAMPASS's reason, else what happened.
    let reason = reason.unwrap_or(why);
    Report {
        exit: Exit::NotApproved,
        json: json!({
            "user": name,
            "status": status.as_str(),
            "approved": false,
            "reason": reason,
        }),
        text,
    }
}

async fn approved(name: &str, session: &mut Session, args: &LoginArgs) -> Result<Report, Failure> {
    let mut text = format!(
        "{} {} signed in (session active)",
        console::style("✔").green(),
        shown(name)
    );
    if let Some(path) = &args.session_out {
        if let Err(e) = write_private(path, &session.to_json()) {
            // An active session nobody can use or end would linger: end it.
            let _ = session.destroy().await;
            return Err(Failure::new(
                Exit::BadInput,
                format!(
                    "cannot write the session to {}: {e} (the session was logged out)",
                    path.display()
                ),
            ));
        }
        text.push_str(&format!("\nsession saved to {}", path.display()));
    }
    Ok(Report::ok(
        json!({
            "user": name,
            "status": session.session_status().as_str(),
            "approved": true,
            "session_token": session.session_token(),
            "session_file": args.session_out.as_ref().map(|p| p.display().to_string()),
        }),
        text,
    ))
}

/// Fails early (before the phone rings) when `--session-out`'s directory does not exist.
fn check_writable_dir(path: &Path) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if dir.is_dir() && !path.is_dir() {
        Ok(())
    } else {
        Err(Failure::new(
            Exit::BadInput,
            format!(
                "--session-out {}: not a file in an existing directory",
                path.display()
            ),
        ))
    }
}

/// Writes `contents` to `path`, readable by its owner only (it holds the session secret),
/// without following a link there: the file is written under a fresh name in the same
/// directory (created, never opened if it exists, mode 0600) and renamed over `path`, which
/// replaces a symbolic link itself rather than its target.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut attempts = 0;
    let (temp, mut file) = loop {
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".{:016x}.tmp", rand::random::<u64>()));
        let temp = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&temp) {
            Ok(file) => break (temp, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 8 => {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let written = (|| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // The umask may have taken bits away, never added them; make it exactly 0600.
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Loads a session file written by `login --session-out`, with an HTTP client that honours
/// `--timeout`. The session's own URLs say where IAMPASS is, and its token and secret sign
/// the calls: neither the server nor the application's credentials are needed.
fn load_session(global: &Global, path: &Path) -> Result<Session, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(
            Exit::BadInput,
            format!("cannot read the session file {}: {e}", path.display()),
        )
    })?;
    let session = Session::from_json(&text).map_err(|e| {
        // The parse error itself, not the client's wording for a bad answer from IAMPASS.
        let detail = match &e {
            iampass::Error::Protocol(detail) => detail
                .strip_prefix("session JSON: ")
                .unwrap_or(detail)
                .to_owned(),
            other => other.to_string(),
        };
        Failure::new(
            Exit::BadInput,
            format!("bad session file {}: {detail}", path.display()),
        )
    })?;
    if session.session_token().is_none() || session.status_url().is_none() {
        return Err(Failure::new(
            Exit::BadInput,
            format!("{} holds a session that never started", path.display()),
        ));
    }
    // The application id only satisfies the builder; the session's calls do not use it.
    let http = AuthenticationApi::builder("iampass-cli", Secret::new(""))
        .server(DEFAULT_SERVER)
        .timeout(global.timeout)
        .user_agent(user_agent())
        .build()?;
    Ok(http.attach(session))
}

async fn status(global: &Global, path: &Path) -> Result<Report, Failure> {
    let session = load_session(global, path)?;
    let status = session.fetch_status().await?;
    let active = status == Status::Active;
    let mark = if active {
        console::style("✔").green()
    } else {
        console::style("✘").red()
    };
    Ok(Report {
        exit: if active { Exit::Ok } else { Exit::NotApproved },
        json: json!({"status": status.as_str(), "active": active}),
        text: format!("{mark} session {status}"),
    })
}

async fn logout(global: &Global, path: &Path) -> Result<Report, Failure> {
    let mut session = load_session(global, path)?;
    session.destroy().await.map(drop)?;
    Ok(Report::ok(
        json!({"status": Status::Closed.as_str(), "logged_out": true}),
        "logged out",
    ))
}

//! The IAMPASS emulator: an IAMPASS-compatible server with a simulated phone, for
//! development, tests and benchmarks without an IAMPASS account or a physical phone.
//!
//! It speaks the wire protocol of the live service (every route, signature checks with a
//! timestamp window and replay protection, the same status codes and JSON), keeps several
//! applications apart, runs the session state machine, and serves:
//!
//! - **the phone page** `GET /phone` (optionally `?app_id=…&user=…`): the simulated IAMPASS
//!   mobile app, with registered devices, pending requests (Approve / Deny), signed-in
//!   sessions (Walk away / Come back / Log out) and the SMS outbox. It stays current through
//!   `GET /phone/events`, a Server-Sent Events stream that sends the page's state whenever
//!   it changes; no inline script or style, so a strict Content-Security-Policy holds.
//!   Registration links (`/phone/register/{token}`) open it with a "Register this phone"
//!   button.
//! - **the control API** under `/_emulator/` (JSON, meant for loopback). It and the phone page
//!   answer only to the emulator's own address and loopback names (`403` for another `Host`,
//!   a foreign `Origin` or `Sec-Fetch-Site: cross-site`); beyond loopback, or with
//!   [`control_token`](EmulatorBuilder::control_token), they want `Authorization: Bearer
//!   <token>` (`401`). The wire API answers any `Host`:
//!
//! | call | effect |
//! | --- | --- |
//! | `GET /_emulator/applications` | `[{"app_id", "users"}]` (no secrets) |
//! | `POST /_emulator/applications` `{"app_id", "secret"}` | *extension*: adds an application (`201`), or replaces its secret (`200`) |
//! | `POST /_emulator/devices/{app_id}/{user}` | registers a phone (creating the user), as opening a link would |
//! | `GET /_emulator/devices[?app_id][&user]` | *extension*: registered phones |
//! | `GET /_emulator/sessions[?app_id][&user]` | `[{"session_token", "app_id", "user", "session_status", "methods"}]`, oldest first |
//! | `GET /_emulator/sessions/{token}` | *extension*: one session |
//! | `POST /_emulator/sessions/{token}/{action}` | `identify`, `approve`, `deny`, `cancel`, `timeout`, `walkaway`, `return`, `close` → `{"session_status"}`; `409` illegal transition, `404` unknown token |
//! | `PUT /_emulator/users/{app_id}/{user}/behaviour` | `{"respond": "approve"\|"deny"\|"ignore", "after_ms": N}` (`GET` reads it) |
//! | `GET /_emulator/sms[?app_id][&user]` | the SMS outbox, oldest first |
//! | `PUT /_emulator/faults` | `{"latency_ms", "error_rate", "error_status", "retry_after_secs"}` on `/management/*` and `/authentication/*`; injected errors carry `Retry-After: <retry_after_secs>` when it is set (`GET` reads it) |
//! | `GET /_emulator/stats` | `{"routes": {"status": 12, ...}}` (names: [`ROUTES`]); `DELETE` resets |
//! | `GET /_emulator/phone[?app_id][&user]` | *extension*: what the phone page shows, as JSON |
//! | `GET`/`POST /_emulator/registrations/{token}` | *extension*: reads / uses a registration link (`410` once used) |
//!
//! Path segments are `quote_plus`-encoded like the wire protocol's (`MY+USER`, `a%2Fb`).
//! Errors are `{"error": "..."}`.
//!
//! ## Choices where the live service's behaviour is unknown
//! - `authenticate_user` for an unknown user answers `200` with `authenticated: false`,
//!   `reason: "UNKNOWN_USER"`, or, with
//!   [`unknown_user_answer(UnknownUserAnswer::NotFound)`](EmulatorBuilder::unknown_user_answer),
//!   `404` `User <id> not found` as the public docs answer unknown users elsewhere; for a user
//!   without phone `reason: "NO_MOBILE_DEVICE"`.
//! - The status answer's `authenticated` is `true` exactly when the session is `active`.
//! - Methods default to `["acceptance"]`; an unknown method or a `duration_seconds` that is
//!   not a positive integer is a `400`.
//! - Unknown application → `404` before the signature is checked; a signature made with other
//!   credentials than the path names → `401`; a nonce that is not a decimal 64-bit unsigned
//!   integer → `401`.
//! - Signature headers: the reference client's spellings and those of the public docs
//!   (`X-IAMPASS-Authentiaction-Timestamp`, `X-IAMPASS-Authentiaction-Version`) are all
//!   accepted; the version header may be left out (`1` is the only version).
//! - `delete_users` ignores unknown users; `add_users` with an empty id answers
//!   `200 {"status": false, "reason": "INVALID_USER_ID"}`.
//! - `send_registration_sms` with a number that is not `+` and 7–15 digits answers
//!   `200 {"status": false, "reason": "INVALID_PHONE_NUMBER"}`.
//! - Logging out a finished session answers `200 {"status": true}` and leaves it as it is.
//! - `identifying` times out like `pending`; a scripted answer that would come after the
//!   timeout never comes. A new phone replaces the old one (whose sessions close); losing a
//!   phone also revokes the user's unused registration links.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use iampass::emulator::{Behaviour, Emulator};
//!
//! let emulator = Emulator::builder().application("app-1", "secret-1").start().await?;
//! let management = emulator.management_api("app-1")?;
//! management.add_user("alice").await?;
//! emulator.register_device("app-1", "alice").await?;
//! emulator
//!     .set_behaviour("app-1", "alice", Behaviour::Approve { after: Duration::ZERO })
//!     .await?;
//! let session = emulator.authentication_api("app-1")?.authenticate_user("alice").await?;
//! assert!(session.active());
//! assert_eq!(emulator.stats().await?.route_count("authenticate_user"), 1);
//! # Ok(()) }
//! ```

mod builder;
mod handle;
mod routes;
#[cfg(feature = "actix")]
mod sign_in;
mod state;
mod types;

pub use builder::{Emulator, EmulatorBuilder};
pub use handle::RunningEmulator;
pub use types::{
    Application, Behaviour, EmulatorSession, Faults, ROUTES, SessionAction, Sms, Stats,
    UnknownUserAnswer,
};

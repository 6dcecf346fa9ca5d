//! The `iampass` CLI run as a process against an in-process emulator on loopback: every
//! command in text and `--json` form, exit codes, logins approved, denied, timed out,
//! cancelled and interrupted, session files, bad input, outages and odd user ids.

#[path = "cli/hardening.rs"]
mod hardening;
#[path = "cli/harness.rs"]
mod harness;
#[path = "cli/login.rs"]
mod login;
#[path = "cli/management.rs"]
mod management;
#[path = "cli/problems.rs"]
mod problems;
#[path = "cli/proxy.rs"]
mod proxy;

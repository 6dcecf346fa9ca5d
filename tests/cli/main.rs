//! The `iampass` CLI run as a process against an in-process emulator on loopback: every
//! command in text and `--json` form, exit codes, logins approved, denied, timed out,
//! cancelled and interrupted, session files, bad input, outages and odd user ids.

#[path = "../common/mod.rs"]
mod common;

mod hardening;
mod harness;

mod login;
mod management;
mod problems;
mod proxy;

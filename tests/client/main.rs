//! The client against a small scripted HTTP server on loopback: every call's method, path,
//! body and signature, and how each kind of failure is reported.
//!
//! - `signing`: the reference vectors and `quote_plus`;
//! - `session_json`: a session's JSON and `Debug` output;
//! - `calls`: every call's method, path, body and signature;
//! - `failures`: how each kind of failure is reported;
//! - `wire`: every answer shape the documentation allows;
//! - `resilience`: the circuit breaker and the cap on concurrent calls;
//! - `pool`: keep-alive connections: reuse, servers that close them, the idle bounds;
//! - `tls`: HTTPS with a certificate no public CA signed.
//!
//! `server` is the scripted server.

#[path = "../common/mod.rs"]
mod common;

mod server;

mod calls;
mod failures;
mod pool;
mod resilience;
mod session_json;
mod signing;
mod tls;
mod wire;

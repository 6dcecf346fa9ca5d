//! The actix-web integration over real HTTP on loopback: a real actix `HttpServer` wrapped by
//! the IAMPASS middleware, against the emulator; `actix_web::test::init_service` where a socket
//! adds nothing. One file per topic; `harness` has the apps and the client.

#[path = "../common/emulator_control.rs"]
mod emulator_control;
mod harness;

mod audit;
mod branding;
mod breaker;
mod config;
mod cookie;
mod events;
mod flow;
mod hardening;
mod outage;
mod public_login;
mod second_factor;
mod security;

// Tests run on a multi-threaded runtime; the servers have their own worker threads.

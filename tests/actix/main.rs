//! The actix-web integration over real HTTP on loopback: a real actix `HttpServer` wrapped by
//! the IAMPASS middleware, against the emulator; `actix_web::test::init_service` where a socket
//! adds nothing. One file per topic; the apps, the client and the emulator are the shared
//! fixtures of `tests/common/`.

#[path = "../common/mod.rs"]
mod common;

use common::emulator_control;

/// What every topic file imports (`use crate::harness::*`): the shared fixtures.
mod harness {
    pub use crate::common::actix_app::*;
    pub use crate::common::emulator::*;
    pub use crate::common::eventually::{DEADLINE, eventually, eventually_some};
    pub use crate::common::net::dead_port;
}

mod audit;
mod branding;
mod breaker;
mod config;
mod cookie;
mod dead_ends;
mod events;
mod flow;
mod hardening;
mod logs;
mod outage;
mod public_login;
mod second_factor;
mod security;
mod step_up;

// Tests run on a multi-threaded runtime; the servers have their own worker threads.

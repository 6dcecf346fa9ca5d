//! Fixtures every test suite shares, included by each suite's `main.rs` as
//! `#[path = "../common/mod.rs"] mod common;`:
//!
//! - `emulator`: an in-process emulator of the test application, and users with a phone;
//! - `emulator_control`: what a phone does to a session, and wire-API faults;
//! - `actix_app`: a real actix `HttpServer` wrapped by the middleware, and a browser-like client;
//! - `eventually`: the one polling helper (awaiting a state change, never a fixed sleep);
//! - `net`: loopback addresses where nothing listens;
//! - `chromium`: headless Chromium through chromedriver.

// Each suite uses a subset of these fixtures; what one suite leaves unused is not dead code.
#![allow(dead_code)]

#[cfg(all(feature = "actix", feature = "emulator"))]
pub mod actix_app;
pub mod chromium;
#[cfg(feature = "emulator")]
pub mod emulator;
#[cfg(feature = "emulator")]
pub mod emulator_control;
pub mod eventually;
pub mod net;

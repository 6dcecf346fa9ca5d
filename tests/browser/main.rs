//! The `login_page` example, end to end. `http`, `hardening` and `password` run each test body
//! against both the actix-web example and `axum_login_page`, the same app on axum
//! (`each_example!` in `harness`: tests `…::login_page` and `…::axum_login_page`).
//!
//! - `http`: cheap checks over plain HTTP (bad sign-up input, cross-site posts, anonymous
//!   access).
//! - `live`: the live lock (`/auth/live.js`) on an open dashboard in headless Chromium: walk
//!   away, come back and a remote close, without a reload.
//! - `password`: password mode in headless Chromium: a wrong password never rings the phone;
//!   the right one, then the phone's approval, signs in.
//! - `hardening`: the example under abuse and in deployment, over HTTP: password guessing
//!   limited and hashing bounded, sign-ups limited, a phone-only cookie refused by a password
//!   deployment, two instances sharing the demo account, plain-text logs when redirected, the
//!   emulator's token in the phone URL.
//! - `step_up`: the dashboard's API key needs a fresh facial approval: the crate's step-up
//!   page, the phone page's "confirm again", the key.
//! - `e2e`: the whole story in headless Chromium driven through chromedriver: sign up, register
//!   the phone, sign in, approve, walk away, come back, sign out. Needs `/usr/bin/chromium` and
//!   `/usr/bin/chromedriver` (`apt-get install chromium chromium-driver`; other paths through
//!   `IAMPASS_CHROMIUM` and `IAMPASS_CHROMEDRIVER`); without them it skips, or fails when
//!   `IAMPASS_REQUIRE_BROWSER=1`. On failure the screenshot of every step
//!   is saved under `target/browser-test/` (set `IAMPASS_BROWSER_SCREENSHOTS=1` to keep them on
//!   success too).
//!
//! `harness` starts the example; `page` waits on the page in Chromium; Chromium itself and the
//! other shared fixtures are in `tests/common/`.

#[path = "../common/mod.rs"]
mod common;

use common::chromium;

#[macro_use]
mod harness;

mod page;

mod e2e;
mod hardening;
mod http;
mod live;
mod password;
mod step_up;

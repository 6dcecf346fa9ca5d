//! No enumeration in the public mode ([`public_login`](crate::actix::IampassBuilder::public_login)
//! on): an unknown user name and a user without a phone get a *decoy*, the same `202` (or `303`
//! for a form) and pending cookie a real login gets, so `POST {prefix}/login` does not tell who
//! has an account.
//!
//! - The decoy is a pending cookie sealed like any other (AES-GCM with the cookie key): it
//!   cannot be forged nor told apart from outside. Its IAMPASS session is made up: a random
//!   token and secret as long as the last real login's (so the cookie is as long too), the
//!   URLs IAMPASS would give, and the status `closed`, which a real pending cookie never
//!   carries: that is how the poll knows it.
//! - The poll answers a decoy without asking IAMPASS: `pending` for a random while (the
//!   builder's [`public_login_decoy_delay`](crate::actix::IampassBuilder::public_login_decoy_delay),
//!   6 to 40 s by default, what a person takes to read and refuse an unexpected request; the
//!   time is fixed per decoy, from its secret token), then the one generic `failed` answer
//!   that every unsuccessful end gets in the public mode.
//! - Trade-off: a decoy never ends `active`, and its end times follow a chosen distribution,
//!   not a real person's; someone who starts many logins for one name could compare the
//!   spreads. The per-user and per-address rate limits (which decoys count against like real
//!   logins) bound how many samples they get, and the phone of a real user rings for each.
//!   Before the first real login since start, a decoy's token length is a guess (32/64).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use crate::core::cookie::{CookieState, SessionCookie};
use crate::{Session, Status};

/// The `reason` of every unsuccessful end in the public mode.
pub(super) const NOT_APPROVED_REASON: &str = "not_approved";
/// Its `message`.
pub(super) const NOT_APPROVED_MESSAGE: &str = "Sign-in was not approved.";
/// The session status that marks a pending cookie as a decoy (never a real pending one's).
const DECOY_STATUS: Status = Status::Closed;

/// Lengths of the last real login's token and secret, copied by decoys.
static TOKEN_LEN: AtomicUsize = AtomicUsize::new(32);
static SECRET_LEN: AtomicUsize = AtomicUsize::new(64);

/// Remembers the shape of a real session, so the next decoys look the same.
pub(super) fn learn_shape(session: &Session) {
    if let Some(token) = session.session_token() {
        TOKEN_LEN.store(token.len().min(512), Ordering::Relaxed);
    }
    if let Some(secret) = session.session_secret() {
        SECRET_LEN.store(secret.expose().len().min(512), Ordering::Relaxed);
    }
}

/// A made-up pending session on `server` (the URLs IAMPASS derives from the token).
pub(super) fn session(server: &str) -> Session {
    let token = random_hex(TOKEN_LEN.load(Ordering::Relaxed));
    let secret = random_hex(SECRET_LEN.load(Ordering::Relaxed));
    Session::from_parts(
        Some(token.clone()),
        Some(secret),
        Some(format!("{server}/authentication/status/{token}")),
        Some(format!("{server}/authentication/logout/{token}")),
        None,
        DECOY_STATUS,
    )
}

/// `true` for a decoy's pending cookie.
pub(super) fn is_decoy(payload: &SessionCookie) -> bool {
    payload.state() == CookieState::Pending && payload.session().session_status() == DECOY_STATUS
}

/// When the decoy stops being pending: its issue time plus a delay in `range`, fixed by its
/// (secret, random) token.
pub(super) fn ends_at(payload: &SessionCookie, (min, max): (Duration, Duration)) -> SystemTime {
    use sha2::Digest;
    let token = payload.session().session_token().unwrap_or_default();
    let digest = sha2::Sha256::digest(token.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let span = max.saturating_sub(min).as_millis() as u64;
    let offset = u64::from_le_bytes(first) % span.saturating_add(1);
    payload.issued_at() + min + Duration::from_millis(offset)
}

fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    rand::fill(&mut bytes[..]);
    let mut hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(len);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoy_is_marked_and_its_end_is_in_range() {
        let session = session("https://iam.example");
        assert_eq!(session.session_token().map(str::len), Some(32));
        let decoy = SessionCookie::new(
            session,
            "nobody",
            "nobody",
            CookieState::Pending,
            Duration::from_secs(600),
            None,
        );
        assert!(is_decoy(&decoy));
        let range = (Duration::from_secs(6), Duration::from_secs(40));
        let end = ends_at(&decoy, range);
        assert!(end >= decoy.issued_at() + range.0 && end <= decoy.issued_at() + range.1);
        let fixed = (Duration::from_secs(3), Duration::from_secs(3));
        assert_eq!(ends_at(&decoy, fixed), decoy.issued_at() + fixed.0);
        let real = Session::new("t", "s", "u", "l", Status::Pending);
        let real = SessionCookie::new(
            real,
            "a",
            "a",
            CookieState::Pending,
            Duration::from_secs(60),
            None,
        );
        assert!(!is_decoy(&real));
    }
}

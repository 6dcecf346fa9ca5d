//! The fast path of [`Revalidate::After`](super::Revalidate) with the in-process store: each
//! actix worker thread remembers the cookie values it recently saw validated `active`, so the
//! session's next requests on that thread are recognised by their exact value: no digest, no
//! decryption, no shared cache, one atomic load.
//!
//! An entry never outlives the status answer it rests on (its `until` is the answer's time
//! plus `revalidate_after`, and never past the cookie's expiry), and every entry of a
//! validator is dropped at once when it forgets any session (a logout, a revocation): the
//! validator's generation moves on, and entries of an older generation are ignored.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::core::cookie::SessionCookie;

/// Cookie values remembered per worker thread; beyond, expired entries go, then all.
const PER_THREAD: usize = 4096;

struct Entry {
    /// The validator that answered, and its generation then.
    owner: u64,
    generation: u64,
    until: Instant,
    cookie: Arc<SessionCookie>,
}

thread_local! {
    static RECENT: RefCell<HashMap<Box<str>, Entry>> = RefCell::new(HashMap::new());
}

/// The opened cookie of `value`, if this thread saw it validated `active` by the validator
/// `owner` in its current `generation`, and that answer is still fresh.
pub(crate) fn recall(owner: u64, generation: u64, value: &str) -> Option<Arc<SessionCookie>> {
    RECENT.with(|recent| {
        let recent = recent.borrow();
        let entry = recent.get(value)?;
        (entry.owner == owner && entry.generation == generation && Instant::now() < entry.until)
            .then(|| entry.cookie.clone())
    })
}

/// Remembers that `value` (opened as `cookie`) was validated `active` until `until`.
pub(crate) fn remember(
    owner: u64,
    generation: u64,
    value: &str,
    until: Instant,
    cookie: &Arc<SessionCookie>,
) {
    RECENT.with(|recent| {
        let mut recent = recent.borrow_mut();
        if recent.len() >= PER_THREAD && !recent.contains_key(value) {
            let now = Instant::now();
            recent.retain(|_, e| e.until > now);
            if recent.len() >= PER_THREAD {
                recent.clear();
            }
        }
        recent.insert(
            Box::from(value),
            Entry {
                owner,
                generation,
                until,
                cookie: cookie.clone(),
            },
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Session;
    use crate::core::cookie::CookieState;
    use std::time::Duration;

    fn cookie() -> Arc<SessionCookie> {
        let session = Session::from_json(
            r#"{"session_token":"t","session_secret":"s","status_url":"u","logout_url":"l",
                "session_status":"active"}"#,
        )
        .unwrap();
        Arc::new(SessionCookie::new(
            session,
            "ann",
            "ann",
            CookieState::Authenticated,
            Duration::from_secs(60),
            None,
        ))
    }

    #[test]
    fn an_entry_answers_only_its_validator_generation_and_time() {
        let soon = Instant::now() + Duration::from_secs(60);
        remember(1, 7, "value-a", soon, &cookie());
        assert!(recall(1, 7, "value-a").is_some());
        assert!(
            recall(1, 8, "value-a").is_none(),
            "a forget moved the generation"
        );
        assert!(recall(2, 7, "value-a").is_none(), "another validator");
        assert!(recall(1, 7, "value-a ").is_none(), "exact value only");
        remember(1, 7, "value-b", Instant::now(), &cookie());
        assert!(
            recall(1, 7, "value-b").is_none(),
            "the answer is no longer fresh"
        );
    }

    #[test]
    fn the_memory_is_bounded() {
        let soon = Instant::now() + Duration::from_secs(60);
        let c = cookie();
        for i in 0..PER_THREAD + 10 {
            remember(3, 0, &format!("v{i}"), soon, &c);
        }
        RECENT.with(|r| assert!(r.borrow().len() <= PER_THREAD));
    }
}

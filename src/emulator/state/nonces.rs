//! The replay memory: nonces seen inside the signature window, per signer.

use std::collections::{BTreeMap, HashSet};

/// Default number of remembered nonces; the oldest is forgotten beyond it.
pub(crate) const DEFAULT_NONCE_CAPACITY: usize = 1_000_000;

/// Nonces seen inside the signature window, per client id (application id or session token).
///
/// A nonce is remembered until its request's timestamp leaves the window (after which the
/// timestamp alone refuses a replay), so memory is bounded by the request rate times the
/// window, and by a hard capacity.
pub(crate) struct NonceStore {
    seen: HashSet<(String, String)>,
    /// Expiry (Unix seconds) → entries, to forget them in order.
    by_expiry: BTreeMap<u64, Vec<(String, String)>>,
    capacity: usize,
}

impl NonceStore {
    pub(crate) fn new(capacity: usize) -> Self {
        NonceStore {
            seen: HashSet::new(),
            by_expiry: BTreeMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Remembers `(client_id, nonce)` until `expires` (Unix seconds); `false` if it was
    /// already there (a replay).
    pub(crate) fn check_and_remember(
        &mut self,
        client_id: &str,
        nonce: &str,
        expires: u64,
        now: u64,
    ) -> bool {
        self.forget_before(now);
        let key = (client_id.to_owned(), nonce.to_owned());
        if self.seen.contains(&key) {
            return false;
        }
        while self.seen.len() >= self.capacity {
            let Some(mut oldest) = self.by_expiry.first_entry() else {
                break;
            };
            match oldest.get_mut().pop() {
                Some(k) => {
                    self.seen.remove(&k);
                }
                None => {
                    oldest.remove();
                }
            }
        }
        self.seen.insert(key.clone());
        self.by_expiry.entry(expires).or_default().push(key);
        true
    }

    fn forget_before(&mut self, now: u64) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if *entry.key() >= now {
                break;
            }
            for k in entry.remove() {
                self.seen.remove(&k);
            }
        }
    }

    /// Number of remembered nonces.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_are_refused_until_they_expire() {
        let mut store = NonceStore::new(10);
        assert!(store.check_and_remember("app", "1", 100, 50));
        assert!(!store.check_and_remember("app", "1", 100, 60));
        // Another client may use the same nonce.
        assert!(store.check_and_remember("other", "1", 100, 60));
        // Once the window has passed, the entry is forgotten (the timestamp refuses it).
        assert!(store.check_and_remember("app", "2", 300, 101));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn memory_is_bounded() {
        let mut store = NonceStore::new(3);
        for n in 0..10u64 {
            assert!(store.check_and_remember("app", &n.to_string(), 100 + n, 0));
        }
        assert_eq!(store.len(), 3);
        // The newest are kept.
        assert!(!store.check_and_remember("app", "9", 200, 0));
    }
}

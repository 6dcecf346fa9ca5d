//! Caps on requests in progress at once, counted per key (a session, a client address): the
//! long-polls of the login handlers and the event streams share this one counter.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// How many requests per key are in progress.
#[derive(Debug)]
pub(crate) struct InFlight<K> {
    counts: Mutex<HashMap<K, usize>>,
}

impl<K> Default for InFlight<K> {
    fn default() -> Self {
        InFlight {
            counts: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone> InFlight<K> {
    fn counts(&self) -> MutexGuard<'_, HashMap<K, usize>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a place for `key` when fewer than `cap` are taken; `false` otherwise.
    pub(crate) fn try_acquire(&self, key: &K, cap: usize) -> bool {
        let mut counts = self.counts();
        let count = counts.get(key).copied().unwrap_or(0);
        if count >= cap {
            return false;
        }
        counts.insert(key.clone(), count + 1);
        true
    }

    /// Gives back a place taken by [`try_acquire`](Self::try_acquire); a key with none left
    /// is forgotten, so memory follows what is in progress.
    pub(crate) fn release(&self, key: &K) {
        let mut counts = self.counts();
        if let Some(count) = counts.get_mut(key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(key);
            }
        }
    }

    /// Keys with a place taken (for `Debug`).
    pub(crate) fn len(&self) -> usize {
        self.counts().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_capped_per_key_and_given_back() {
        let in_flight = InFlight::default();
        assert!(in_flight.try_acquire(&"a", 2));
        assert!(in_flight.try_acquire(&"a", 2));
        assert!(!in_flight.try_acquire(&"a", 2));
        assert!(in_flight.try_acquire(&"b", 2));
        in_flight.release(&"a");
        assert!(in_flight.try_acquire(&"a", 2));
        in_flight.release(&"a");
        in_flight.release(&"a");
        in_flight.release(&"b");
        assert_eq!(in_flight.len(), 0);
    }
}

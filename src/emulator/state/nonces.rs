//! The replay memory: nonces seen inside the signature window, per signer.
//!
//! Each remembered `(client id, nonce)` pair costs a fixed 16-byte digest (SHA-256 of both,
//! length-prefixed, truncated), held once in a hash set and once, with its expiry, in an
//! insertion-ordered queue: about 55 MiB at the default capacity of a million, whatever the
//! length of the ids and nonces clients send (see BENCHMARKS.md).

use std::collections::{HashSet, VecDeque};

use sha2::{Digest as _, Sha256};

/// Default number of remembered nonces; the oldest is forgotten beyond it.
pub(crate) const DEFAULT_NONCE_CAPACITY: usize = 1_000_000;

/// What is remembered of one `(client id, nonce)` pair: 128 bits of its SHA-256. A false
/// "replay" needs two of a million live entries to collide in 128 bits.
type Digest = [u8; 16];

/// An entry of the queue: the digest and when it may be forgotten (Unix seconds, saturated
/// to `u32`, which lasts until 2106).
#[derive(Clone, Copy)]
struct Entry {
    digest: Digest,
    expires: u32,
}

/// Nonces seen inside the signature window, per client id (application id or session token).
///
/// A nonce is remembered until its request's timestamp leaves the window (after which the
/// timestamp alone refuses a replay), so memory is bounded by the request rate times the
/// window, and by a hard capacity. Entries are forgotten in arrival order: an entry whose
/// expiry has passed behind one that has not is kept a little longer, which only refuses
/// more (a replay), never less.
pub(crate) struct NonceStore {
    seen: HashSet<Digest>,
    /// Arrival order, to forget the oldest first.
    order: VecDeque<Entry>,
    capacity: usize,
}

/// The digest of `(client_id, nonce)`; the length prefix keeps `("ab", "c")` and `("a", "bc")`
/// apart.
fn digest(client_id: &str, nonce: &str) -> Digest {
    let mut hash = Sha256::new();
    hash.update((client_id.len() as u64).to_be_bytes());
    hash.update(client_id.as_bytes());
    hash.update(nonce.as_bytes());
    let full = hash.finalize();
    let mut digest = [0; 16];
    digest.copy_from_slice(&full[..16]);
    digest
}

impl NonceStore {
    pub(crate) fn new(capacity: usize) -> Self {
        NonceStore {
            seen: HashSet::new(),
            order: VecDeque::new(),
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
        let digest = digest(client_id, nonce);
        if self.seen.contains(&digest) {
            return false;
        }
        while self.seen.len() >= self.capacity {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.seen.remove(&oldest.digest);
                }
                None => break,
            }
        }
        self.seen.insert(digest);
        self.order.push_back(Entry {
            digest,
            expires: u32::try_from(expires).unwrap_or(u32::MAX),
        });
        true
    }

    fn forget_before(&mut self, now: u64) {
        while let Some(oldest) = self.order.front() {
            if u64::from(oldest.expires) >= now {
                break;
            }
            self.seen.remove(&oldest.digest);
            self.order.pop_front();
        }
    }

    /// Number of remembered nonces.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }

    /// Bytes of heap the store holds now, from its tables' capacities (hashbrown: one
    /// control byte per bucket plus 16 trailing, buckets = capacity × 8/7 rounded to a power
    /// of two).
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        let set = match self.seen.capacity() {
            0 => 0,
            items => {
                let buckets = if items < 8 {
                    (items + 1).next_power_of_two()
                } else {
                    (items * 8 / 7).next_power_of_two()
                };
                buckets * (std::mem::size_of::<Digest>() + 1) + 16
            }
        };
        set + self.order.capacity() * std::mem::size_of::<Entry>()
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

    #[test]
    fn the_client_id_and_nonce_do_not_run_into_each_other() {
        let mut store = NonceStore::new(10);
        assert!(store.check_and_remember("ab", "c", 100, 0));
        assert!(store.check_and_remember("a", "bc", 100, 0));
        assert!(!store.check_and_remember("ab", "c", 100, 0));
    }

    /// Each entry has a fixed size, whatever the length of what clients send.
    #[test]
    fn an_entry_is_a_fixed_size_digest() {
        assert_eq!(std::mem::size_of::<Digest>(), 16);
        assert!(std::mem::size_of::<Entry>() <= 20);
        let mut store = NonceStore::new(1000);
        let long = "x".repeat(10_000);
        for n in 0..1000u64 {
            assert!(store.check_and_remember(&long, &format!("{long}{n}"), 100, 0));
        }
        // 1000 pairs of 10 KB strings, held in well under 64 KiB.
        assert!(store.heap_bytes() < 64 * 1024, "{}", store.heap_bytes());
    }

    /// The store full at the default capacity (a million nonces) holds at most 64 MiB.
    /// `cargo test --release --all-features --lib nonce_store_at_capacity -- --nocapture`
    /// also prints the resident memory it added (Linux), for BENCHMARKS.md.
    #[test]
    fn nonce_store_at_capacity_fits_in_64_mib() {
        let rss_before = resident_bytes();
        let mut store = NonceStore::new(DEFAULT_NONCE_CAPACITY);
        let app = "application-id-of-some-length";
        for n in 0..(DEFAULT_NONCE_CAPACITY as u64 + 1000) {
            store.check_and_remember(app, &(u64::MAX - n).to_string(), 2_000_000_000, 0);
        }
        assert_eq!(store.len(), DEFAULT_NONCE_CAPACITY);
        let heap = store.heap_bytes();
        let rss_after = resident_bytes();
        println!(
            "nonce store, {DEFAULT_NONCE_CAPACITY} entries: heap {:.1} MiB ({:.1} bytes/entry), \
             resident memory added {}",
            heap as f64 / 1048576.0,
            heap as f64 / DEFAULT_NONCE_CAPACITY as f64,
            match (rss_before, rss_after) {
                (Some(b), Some(a)) =>
                    format!("{:.1} MiB", (a.saturating_sub(b)) as f64 / 1048576.0),
                _ => "unknown".to_owned(),
            }
        );
        assert!(heap <= 64 * 1024 * 1024, "{heap} bytes");
    }

    /// VmRSS of this process, on Linux.
    fn resident_bytes() -> Option<usize> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
}

//! The example's first factor: passwords, hashed with Argon2id (the `argon2` crate's default
//! parameters) into PHC strings, kept in memory.
//!
//! Verifying is constant-time (argon2 compares the hashes itself), and an unknown user costs
//! the same work as a known one (a verify against a dummy hash), so the time a sign-in takes
//! does not tell who has an account.
//!
//! Hashing is bounded: each hash takes about 19 MiB and a CPU for tens of milliseconds, so at
//! most one runs per CPU (a semaphore), on tokio's blocking threads. When every slot is taken
//! the caller gets [`Busy`] at once (the app answers `503` with `Retry-After: 1`) rather than
//! a place in a queue: a burst of sign-ins cannot pile up memory or stall the other pages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The shortest password the sign-up form accepts, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest, in bytes (hashing is bounded work).
pub const MAX_PASSWORD_BYTES: usize = 256;

/// One account's first factor: its user name as signed up and its password's PHC string.
#[derive(Clone)]
struct Account {
    user: String,
    phc: String,
}

/// Passwords by the user name's collision key ([`iampass::user_name::collision_key`]), so
/// `DEMO` signs in as `demo`.
#[derive(Clone)]
pub struct Passwords {
    accounts: Arc<Mutex<HashMap<String, Account>>>,
    /// A hash of a random password nobody knows: what an unknown user is checked against.
    dummy: Arc<str>,
    /// One permit per hash running; as many as CPUs.
    hashing: Arc<Semaphore>,
}

/// Every hashing slot is taken: try again in a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Why a password could not be hashed.
#[derive(Debug)]
pub enum HashError {
    /// Every hashing slot is taken.
    Busy,
    /// The hasher failed (it does not, for passwords within [`MAX_PASSWORD_BYTES`]).
    Failed(String),
}

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HashError::Busy => f.write_str("every password hashing slot is taken"),
            HashError::Failed(error) => f.write_str(error),
        }
    }
}

impl std::error::Error for HashError {}

/// A password's PHC string, ready to [`Passwords::insert`].
pub struct Hashed(String);

impl Passwords {
    /// An empty store (hashes one random password for the dummy check: call it off the
    /// async workers, or at start-up).
    pub fn new() -> Result<Self, String> {
        let mut random = [0u8; 32];
        rand::fill(&mut random[..]);
        let dummy = hash(&hex(&random))?;
        let slots = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Ok(Passwords {
            accounts: Arc::default(),
            dummy: dummy.into(),
            hashing: Arc::new(Semaphore::new(slots)),
        })
    }

    /// A hashing slot, if one is free now (never waits).
    fn slot(&self) -> Result<OwnedSemaphorePermit, Busy> {
        self.hashing.clone().try_acquire_owned().map_err(|_| Busy)
    }

    /// Hashes `password` on a blocking thread, or [`HashError::Busy`] at once when every
    /// slot is taken.
    pub async fn hash(&self, password: &str) -> Result<Hashed, HashError> {
        let slot = self.slot().map_err(|Busy| HashError::Busy)?;
        let password = password.to_owned();
        // The slot goes with the work: it is freed when the hash is done, even if the request
        // that asked for it is gone.
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            hash(&password)
        })
        .await
        .map_err(|e| HashError::Failed(format!("the password could not be hashed: {e}")))?
        .map(Hashed)
        .map_err(HashError::Failed)
    }

    /// Sets `user`'s password to one hashed by [`hash`](Passwords::hash).
    pub fn insert(&self, user: &str, hashed: Hashed) {
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                iampass::user_name::collision_key(user),
                Account {
                    user: user.to_owned(),
                    phc: hashed.0,
                },
            );
    }

    /// Hashes and sets `user`'s password.
    pub async fn set(&self, user: &str, password: &str) -> Result<(), HashError> {
        let hashed = self.hash(password).await?;
        self.insert(user, hashed);
        Ok(())
    }

    /// `Ok(Some(name))` (the account's user name as signed up) when `password` is `user`'s;
    /// `Ok(None)` for a wrong password and for an unknown user alike, after the same work;
    /// `Err(Busy)` at once, without checking, when every hashing slot is taken.
    pub async fn check(&self, user: &str, password: &str) -> Result<Option<String>, Busy> {
        let slot = self.slot()?;
        let account = self
            .accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&iampass::user_name::collision_key(user))
            .cloned();
        let (name, phc) = match account {
            Some(account) => (Some(account.user), account.phc),
            None => (None, self.dummy.to_string()),
        };
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            verify(&phc, &password)
        })
        .await
        .unwrap_or(false);
        Ok(name.filter(|_| matches))
    }
}

/// A fresh random password for a seeded account, printed at start.
pub fn random_password() -> String {
    let mut bytes = [0u8; 9];
    rand::fill(&mut bytes[..]);
    hex(&bytes)
}

fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("the password could not be hashed: {e}"))
}

fn verify(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

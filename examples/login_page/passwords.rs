//! The example's first factor: passwords, hashed with Argon2id (the `argon2` crate's default
//! parameters) into PHC strings, kept in memory.
//!
//! Verifying is constant-time (argon2 compares the hashes itself), and an unknown user costs
//! the same work as a known one (a verify against a dummy hash), so the time a sign-in takes
//! does not tell who has an account.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
}

impl Passwords {
    /// An empty store (hashes one random password for the dummy check: call it off the
    /// async workers, or at start-up).
    pub fn new() -> Result<Self, String> {
        let mut random = [0u8; 32];
        rand::fill(&mut random[..]);
        let dummy = hash(&hex(&random))?;
        Ok(Passwords {
            accounts: Arc::default(),
            dummy: dummy.into(),
        })
    }

    /// Sets `user`'s password (hashing runs on a blocking thread).
    pub async fn set(&self, user: &str, password: &str) -> Result<(), String> {
        let password = password.to_owned();
        let phc = actix_web::web::block(move || hash(&password))
            .await
            .map_err(|e| format!("the password could not be hashed: {e}"))??;
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                iampass::user_name::collision_key(user),
                Account {
                    user: user.to_owned(),
                    phc,
                },
            );
        Ok(())
    }

    /// The account's user name (as signed up) when `password` is `user`'s; `None` for a wrong
    /// password and for an unknown user alike, after the same work.
    pub async fn check(&self, user: &str, password: &str) -> Option<String> {
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
        let matches = actix_web::web::block(move || verify(&phc, &password))
            .await
            .unwrap_or(false);
        name.filter(|_| matches)
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

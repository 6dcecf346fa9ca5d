//! What the core writes into logs about a session, without writing its secrets.

/// A short, non-secret name for a session in logs: the first 8 hex digits of the SHA-256 of
/// its token (the token itself is a credential).
pub(crate) fn short_handle(token: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// [`short_handle`] of a session's token (empty without one).
pub(crate) fn session_short_handle(session: &crate::Session) -> String {
    session
        .session_token()
        .map(short_handle)
        .unwrap_or_default()
}

//! The `Content-Security-Policy` of the crate's pages: their own script and style files only,
//! no inline code (the base page's one style block, and a branding's, allowed by their hash),
//! no framing.

use std::sync::OnceLock;

/// The CSP of an unbranded page.
pub(crate) fn page_csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| csp_with_styles(""))
}

/// [`page_csp`] that also allows the branding's style block, by its hash (`sha256-…`).
pub(crate) fn page_csp_with(style_hash: &str) -> String {
    csp_with_styles(&format!(" '{style_hash}'"))
}

fn csp_with_styles(extra: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' '{}'{extra}; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        base_style_hash()
    )
}

/// `sha256-…` of the base page's inline `<style>` block.
fn base_style_hash() -> String {
    let template = include_str!("../../templates/pages/base.html");
    let style = template
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map_or("", |(style, _)| style);
    style_hash(style)
}

/// `sha256-…` of a `<style>` block's text, as a CSP source.
pub(crate) fn style_hash(style: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(style.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

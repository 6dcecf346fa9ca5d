//! Safe `next` targets: only same-site relative paths survive, anything else becomes `/`;
//! and the login URL that brings a refused request back where it was.

use crate::core::request::RequestHead;

/// Longest `next` kept (bytes). Longer targets fall back to `/` so the cookie stays small.
pub(crate) const MAX_NEXT_LEN: usize = 1024;

/// Returns `next` when it is a same-site relative path (`/x`, `/x?y#z`), otherwise `/`.
///
/// Refused: empty, not starting with `/`, protocol-relative `//host` and `/\host` (browsers
/// treat `\` as `/`), anything with a control character or whitespace other than a plain
/// space, and targets longer than [`MAX_NEXT_LEN`]. A scheme (`https:`, `javascript:`)
/// cannot appear because the target must start with `/`.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_safe_redirect(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// `true` when `next` can be used as a redirect target as it is: a same-site relative path
/// (`/x`, `/x?y`), not `//host`, `/\\host`, a scheme, a control character or over-long.
/// The login handlers apply it to `next`; apps can apply it to their own redirects.
///
/// ```
/// use iampass::core::is_safe_redirect;
/// assert!(is_safe_redirect("/dashboard?tab=2"));
/// assert!(!is_safe_redirect("//evil.example"));
/// assert!(!is_safe_redirect("https://evil.example"));
/// assert!(!is_safe_redirect("/\\evil.example"));
/// ```
pub fn is_safe_redirect(next: &str) -> bool {
    let bytes = next.as_bytes();
    if next.is_empty() || next.len() > MAX_NEXT_LEN || bytes[0] != b'/' {
        return false;
    }
    if bytes.len() > 1 && (bytes[1] == b'/' || bytes[1] == b'\\') {
        return false;
    }
    // Control characters (incl. tab/newline, which browsers strip: "/\t/evil" -> "//evil"),
    // backslashes anywhere (some parsers normalise them), and non-ASCII whitespace.
    !next
        .chars()
        .any(|c| c.is_control() || c == '\\' || (c.is_whitespace() && c != ' '))
}

/// `login_path` with a safe `next` pointing back at `req` (for `GET`/`HEAD` only: other
/// methods cannot be replayed by a redirect).
pub(crate) fn login_url(login_path: &str, req: &impl RequestHead) -> String {
    if !matches!(req.method(), "GET" | "HEAD") {
        return login_path.to_owned();
    }
    let target = match req.query() {
        "" => req.path().to_owned(),
        query => format!("{}?{query}", req.path()),
    };
    let next = safe_next(Some(&target));
    if next == "/" {
        return login_path.to_owned();
    }
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    let sep = if login_path.contains('?') { '&' } else { '?' };
    format!("{login_path}{sep}next={encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::request::TestHead;

    #[test]
    fn login_url_keeps_a_safe_next_for_get_only() {
        let login = "/auth/login";
        let get = TestHead::get("/a/b?c=d");
        assert_eq!(login_url(login, &get), "/auth/login?next=%2Fa%2Fb%3Fc%3Dd");
        let root = TestHead::get("/");
        assert_eq!(login_url(login, &root), "/auth/login");
        let post = TestHead {
            method: "POST".into(),
            ..TestHead::get("/a")
        };
        assert_eq!(login_url(login, &post), "/auth/login");
        let sneaky = TestHead::get("//evil.example/x");
        assert_eq!(login_url(login, &sneaky), "/auth/login");
    }

    #[test]
    fn sanitising_table() {
        let long = format!("/{}", "a".repeat(MAX_NEXT_LEN));
        let kept = format!("/{}", "a".repeat(MAX_NEXT_LEN - 1));
        let cases: &[(&str, &str)] = &[
            ("/", "/"),
            ("/dashboard", "/dashboard"),
            ("/a/b?c=d&e=%2F#frag", "/a/b?c=d&e=%2F#frag"),
            ("/caf\u{e9}", "/caf\u{e9}"),
            ("/with space", "/with space"),
            ("", "/"),
            ("dashboard", "/"),
            ("//evil.example", "/"),
            ("/\\evil.example", "/"),
            ("/a\\b", "/"),
            ("\\\\evil.example", "/"),
            ("https://evil.example/", "/"),
            ("javascript:alert(1)", "/"),
            ("data:text/html,x", "/"),
            ("/\t/evil.example", "/"),
            ("/\n/evil.example", "/"),
            ("/x\r\nSet-Cookie: a=b", "/"),
            ("/x\u{0}", "/"),
            ("/x\u{2028}", "/"),
            (" /x", "/"),
            (&long, "/"),
            (&kept, &kept),
        ];
        for (input, expected) in cases {
            assert_eq!(safe_next(Some(input)), *expected, "{input:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

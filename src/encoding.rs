//! Path-segment encoding exactly like Python's `urllib.parse.quote_plus`, which the
//! reference client uses for user ids and display names.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Everything but `A–Z a–z 0–9 _ . - ~` is escaped; space is handled separately (`+`).
const QUOTE_PLUS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// Encodes `value` like Python's `urllib.parse.quote_plus`: unreserved characters stay,
/// a space becomes `+`, every other byte of the UTF-8 form becomes `%XX` (upper-case hex).
///
/// ```
/// use iampass::quote_plus;
/// assert_eq!(quote_plus("MY USER 1"), "MY+USER+1");
/// assert_eq!(quote_plus("a/b"), "a%2Fb");
/// assert_eq!(quote_plus("é"), "%C3%A9");
/// ```
pub fn quote_plus(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, part) in value.split(' ').enumerate() {
        if i > 0 {
            out.push('+');
        }
        out.extend(utf8_percent_encode(part, QUOTE_PLUS));
    }
    out
}

/// Decodes a `quote_plus`-encoded segment: `+` is a space, `%XX` a byte. Returns `None` when
/// the bytes are not UTF-8.
///
/// ```
/// use iampass::unquote_plus;
/// assert_eq!(unquote_plus("MY+USER+1").as_deref(), Some("MY USER 1"));
/// assert_eq!(unquote_plus("%C3%A9").as_deref(), Some("é"));
/// ```
pub fn unquote_plus(segment: &str) -> Option<String> {
    let spaced: Cow<'_, str> = if segment.contains('+') {
        Cow::Owned(segment.replace('+', " "))
    } else {
        Cow::Borrowed(segment)
    };
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

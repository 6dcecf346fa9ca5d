//! User names as people type them: one trimming rule for every place the crate takes a name,
//! and a stricter check for *new* names so that a sign-up cannot create a look-alike of an
//! existing user (`demo` + an invisible character, a Cyrillic `е`, `DEMO`).
//!
//! - [`trim`]: what the login handlers and [`crate::actix`] helpers apply to every name they take.
//! - [`check_new`]: for an application's own sign-up form: refuses invisible, format, bidi and
//!   control characters and names that mix scripts, and returns the name to store plus its
//!   [`UserNameCheck::collision_key`], which the application keeps unique.
//! - [`collision_key`]: NFKC, case folding and the Unicode confusables skeleton (UTS #39): two
//!   names with the same key look the same to a person.
//!
//! ```
//! use std::collections::HashSet;
//! use iampass::user_name::{UserNameError, check_new};
//!
//! let mut taken = HashSet::new();
//! let alice = check_new("  alice ").unwrap();
//! assert_eq!(alice.name(), "alice");
//! taken.insert(alice.collision_key().to_owned());
//!
//! // Upper case, a Cyrillic "а" and an invisible zero-width space all collide or are refused.
//! assert!(taken.contains(check_new("ALICE").unwrap().collision_key()));
//! assert_eq!(check_new("\u{430}lice").unwrap_err(), UserNameError::MixedScripts);
//! assert!(matches!(check_new("ali\u{200B}ce"), Err(UserNameError::InvisibleCharacter(_))));
//! ```

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::MixedScript;

/// The longest user name, in bytes after trimming, that the crate accepts anywhere.
///
/// ```
/// assert_eq!(iampass::user_name::MAX_LEN, 256);
/// ```
pub const MAX_LEN: usize = 256;

/// Why a user name was refused.
///
/// ```
/// use iampass::user_name::{UserNameError, check_new};
/// assert_eq!(check_new("   ").unwrap_err(), UserNameError::Empty);
/// assert_eq!(UserNameError::Empty.to_string(), "Enter a user name.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserNameError {
    /// Nothing but white space.
    Empty,
    /// Longer than [`MAX_LEN`] bytes.
    TooLong,
    /// A control character (newline, tab, NUL...).
    ControlCharacter(char),
    /// A character that is invisible or changes how text around it is shown: zero-width
    /// characters, bidi controls, soft hyphen, variation selectors, non-ASCII spaces.
    InvisibleCharacter(char),
    /// Letters of more than one script (`pаypal` with a Cyrillic `а`).
    MixedScripts,
}

impl UserNameError {
    /// A stable, machine-readable code (`EMPTY_USER_NAME`, ...), for JSON answers.
    ///
    /// ```
    /// assert_eq!(iampass::user_name::UserNameError::TooLong.code(), "USER_NAME_TOO_LONG");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            UserNameError::Empty => "EMPTY_USER_NAME",
            UserNameError::TooLong => "USER_NAME_TOO_LONG",
            UserNameError::ControlCharacter(_) => "USER_NAME_CONTROL_CHARACTER",
            UserNameError::InvisibleCharacter(_) => "USER_NAME_INVISIBLE_CHARACTER",
            UserNameError::MixedScripts => "USER_NAME_MIXED_SCRIPTS",
        }
    }
}

impl fmt::Display for UserNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserNameError::Empty => f.write_str("Enter a user name."),
            UserNameError::TooLong => write!(f, "The user name is longer than {MAX_LEN} bytes."),
            UserNameError::ControlCharacter(c) => write!(
                f,
                "The user name contains a control character (U+{:04X}).",
                u32::from(*c)
            ),
            UserNameError::InvisibleCharacter(c) => write!(
                f,
                "The user name contains an invisible or formatting character (U+{:04X}).",
                u32::from(*c)
            ),
            UserNameError::MixedScripts => {
                f.write_str("The user name mixes letters of different alphabets; use one alphabet.")
            }
        }
    }
}

impl std::error::Error for UserNameError {}

/// Trims white space around a name (Unicode `White_Space`), the one rule applied wherever the
/// crate takes a user name, and checks it is neither empty nor longer than [`MAX_LEN`].
///
/// It does not judge the characters inside: an existing IAMPASS user id may be anything.
///
/// ```
/// use iampass::user_name::{UserNameError, trim};
/// assert_eq!(trim(" alice\n"), Ok("alice"));
/// assert_eq!(trim("my user 1"), Ok("my user 1"));
/// assert_eq!(trim("\t"), Err(UserNameError::Empty));
/// ```
pub fn trim(raw: &str) -> Result<&str, UserNameError> {
    let name = raw.trim();
    if name.is_empty() {
        Err(UserNameError::Empty)
    } else if name.len() > MAX_LEN {
        Err(UserNameError::TooLong)
    } else {
        Ok(name)
    }
}

/// A new user name that passed [`check_new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNameCheck {
    name: String,
    key: String,
}

impl UserNameCheck {
    /// The name to store and to show: trimmed and in NFC, otherwise as typed.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Keep this unique among the application's users: two names with the same key look
    /// alike. See [`collision_key`].
    pub fn collision_key(&self) -> &str {
        &self.key
    }

    /// The name, consuming the check.
    pub fn into_name(self) -> String {
        self.name
    }
}

/// Checks a name a person wants to sign up with.
///
/// Trims it ([`trim`]), refuses control characters, invisible and formatting characters
/// (Unicode general categories `Cf`, `Zl`, `Zp`, `Co`, `Cs`, `Cn`, spaces other than U+0020,
/// and the default-ignorable fillers and variation selectors) and names whose letters come
/// from more than one script (UTS #39 single-script rule, so `Ωμέγα` passes and `pаypal` does
/// not). The name is returned in NFC with its [`collision_key`].
///
/// ```
/// use iampass::user_name::check_new;
/// let check = check_new("Zoë Smith").unwrap();
/// assert_eq!(check.name(), "Zoë Smith");
/// assert_eq!(check.collision_key(), iampass::user_name::collision_key("ZOË SMITH"));
/// assert!(check_new("demo\u{202E}").is_err());
/// ```
pub fn check_new(raw: &str) -> Result<UserNameCheck, UserNameError> {
    let trimmed = trim(raw)?;
    for c in trimmed.chars() {
        if c.is_control() {
            return Err(UserNameError::ControlCharacter(c));
        }
        if is_invisible(c) {
            return Err(UserNameError::InvisibleCharacter(c));
        }
    }
    if !trimmed.is_single_script() {
        return Err(UserNameError::MixedScripts);
    }
    let name: String = trimmed.nfc().collect();
    Ok(UserNameCheck {
        key: collision_key(&name),
        name,
    })
}

/// The key under which look-alike names coincide: NFKC, full case folding, then the UTS #39
/// confusables skeleton. `DEMO`, `demo`, `ｄｅｍｏ` (full width) and `dеmo` (Cyrillic `е`) share
/// one key.
///
/// ```
/// use iampass::user_name::collision_key;
/// assert_eq!(collision_key("DEMO"), collision_key("demo"));
/// assert_eq!(collision_key("ｄｅｍｏ"), collision_key("demo"));
/// assert_eq!(collision_key("d\u{435}mo"), collision_key("demo"));
/// assert_ne!(collision_key("demo"), collision_key("deno"));
/// ```
pub fn collision_key(name: &str) -> String {
    let folded: String = caseless::default_case_fold_str(&name.nfkc().collect::<String>());
    let skeleton: String = unicode_security::skeleton(&folded).collect();
    // The skeleton may reintroduce upper case (e.g. mapping to Latin capitals); fold again.
    caseless::default_case_fold_str(&skeleton).nfkc().collect()
}

/// Invisible or formatting characters that let two different names look the same.
fn is_invisible(c: char) -> bool {
    if c == ' ' {
        return false;
    }
    matches!(
        c.general_category(),
        GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::SpaceSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::Unassigned
    ) || matches!(
        c,
        // Default-ignorable code points outside `Cf`: combining grapheme joiner, Hangul
        // fillers, Khmer inherent vowels, Mongolian variation selectors, variation selectors.
        '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FFA0}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_is_the_one_rule() {
        assert_eq!(trim(" alice "), Ok("alice"));
        assert_eq!(trim("\u{3000}alice\u{A0}"), Ok("alice"));
        assert_eq!(trim(""), Err(UserNameError::Empty));
        assert_eq!(trim(&"x".repeat(MAX_LEN)), Ok("x".repeat(MAX_LEN).as_str()));
        assert_eq!(trim(&"x".repeat(MAX_LEN + 1)), Err(UserNameError::TooLong));
        // Odd but legal IAMPASS ids pass through untouched.
        for id in ["a+b", "a/b", "100%", "x@y.z", "élan", "my user"] {
            assert_eq!(trim(id), Ok(id));
        }
    }

    #[test]
    fn the_attacked_look_alikes_are_refused_or_collide() {
        let demo = check_new("demo").unwrap();
        for invisible in [
            "demo\u{200B}",
            "de\u{202E}mo",
            "de\u{00AD}mo",
            "demo\u{FEFF}",
            "de\u{2060}mo",
        ] {
            assert!(
                matches!(
                    check_new(invisible),
                    Err(UserNameError::InvisibleCharacter(_))
                ),
                "{invisible:?} must be refused"
            );
        }
        assert_eq!(check_new("d\u{435}mo"), Err(UserNameError::MixedScripts));
        assert_eq!(
            check_new("DEMO").unwrap().collision_key(),
            demo.collision_key()
        );
        assert_eq!(
            check_new("ｄｅｍｏ").unwrap().collision_key(),
            demo.collision_key()
        );
        assert_eq!(collision_key("d\u{435}mo"), demo.collision_key());
        assert_eq!(
            check_new("Stra\u{DF}e").unwrap().collision_key(),
            collision_key("STRASSE")
        );
    }

    #[test]
    fn honest_names_pass() {
        for name in [
            "alice",
            "new user 1",
            "Zoë",
            "Ωμέγα",
            "李小龍",
            "борис",
            "o'brien",
            "a.b-c_d",
        ] {
            let check = check_new(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(check.name(), name);
        }
        assert_ne!(collision_key("alice"), collision_key("alicia"));
        // NFC: a decomposed "é" is stored composed and collides with the composed form.
        let decomposed = check_new("e\u{301}lan").unwrap();
        assert_eq!(decomposed.name(), "\u{e9}lan");
        assert_eq!(decomposed.collision_key(), collision_key("\u{e9}lan"));
    }

    #[test]
    fn controls_and_odd_spaces_are_refused() {
        assert_eq!(
            check_new("a\nb"),
            Err(UserNameError::ControlCharacter('\n'))
        );
        assert_eq!(
            check_new("a\u{0}b"),
            Err(UserNameError::ControlCharacter('\u{0}'))
        );
        assert_eq!(
            check_new("a\u{A0}b"),
            Err(UserNameError::InvisibleCharacter('\u{A0}'))
        );
        assert_eq!(
            check_new("a\u{3164}b"),
            Err(UserNameError::InvisibleCharacter('\u{3164}'))
        );
        assert_eq!(
            check_new("a\u{FE0F}b"),
            Err(UserNameError::InvisibleCharacter('\u{FE0F}'))
        );
        for error in [
            UserNameError::Empty,
            UserNameError::TooLong,
            UserNameError::ControlCharacter('\n'),
            UserNameError::InvisibleCharacter('\u{200B}'),
            UserNameError::MixedScripts,
        ] {
            assert!(!error.to_string().is_empty());
            assert!(
                error
                    .code()
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_')
            );
        }
    }
}

//! A task key: the blake3 of a task's inputs, as 64 lowercase hex digits.
//! Keys come from files and servers too (cache entries, remote listings), so
//! they are checked once, here, and a `Key` is known to be well formed: safe
//! as a file name and in a URL path.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(String);

/// Why a text is not a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// A bounded prefix of what was given, for messages.
    pub shown: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a cache key (64 lowercase hexadecimal digits)",
            self.shown
        )
    }
}

impl std::error::Error for KeyError {}

impl Key {
    pub const LEN: usize = 64;

    pub fn parse(text: &str) -> Result<Key, KeyError> {
        if Key::is_valid(text) {
            Ok(Key(text.to_owned()))
        } else {
            let shown: String = text
                .chars()
                .take(80)
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            Err(KeyError { shown })
        }
    }

    /// True for 64 lowercase hex digits.
    pub fn is_valid(text: &str) -> bool {
        text.len() == Key::LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    /// A key from a blake3 hash (always well formed).
    pub fn from_hash(hash: &[u8; 32]) -> Key {
        use fmt::Write;
        let mut text = String::with_capacity(Key::LEN);
        for byte in hash {
            let _ = write!(text, "{byte:02x}");
        }
        Key(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_64_lowercase_hex_digits_are_keys() {
        let good = "0123456789abcdef".repeat(4);
        assert_eq!(Key::parse(&good).unwrap().as_str(), good);
        for bad in [
            "",
            &good[..63],
            &format!("{good}0"),
            &good.to_uppercase(),
            &format!("../{}", &good[3..]),
            &format!("{}\u{1b}", &good[..63]),
        ] {
            assert!(Key::parse(bad).is_err(), "{bad:?}");
        }
        let long_junk = "\u{1b}[2J".repeat(100);
        let error = Key::parse(&long_junk).unwrap_err();
        assert!(error.shown.chars().count() <= 80);
        assert!(!error.to_string().contains('\u{1b}'));
        assert_eq!(Key::from_hash(&[0xab; 32]).as_str(), "ab".repeat(32));
    }
}

//! Names from hostile sources (archive members, a remote's manifests) as
//! they may appear in a message: bounded and unable to drive a terminal.

/// Longest part of a name quoted in a message.
const QUOTE_MAX_CHARS: usize = 200;

/// A name as it may appear in a message: at most 200 characters, with control
/// characters (and bidirectional overrides) escaped, so a hostile name can
/// neither flood the terminal nor drive it. Longer names end in `…` and their
/// length.
pub fn quote_name(bytes: &[u8]) -> String {
    // A UTF-8 character is at most 4 bytes: this much holds every character
    // that can be shown, and a huge name is never scanned whole.
    let head = &bytes[..bytes.len().min(4 * QUOTE_MAX_CHARS + 4)];
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == QUOTE_MAX_CHARS {
            out.push_str(&format!("… ({} bytes)", bytes.len()));
            break;
        }
        let invisible = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || invisible {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_names_are_bounded_and_inert() {
        assert_eq!(quote_name(b"dist/app"), "dist/app");
        assert_eq!(
            quote_name(b"a\x1b]52;c;ZXZpbA==\x07b"),
            "a\\u{1b}]52;c;ZXZpbA==\\u{7}b"
        );
        assert_eq!(quote_name(b"x\ry\n"), "x\\u{d}y\\u{a}");
        assert_eq!(quote_name("a\u{202e}b".as_bytes()), "a\\u{202e}b");
        let quoted = quote_name(&vec![b'a'; 1 << 20]);
        assert_eq!(quoted, format!("{}… (1048576 bytes)", "a".repeat(200)));
    }
}

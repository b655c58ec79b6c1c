//! Task output made safe for a terminal: a log (live, or replayed from a
//! cache entry anyone with bucket access may have written) must not drive
//! the terminal. Only SGR sequences (`ESC [ … m`, colours) survive, and only
//! when colour is on; every other control sequence is dropped: CSI (also the
//! one-byte C1 form), OSC (clipboard writes, window titles, hyperlinks), DCS,
//! APC, PM, SOS, other escapes, C0 controls but tab, C1 controls and DEL.
//!
//! Lines end at `\n`, `\r\n` and at a lone `\r`: a CI runner that splits lines
//! on CR sees the same lines a person does, and each gets the task prefix.
//! Pure functions over text: no terminal, no state between calls. Dropping
//! never depends on what came in an earlier call, because nothing but a
//! whole, checked SGR sequence ever puts an ESC into the output.

use std::iter::Peekable;
use std::str::Chars;

const ESC: char = '\x1b';
const BEL: char = '\x07';
/// C1 controls that start a sequence, in their one-character form.
const C1_CSI: char = '\u{9b}';
const C1_STRINGS: [char; 5] = ['\u{90}', '\u{98}', '\u{9d}', '\u{9e}', '\u{9f}'];
const C1_ST: char = '\u{9c}';
/// Longer SGR parameter lists are no colour anyone needs; they are dropped.
const MAX_SGR_PARAMS: usize = 64;
/// Resets colour at the end of a line that set one, so it cannot bleed into
/// the next task's prefix.
const SGR_RESET: &str = "\x1b[0m";

/// The display lines of task output (`bytes` may end mid-line): split at
/// `\n`, `\r\n` and lone `\r`, each cleaned by [`clean_line`]. Segments that a
/// CR leaves empty are dropped; an empty line stays one empty line.
pub fn display_lines(bytes: &[u8], keep_sgr: bool) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    if text.is_empty() && bytes.is_empty() {
        return Vec::new();
    }
    let mut lines = Vec::new();
    for line in text.split('\n') {
        let before = lines.len();
        for segment in line.split('\r').filter(|s| !s.is_empty()) {
            lines.push(clean_line(segment, keep_sgr));
        }
        if lines.len() == before {
            lines.push(String::new());
        }
    }
    lines
}

/// A message of ours that may quote hostile text (a member name, a label):
/// no control sequence at all, lines kept (CR counts as a line break).
pub fn clean_message(text: &str) -> String {
    let lines: Vec<String> = text
        .split('\n')
        .flat_map(|line| line.split('\r'))
        .map(|line| clean_line(line, false))
        .collect();
    lines.join("\n")
}

/// One line without `\n` or `\r`: SGR kept when `keep_sgr`, everything else
/// that is not printable text dropped.
pub fn clean_line(line: &str, keep_sgr: bool) -> String {
    let mut out = String::with_capacity(line.len());
    let mut coloured = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push('\t'),
            ESC => match chars.peek().copied() {
                Some('[') => {
                    chars.next();
                    if let Some(params) = control_sequence(&mut chars)
                        && keep_sgr
                    {
                        out.push_str("\x1b[");
                        out.push_str(&params);
                        out.push('m');
                        coloured = true;
                    }
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                Some(' '..='/') => {
                    // nF escapes (charsets and the like): intermediates, then a final.
                    while chars.next_if(|c| matches!(c, ' '..='/')).is_some() {}
                    chars.next_if(|c| matches!(c, '0'..='~'));
                }
                Some('0'..='~') => {
                    // Two-character escapes: ESC c (reset), ESC 7, ESC =, …
                    chars.next();
                }
                // A lone ESC (or one before a control or non-ASCII): dropped alone.
                _ => {}
            },
            C1_CSI => {
                // Dropped even when it is SGR: colour comes only in the ESC [ form.
                let _ = control_sequence(&mut chars);
            }
            c if C1_STRINGS.contains(&c) => skip_string(&mut chars),
            // C0, DEL and C1 (Unicode's Cc category).
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    if coloured {
        out.push_str(SGR_RESET);
    }
    out
}

/// After `ESC [` (or C1 CSI): consumes parameters, intermediates and a
/// final byte. Returns the parameters if the sequence is a plain SGR
/// (`m`, digits, `;` and `:` only). A sequence cut short by anything else is
/// consumed up to there and dropped.
fn control_sequence(chars: &mut Peekable<Chars<'_>>) -> Option<String> {
    let mut params = String::new();
    while let Some(c) = chars.next_if(|c| matches!(c, '0'..='?')) {
        params.push(c);
    }
    let mut intermediates = false;
    while chars.next_if(|c| matches!(c, ' '..='/')).is_some() {
        intermediates = true;
    }
    let last = chars.next_if(|c| matches!(c, '@'..='~'))?;
    let sgr = last == 'm'
        && !intermediates
        && params.len() <= MAX_SGR_PARAMS
        && params
            .chars()
            .all(|c| c.is_ascii_digit() || c == ';' || c == ':');
    sgr.then_some(params)
}

/// Skips the body of an OSC, DCS, SOS, PM or APC string: up to BEL, ST
/// (`ESC \` or C1 ST) or the end of the line. An ESC that does not start ST
/// ends the string and is read again as the start of a new sequence.
fn skip_string(chars: &mut Peekable<Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        match c {
            BEL | C1_ST => {
                chars.next();
                return;
            }
            ESC => {
                let mut ahead = chars.clone();
                ahead.next();
                if ahead.peek() == Some(&'\\') {
                    chars.next();
                    chars.next();
                }
                return;
            }
            _ => {
                chars.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sgr_survives_and_only_with_colour() {
        // (input, with colour, without colour)
        let cases: &[(&str, &str, &str)] = &[
            ("plain text", "plain text", "plain text"),
            ("tab\tkept", "tab\tkept", "tab\tkept"),
            ("\x1b[31mred\x1b[0m", "\x1b[31mred\x1b[0m\x1b[0m", "red"),
            ("\x1b[1;38;5;196mx", "\x1b[1;38;5;196mx\x1b[0m", "x"),
            ("\x1b[38:2::255:0:0mx", "\x1b[38:2::255:0:0mx\x1b[0m", "x"),
            ("\x1b[mx", "\x1b[mx\x1b[0m", "x"),
            // CSI that is not SGR: screen clear, cursor moves, private modes.
            ("a\x1b[2Jb", "ab", "ab"),
            ("a\x1b[Hb\x1b[10;20f", "ab", "ab"),
            ("a\x1b[?1049hb\x1b[?25l", "ab", "ab"),
            ("\x1b[?1m", "", ""),
            ("a\x1b[6n", "a", "a"),
            ("a\x1b[1 qb", "ab", "ab"),
            // OSC: clipboard, title, hyperlink; BEL or ST terminated, or not at all.
            ("a\x1b]52;c;aGVsbG8=\x07b", "ab", "ab"),
            ("a\x1b]0;pwned title\x1b\\b", "ab", "ab"),
            (
                "a\x1b]8;;https://evil/\x1b\\link\x1b]8;;\x1b\\",
                "alink",
                "alink",
            ),
            ("a\x1b]2;unterminated", "a", "a"),
            ("a\x1b]2;x\x1b[31mred", "a\x1b[31mred\x1b[0m", "ared"),
            // DCS, APC, PM, SOS.
            ("a\x1bP1$qm\x1b\\b", "ab", "ab"),
            (
                "a\x1b_apc\x1b\\b\x1b^pm\x07c\x1bXsos\x1b\\d",
                "abcd",
                "abcd",
            ),
            // Other escapes: reset, save cursor, charset, keypad; a lone ESC.
            ("a\x1bcb\x1b7c\x1b(Bd\x1b=e", "abcde", "abcde"),
            ("end\x1b", "end", "end"),
            ("a\x1b\x1b[31mb", "a\x1b[31mb\x1b[0m", "ab"),
            // C0 (but tab), DEL, C1 incl. the one-byte CSI and OSC.
            ("a\x07b\x08c\x00d\x0be\x0cf\x7fg", "abcdefg", "abcdefg"),
            ("a\u{9b}2Jb\u{9b}31mc", "abc", "abc"),
            ("a\u{9d}0;title\u{9c}b\u{85}c", "abc", "abc"),
            // Unicode text stays.
            ("naïve ✓ 日本", "naïve ✓ 日本", "naïve ✓ 日本"),
        ];
        for (input, coloured, plain) in cases {
            assert_eq!(clean_line(input, true), *coloured, "colour on: {input:?}");
            assert_eq!(clean_line(input, false), *plain, "colour off: {input:?}");
        }
    }

    #[test]
    fn no_output_ever_holds_a_control_but_tab_or_a_checked_sgr() {
        // Every two- and three-character combination of interesting characters.
        let alphabet = [
            '\x1b', '[', ']', 'P', '_', '\\', '\x07', 'm', '2', ';', '?', 'J', '\u{9b}', '\u{9c}',
            '\u{9d}', '\x7f', '\x00', ' ', 'a',
        ];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let input: String = [a, b, c].iter().collect();
                    for keep in [true, false] {
                        let out = clean_line(&input, keep);
                        assert_only_sgr(&out, keep, &input);
                    }
                }
            }
        }
    }

    fn assert_only_sgr(out: &str, keep: bool, input: &str) {
        let mut rest = out;
        while let Some(at) = rest.find(|c: char| c.is_control() && c != '\t') {
            let tail = &rest[at..];
            assert!(keep, "{input:?} gave {out:?}");
            let body = tail
                .strip_prefix("\x1b[")
                .unwrap_or_else(|| panic!("{input:?} gave {out:?}"));
            let end = body
                .find('m')
                .unwrap_or_else(|| panic!("{input:?} gave {out:?}"));
            assert!(
                body[..end]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ';' || c == ':'),
                "{input:?} gave {out:?}"
            );
            rest = &body[end + 1..];
        }
    }

    #[test]
    fn lines_split_at_lf_crlf_and_lone_cr() {
        let cases: &[(&[u8], &[&str])] = &[
            (b"", &[]),
            (b"one\n", &["one"]),
            (b"one\ntwo", &["one", "two"]),
            (b"crlf\r\nnext\r\n", &["crlf", "next"]),
            (b"hidden\r::error::pwned\n", &["hidden", "::error::pwned"]),
            (b"10%\r50%\r100%\n", &["10%", "50%", "100%"]),
            (b"\n\nx\n", &["", "", "x"]),
            (b"\r\r\n", &[""]),
            (b"bad \xff utf8\n", &["bad \u{fffd} utf8"]),
        ];
        for (input, expected) in cases {
            assert_eq!(
                display_lines(input, false),
                *expected,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn messages_keep_their_lines_and_lose_every_control() {
        assert_eq!(
            clean_message("failed: member `a\x1b]0;t\x07b\r::error::x`\nhint: fix"),
            "failed: member `ab\n::error::x`\nhint: fix"
        );
    }
}

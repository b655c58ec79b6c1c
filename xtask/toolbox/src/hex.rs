//! Lowercase hex text of digests. blake3's `to_hex().to_string()` pushes
//! each digit through a UTF-8 encoder and then through `Display`: for the
//! one-per-file content hashes of a warm hit that was 9% of its instructions
//! at 300 crates.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lowercase hex, two digits a byte.
pub fn encode(bytes: &[u8]) -> String {
    // Bytes first, then one check that they are text: pushing `char`s
    // re-encodes and re-checks capacity per digit (1,400 instructions for
    // a 32-byte digest against ~150 this way).
    let mut text = vec![0; bytes.len() * 2];
    for (digits, &byte) in text.chunks_exact_mut(2).zip(bytes) {
        digits[0] = DIGITS[usize::from(byte >> 4)];
        digits[1] = DIGITS[usize::from(byte & 0xf)];
    }
    String::from_utf8(text).unwrap_or_else(|_| unreachable!("hex digits are ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_as_two_lowercase_digits() {
        assert_eq!(encode(&[]), "");
        assert_eq!(encode(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(encode(&all), expected);
    }
}

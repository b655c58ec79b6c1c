//! Unpredictable bytes for salts and tokens, from the kernel's generator. The
//! tool runs on Unix only (process groups), so `/dev/urandom` is always there;
//! should it not be readable, a hash of the time and process id stands in
//! (still unique per run, only less secret).

use std::io::Read;

pub fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut hasher = blake3::Hasher::new();
        hasher.update(&now.as_nanos().to_le_bytes());
        hasher.update(&std::process::id().to_le_bytes());
        bytes = *hasher.finalize().as_bytes();
    }
    bytes
}

/// 32 random lowercase hex characters.
pub fn random_token() -> String {
    random_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_differ_and_are_hex() {
        let (a, b) = (super::random_token(), super::random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}

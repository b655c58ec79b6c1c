//! A task's captured log, bounded in memory whatever the task prints.
//!
//! The log is what a cache entry stores and a hit replays. A task that prints
//! 200 MiB must not make the tool hold 200 MiB, nor store it: the capture keeps
//! the first [`HEAD_BYTES`] (where the command and the first error usually are)
//! and the last [`TAIL_BYTES`] (the summary and the final error), and puts one
//! marker line between them saying how many bytes were dropped. Live output
//! still streams every line; only what is kept for the log is bounded. Public
//! so a reporter that holds a task's output back can bound it the same way.

/// Kept from the start of a long log.
pub const HEAD_BYTES: usize = 4 << 20;
/// Kept from the end of a long log.
pub const TAIL_BYTES: usize = 1 << 20;

// A capped log must fit in a cache entry (with room for the marker line).
const _: () = assert!((HEAD_BYTES + TAIL_BYTES + 4096) as u64 <= xtask_cache::MAX_LOG_BYTES);

/// How far into the tail to look for a line start, so the kept tail begins
/// with a whole line.
const LINE_START_SEARCH: usize = 64 << 10;

#[derive(Debug, Default)]
pub struct LogCapture {
    head: Vec<u8>,
    /// The most recent bytes past the head; trimmed to `TAIL_BYTES` whenever
    /// it reaches twice that, so appending stays cheap.
    tail: Vec<u8>,
    /// Bytes trimmed from the front of `tail` so far.
    dropped: u64,
}

impl LogCapture {
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < HEAD_BYTES {
            let n = bytes.len().min(HEAD_BYTES - self.head.len());
            self.head.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        if bytes.is_empty() {
            return;
        }
        if bytes.len() >= TAIL_BYTES {
            self.dropped += (self.tail.len() + bytes.len() - TAIL_BYTES) as u64;
            self.tail.clear();
            self.tail
                .extend_from_slice(&bytes[bytes.len() - TAIL_BYTES..]);
            return;
        }
        self.tail.extend_from_slice(bytes);
        if self.tail.len() >= 2 * TAIL_BYTES {
            let excess = self.tail.len() - TAIL_BYTES;
            self.tail.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// The log to store and replay: all of it if it fit, else the head, a
    /// marker line and the tail (from its first whole line).
    pub fn finish(self) -> Vec<u8> {
        let LogCapture {
            mut head,
            mut tail,
            mut dropped,
        } = self;
        if tail.len() > TAIL_BYTES {
            let excess = tail.len() - TAIL_BYTES;
            tail.drain(..excess);
            dropped += excess as u64;
        }
        if dropped == 0 {
            head.extend_from_slice(&tail);
            return head;
        }
        // A partial first line is dropped too, so the tail reads cleanly.
        let search = &tail[..tail.len().min(LINE_START_SEARCH)];
        if let Some(newline) = search.iter().position(|&b| b == b'\n') {
            tail.drain(..=newline);
            dropped += newline as u64 + 1;
        }
        // Likewise the head ends at its last whole line.
        let search_from = head.len().saturating_sub(LINE_START_SEARCH);
        if let Some(newline) = head[search_from..].iter().rposition(|&b| b == b'\n') {
            let end = search_from + newline + 1;
            dropped += (head.len() - end) as u64;
            head.truncate(end);
        } else if head.last().is_some_and(|&b| b != b'\n') {
            head.push(b'\n');
        }
        head.extend_from_slice(
            format!(
                "[xtask: {dropped} bytes of output dropped here; a log keeps its first {} MiB \
                 and its last {} MiB]\n",
                HEAD_BYTES >> 20,
                TAIL_BYTES >> 20
            )
            .as_bytes(),
        );
        head.extend_from_slice(&tail);
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_log_is_kept_whole() {
        let mut log = LogCapture::default();
        log.push(b"one\n");
        log.push(b"two");
        assert_eq!(log.finish(), b"one\ntwo");
    }

    #[test]
    fn a_long_log_keeps_its_ends_and_says_what_was_dropped() {
        let mut log = LogCapture::default();
        let line = |i: usize| format!("line {i:08}\n");
        let lines = 2_000_000; // 28 MB of 14-byte lines
        let mut total = 0;
        for i in 0..lines {
            let text = line(i);
            total += text.len();
            log.push(text.as_bytes());
        }
        let kept = log.finish();
        assert!(
            kept.len() <= HEAD_BYTES + TAIL_BYTES + 200,
            "{}",
            kept.len()
        );
        let text = String::from_utf8(kept).unwrap();
        assert!(text.starts_with(&line(0)));
        assert!(text.ends_with(&line(lines - 1)));
        let marker = text
            .lines()
            .find(|l| l.starts_with("[xtask: "))
            .expect("marker");
        let dropped: usize = marker["[xtask: ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // Every byte is either kept or counted as dropped.
        assert_eq!(text.len() - marker.len() - 1 + dropped, total, "{marker}");
        // Whole lines on both sides of the marker.
        let after = text.split(marker).nth(1).unwrap();
        assert!(after.starts_with("\nline "), "{}", &after[..20]);
    }

    #[test]
    fn one_huge_chunk_is_bounded_too() {
        let mut log = LogCapture::default();
        log.push(&vec![b'x'; 20 << 20]);
        log.push(b"\nend\n");
        let kept = log.finish();
        assert!(kept.len() <= HEAD_BYTES + TAIL_BYTES + 200);
        assert!(kept.ends_with(b"\nend\n") || kept.ends_with(b"]\nend\n"));
    }
}

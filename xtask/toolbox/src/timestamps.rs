//! File timestamps as the caches compare them: nanoseconds since the epoch,
//! and the racy-timestamp rule (as in git's index) that the stat cache, the
//! output state and the head index share. A file changed within
//! [`RACY_MARGIN`] of the moment it was looked at could change again within
//! the same timestamp tick without its stat changing, so such a record is
//! not trusted.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Coarser than any filesystem timestamp granularity we expect.
pub const RACY_MARGIN: Duration = Duration::from_secs(2);

/// [`RACY_MARGIN`] in nanoseconds.
pub const RACY_MARGIN_NS: i64 = RACY_MARGIN.as_nanos() as i64;

pub fn mtime_ns(meta: &Metadata) -> i64 {
    meta.mtime() * 1_000_000_000 + meta.mtime_nsec()
}

pub fn ctime_ns(meta: &Metadata) -> i64 {
    meta.ctime() * 1_000_000_000 + meta.ctime_nsec()
}

/// Nanoseconds since the epoch (0 before it, saturating far after it).
pub fn ns_since_epoch(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Whether a file last changed at `changed_ns` was too close to `seen_ns`,
/// the moment it was looked at, for its stat to be trusted later.
pub fn is_racy(changed_ns: i64, seen_ns: i64) -> bool {
    changed_ns >= seen_ns.saturating_sub(RACY_MARGIN_NS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_the_racy_rule() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let meta = std::fs::metadata(&file).unwrap();
        let now = ns_since_epoch(SystemTime::now());
        assert!(mtime_ns(&meta) <= now && ctime_ns(&meta) <= now);
        assert!(is_racy(mtime_ns(&meta), now), "just written");
        assert!(!is_racy(now - RACY_MARGIN_NS - 1, now));
        assert!(
            is_racy(now - RACY_MARGIN_NS, now),
            "the margin itself is racy"
        );
        assert_eq!(ns_since_epoch(UNIX_EPOCH - Duration::from_secs(1)), 0);
    }
}

//! The head index against real entry files: what it answers, what makes it
//! step aside (a rewritten, replaced, damaged or removed entry, a racy or
//! stale record), and what a hostile index file is.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::{Artifact, CacheError, Corruption, Entry, LocalCache, Lookup};

fn key(n: u32) -> String {
    blake3::hash(&n.to_le_bytes()).to_hex().to_string()
}

struct Fixture {
    dir: tempfile::TempDir,
    cache: LocalCache,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(&dir.path().join("cache")).unwrap();
        Fixture { dir, cache }
    }

    fn ws(&self) -> &Path {
        self.dir.path()
    }

    fn index_path(&self) -> PathBuf {
        self.dir.path().join("entry-heads.bin")
    }

    /// The index as a run loads it, recording files however new they are.
    fn heads(&self) -> HeadIndex {
        HeadIndex {
            racy_margin_ns: 0,
            ..HeadIndex::load(&self.index_path())
        }
    }

    fn store(&self, key: &str, output: &[u8], log: &[u8]) {
        std::fs::write(self.ws().join("out.txt"), output).unwrap();
        self.cache
            .store(
                key,
                &Artifact {
                    meta: br#"{"outputs":{"out.txt":"h"}}"#,
                    log,
                    base_dir: self.ws(),
                    outputs: &["out.txt".into()],
                },
            )
            .unwrap();
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        self.cache.entry_path(key).unwrap()
    }

    /// One run: a lookup through a freshly loaded index, then its save.
    fn run(&self, key: &str) -> Lookup {
        let heads = self.heads();
        let lookup = self.cache.lookup_indexed(key, &heads).unwrap();
        heads.save().unwrap();
        lookup
    }
}

fn hit(lookup: Lookup) -> Entry {
    match lookup {
        Lookup::Hit(entry) => entry,
        other => panic!("expected a hit, got {other:?}"),
    }
}

/// Past the coarse clock tick, so a change made now has another ctime.
fn next_tick() {
    std::thread::sleep(Duration::from_millis(30));
}

#[test]
fn a_verified_head_answers_the_next_run_without_opening_the_entry() {
    let f = Fixture::new();
    let k = key(1);
    f.store(&k, b"built", b"compiling\n");
    next_tick();
    let first = hit(f.run(&k));
    assert!(first.file.is_some(), "the first lookup verifies the file");
    let second = hit(f.run(&k));
    assert!(second.file.is_none(), "the second is answered by the index");
    assert_eq!(second.log(), b"compiling\n");
    assert_eq!(second.meta(), first.meta());

    // Its restore opens the file, verifies it and writes the output.
    std::fs::remove_file(f.ws().join("out.txt")).unwrap();
    second
        .restore_outputs(f.ws(), &Default::default(), &|_: &Path| true)
        .unwrap();
    assert_eq!(std::fs::read(f.ws().join("out.txt")).unwrap(), b"built");
}

#[test]
fn a_changed_entry_file_takes_the_full_path() {
    let f = Fixture::new();
    let k = key(2);
    f.store(&k, b"built", b"old log\n");
    next_tick();
    hit(f.run(&k));

    // The same bytes written again in place: only the ctime says so.
    let path = f.entry_path(&k);
    let bytes = std::fs::read(&path).unwrap();
    next_tick();
    std::fs::write(&path, &bytes).unwrap();
    assert!(hit(f.run(&k)).file.is_some());

    // Replaced by another valid entry (a new inode): its own head is read.
    next_tick();
    f.store(&k, b"built again", b"new log\n");
    next_tick();
    let entry = hit(f.run(&k));
    assert!(entry.file.is_some());
    assert_eq!(entry.log(), b"new log\n");

    // Damaged since it was recorded: the full path finds it corrupt.
    hit(f.run(&k));
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    next_tick();
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(f.run(&k), Lookup::Corrupt { .. }));
}

#[test]
fn a_removed_entry_is_a_miss() {
    let f = Fixture::new();
    let k = key(3);
    f.store(&k, b"built", b"log\n");
    next_tick();
    hit(f.run(&k));
    std::fs::remove_file(f.entry_path(&k)).unwrap();
    assert!(matches!(f.run(&k), Lookup::Miss));
}

#[test]
fn restore_refuses_an_entry_replaced_after_an_indexed_lookup() {
    let f = Fixture::new();
    let k = key(4);
    f.store(&k, b"built", b"first\n");
    next_tick();
    hit(f.run(&k));
    let entry = hit(f.run(&k));
    assert!(entry.file.is_none());
    // Between the lookup and the restore, another run stores the key again.
    f.store(&k, b"other", b"second\n");
    std::fs::remove_file(f.ws().join("out.txt")).unwrap();
    let error = entry
        .restore_outputs(f.ws(), &Default::default(), &|_: &Path| true)
        .unwrap_err();
    assert!(
        matches!(
            error,
            CacheError::Corrupt {
                reason: Corruption::Changed,
                ..
            }
        ),
        "{error}"
    );
    assert!(!f.ws().join("out.txt").exists(), "nothing was written");
}

#[test]
fn a_just_written_entry_is_not_recorded() {
    let f = Fixture::new();
    let k = key(5);
    f.store(&k, b"built", b"log\n");
    for _ in 0..2 {
        // The real margin: the file changed less than two seconds ago.
        let heads = HeadIndex::load(&f.index_path());
        assert!(
            hit(f.cache.lookup_indexed(&k, &heads).unwrap())
                .file
                .is_some()
        );
        heads.save().unwrap();
    }
    assert!(!f.index_path().exists(), "nothing was worth writing");
}

#[test]
fn an_mtime_due_for_refresh_takes_the_full_path_which_refreshes_it() {
    let f = Fixture::new();
    let k = key(6);
    f.store(&k, b"built", b"log\n");
    let path = f.entry_path(&k);
    let old = SystemTime::now() - Duration::from_secs(3 * MTIME_REFRESH_SECS);
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    next_tick();
    let mtime = || fs::metadata(&path).unwrap().modified().unwrap();
    hit(f.run(&k));
    let refreshed = mtime();
    assert!(refreshed > old + Duration::from_secs(MTIME_REFRESH_SECS));

    // A recent mtime is left alone: the next runs write no metadata and
    // are answered by the index.
    next_tick();
    hit(f.run(&k));
    let entry = hit(f.run(&k));
    assert!(entry.file.is_none());
    assert_eq!(mtime(), refreshed);
}

#[test]
fn a_warm_run_does_not_rewrite_the_index() {
    let f = Fixture::new();
    let k = key(7);
    f.store(&k, b"built", b"log\n");
    next_tick();
    hit(f.run(&k));
    let written = fs::metadata(f.index_path()).unwrap();
    next_tick();
    assert!(hit(f.run(&k)).file.is_none());
    let after = fs::metadata(f.index_path()).unwrap();
    assert_eq!(written.ino(), after.ino());
    assert_eq!(written.mtime_nsec(), after.mtime_nsec());
}

#[test]
fn records_of_other_tasks_survive_a_run_that_did_not_use_them() {
    let f = Fixture::new();
    let (a, b) = (key(8), key(9));
    f.store(&a, b"a", b"a log\n");
    f.store(&b, b"b", b"b log\n");
    next_tick();
    hit(f.run(&a));
    hit(f.run(&b));
    assert!(hit(f.run(&a)).file.is_none());
    assert!(hit(f.run(&b)).file.is_none());
}

fn record(used_secs: u64, log: &[u8]) -> Record {
    Record {
        identity: Identity {
            size: 1,
            mtime_ns: 2,
            ctime_ns: 3,
            inode: 4,
            device: 5,
        },
        used_secs,
        meta: b"{}".to_vec(),
        log: log.to_vec(),
    }
}

#[test]
fn save_drops_records_unused_for_a_week() {
    let f = Fixture::new();
    let now = now_secs();
    let (recent, stale, new) = (key(10), key(11), key(12));
    let loaded = HashMap::from([
        (recent.clone(), record(now - 3600 * 24, b"recent")),
        (stale.clone(), record(now - KEEP_SECS - 60, b"stale")),
    ]);
    fs::write(f.index_path(), encode(&loaded.iter().collect::<Vec<_>>())).unwrap();
    let heads = HeadIndex::load(&f.index_path());
    assert_eq!(heads.loaded.len(), 2);
    heads
        .fresh_records()
        .insert(new.clone(), record(now, b"new"));
    heads.save().unwrap();
    let saved = HeadIndex::load(&f.index_path()).loaded;
    let mut kept: Vec<&String> = saved.keys().collect();
    kept.sort();
    let mut want = vec![&recent, &new];
    want.sort();
    assert_eq!(kept, want);
}

#[test]
fn encode_stops_at_the_size_bound_keeping_the_most_recent() {
    let big = vec![b'x'; MAX_RECORD_LOG];
    let keys: Vec<String> = (0..80).map(key).collect();
    let records: Vec<Record> = (0..80).map(|n| record(1000 - n, &big)).collect();
    let pairs: Vec<(&String, &Record)> = keys.iter().zip(&records).collect();
    let bytes = encode(&pairs);
    assert!(bytes.len() <= MAX_INDEX_BYTES);
    let decoded = decode(&bytes).unwrap();
    assert!(
        decoded.len() < 80 && decoded.len() > 50,
        "{}",
        decoded.len()
    );
    assert!(decoded.contains_key(&keys[0]));
    assert!(!decoded.contains_key(&keys[79]));
}

/// An encoded index with its trailer recomputed after `edit`: a file that
/// passes the checksum but lies in its content.
fn resealed(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let (k, r) = (key(13), record(5, b"log"));
    let mut bytes = encode(&[(&k, &r)]);
    bytes.truncate(bytes.len() - TRAILER_LEN);
    edit(&mut bytes);
    let hash = blake3::hash(&bytes);
    bytes.extend_from_slice(hash.as_bytes());
    bytes
}

#[test]
fn a_hostile_index_is_an_empty_one() {
    let (k, r) = (key(14), record(5, b"log"));
    let good = encode(&[(&k, &r)]);
    assert_eq!(decode(&good).unwrap().len(), 1);
    let meta_len_at = 8 + KEY_LEN + 6 * 8;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("cut", good[..good.len() - 1].to_vec()),
        ("bit flip", {
            let mut b = good.clone();
            b[20] ^= 1;
            b
        }),
        ("other magic", resealed(|b| b[0] = b'Y')),
        (
            "a count beyond the records",
            resealed(|b| b[4..8].copy_from_slice(&u32::MAX.to_le_bytes())),
        ),
        (
            "fewer records than bytes",
            resealed(|b| b.extend_from_slice(b"junk")),
        ),
        ("a key that is not one", resealed(|b| b[8] = b'/')),
        (
            "a part longer than the file",
            resealed(|b| b[meta_len_at..meta_len_at + 4].copy_from_slice(&1000u32.to_le_bytes())),
        ),
        (
            "a part over its bound",
            resealed(|b| {
                let len = (MAX_RECORD_META as u32 + 1).to_le_bytes();
                b[meta_len_at..meta_len_at + 4].copy_from_slice(&len);
            }),
        ),
        (
            "the same key twice",
            resealed(|b| {
                let record = b[8..].to_vec();
                b.extend_from_slice(&record);
                b[4..8].copy_from_slice(&2u32.to_le_bytes());
            }),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, bytes) in cases {
        assert!(decode(&bytes).is_none(), "{what}");
        let path = dir.path().join("entry-heads.bin");
        fs::write(&path, &bytes).unwrap();
        assert!(HeadIndex::load(&path).loaded.is_empty(), "{what}");
    }
    // Larger than any index this version writes: not read at all.
    let path = dir.path().join("huge.bin");
    let file = File::create(&path).unwrap();
    file.set_len(MAX_INDEX_BYTES as u64 + 1).unwrap();
    assert!(HeadIndex::load(&path).loaded.is_empty());
}

//! The stamp: what every input of the engine looked like (size, times, inode)
//! when it was last built, so that a launch can tell "nothing changed" from
//! stat calls alone, without asking cargo.
//!
//! An input that changed after the build began, or in the same tick of the
//! file system's clock, is recorded as unsettled: it never matches, so the
//! next launch asks cargo again (git's racy-timestamp rule).
//! The stamp is text another run wrote: anything unexpected in it reads as
//! "no stamp", never as "fresh".

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

const FORMAT: &str = "xtask-launch stamp v1";

/// A file as `stat` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileState {
    Absent,
    Present(Identity),
    /// A file the build writes (the engine binary), without its change time:
    /// cargo re-links an up-to-date binary on every build, which changes
    /// only that.
    Built(Identity),
    /// Changed during the build, or could not be read: matches nothing.
    Unsettled,
}

/// Size, modification and change times (ns since the epoch), inode and
/// device: an edit, a replacement or a `touch` changes at least one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    len: u64,
    modified_ns: i128,
    changed_ns: i128,
    inode: u64,
    device: u64,
}

impl FileState {
    pub fn of(path: &Path) -> FileState {
        match std::fs::metadata(path) {
            Ok(meta) => FileState::Present(Identity::of(&meta)),
            Err(e) if is_absent(&e) => FileState::Absent,
            Err(_) => FileState::Unsettled,
        }
    }

    fn of_output(path: &Path) -> FileState {
        match FileState::of(path) {
            FileState::Present(id) => FileState::Built(Identity {
                changed_ns: 0,
                ..id
            }),
            state => state,
        }
    }

    /// The state of `path` now, seen the way this state was recorded.
    fn now_like(&self, path: &Path) -> FileState {
        match self {
            FileState::Built(_) => FileState::of_output(path),
            _ => FileState::of(path),
        }
    }

    /// This state, or unsettled if the file changed at or after
    /// `build_began`, a time read from the file system's own clock (as cargo
    /// reads the time it compares sources with): a change in the same clock
    /// tick as the start counts as during the build. So this is at least as
    /// strict as cargo's own check, which treats such a file as unchanged.
    fn settled(self, build_began: i128) -> FileState {
        match self {
            FileState::Present(id) if id.modified_ns.max(id.changed_ns) >= build_began => {
                FileState::Unsettled
            }
            state => state,
        }
    }
}

fn is_absent(error: &io::Error) -> bool {
    // ENOTDIR: a directory on the way is now a file, so the file is gone too.
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

impl Identity {
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        Identity {
            len: meta.len(),
            modified_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            changed_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            inode: meta.ino(),
            device: meta.dev(),
        }
    }

    #[cfg(not(unix))]
    fn of(meta: &std::fs::Metadata) -> Identity {
        let ns = |time: io::Result<SystemTime>| time.map(epoch_ns).unwrap_or(0);
        Identity {
            len: meta.len(),
            modified_ns: ns(meta.modified()),
            changed_ns: ns(meta.created()),
            inode: 0,
            device: 0,
        }
    }
}

pub fn epoch_ns(time: SystemTime) -> i128 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Stamp {
    /// What the files alone do not say: the launcher's version, the cargo
    /// that builds, the workspace. A different key is a different build.
    key: String,
    entries: Vec<(PathBuf, FileState)>,
}

/// Why a stamp does not vouch for the engine.
#[derive(Debug, PartialEq, Eq)]
pub enum Staleness {
    /// Built for another key (another cargo, launcher or workspace).
    OtherBuild,
    /// This file differs from when the engine was built (or changed during
    /// that build).
    Changed(PathBuf),
}

impl Stamp {
    /// Records `inputs` against the time the build began, and `outputs`
    /// (files the build itself writes, like the engine binary) as they are.
    /// `None` if a path cannot be written down (not UTF-8, or a line break).
    pub fn record(
        key: String,
        inputs: &[PathBuf],
        outputs: &[PathBuf],
        build_began: SystemTime,
    ) -> Option<Stamp> {
        let began = epoch_ns(build_began);
        let mut entries = Vec::with_capacity(inputs.len() + outputs.len());
        for path in inputs {
            entries.push((path.clone(), FileState::of(path).settled(began)));
        }
        for path in outputs {
            entries.push((path.clone(), FileState::of_output(path)));
        }
        let writable = |path: &Path| path.to_str().is_some_and(|p| !p.contains(['\n', '\r']));
        (!key.contains(['\n', '\r']) && entries.iter().all(|(path, _)| writable(path)))
            .then_some(Stamp { key, entries })
    }

    /// What the build was for (see `stamp_key`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `None` if the engine built under this stamp is still what `key` and
    /// the files ask for; else the first reason it is not.
    pub fn staleness(&self, key: &str) -> Option<Staleness> {
        if self.key != key {
            return Some(Staleness::OtherBuild);
        }
        self.entries.iter().find_map(|(path, recorded)| {
            let unchanged =
                *recorded != FileState::Unsettled && recorded.now_like(path) == *recorded;
            (!unchanged).then(|| Staleness::Changed(path.clone()))
        })
    }

    pub fn encode(&self) -> String {
        let mut text = format!("{FORMAT}\nkey {}\n", self.key);
        for (path, state) in &self.entries {
            let path = path.to_str().expect("record() admits UTF-8 paths only");
            match state {
                FileState::Absent => text.push_str(&format!("absent {path}\n")),
                FileState::Unsettled => text.push_str(&format!("unsettled {path}\n")),
                FileState::Present(id) | FileState::Built(id) => text.push_str(&format!(
                    "{} {} {} {} {} {} {path}\n",
                    if matches!(state, FileState::Built(_)) {
                        "built"
                    } else {
                        "present"
                    },
                    id.len,
                    id.modified_ns,
                    id.changed_ns,
                    id.inode,
                    id.device
                )),
            }
        }
        text
    }

    /// The stamp in `text`, or `None` for anything but a well-formed one.
    pub fn decode(text: &str) -> Option<Stamp> {
        let mut lines = text.lines();
        if lines.next()? != FORMAT {
            return None;
        }
        let key = lines.next()?.strip_prefix("key ")?.to_string();
        let mut entries = Vec::new();
        for line in lines {
            let (kind, rest) = line.split_once(' ')?;
            let (state, path) = match kind {
                "absent" => (FileState::Absent, rest),
                "unsettled" => (FileState::Unsettled, rest),
                "present" | "built" => {
                    let mut fields = rest.splitn(6, ' ');
                    let mut number = || fields.next().map(str::to_string);
                    let id = Identity {
                        len: number()?.parse().ok()?,
                        modified_ns: number()?.parse().ok()?,
                        changed_ns: number()?.parse().ok()?,
                        inode: number()?.parse().ok()?,
                        device: number()?.parse().ok()?,
                    };
                    let state = if kind == "built" {
                        FileState::Built(id)
                    } else {
                        FileState::Present(id)
                    };
                    (state, fields.next()?)
                }
                _ => return None,
            };
            if path.is_empty() {
                return None;
            }
            entries.push((PathBuf::from(path), state));
        }
        Some(Stamp { key, entries })
    }

    /// The stamp at `path`; `None` if there is none or it is unreadable.
    pub fn read(path: &Path) -> Option<Stamp> {
        // A stamp is a few KiB; a huge file there is not one of ours.
        const LIMIT: u64 = 1 << 20;
        let file = std::fs::File::open(path).ok()?;
        let mut text = String::new();
        io::Read::read_to_string(&mut io::Read::take(file, LIMIT + 1), &mut text).ok()?;
        if text.len() as u64 > LIMIT {
            return None;
        }
        Stamp::decode(&text)
    }

    /// Writes the stamp to `path` whole (a concurrent reader sees the old
    /// stamp or the new one).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        crate::atomic::write(path, &self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;
    use std::time::Duration;

    /// A build that began well after the test wrote its files.
    fn a_minute_from_now() -> SystemTime {
        SystemTime::now() + Duration::from_secs(60)
    }

    /// Past the file system clock's tick, so a rewrite gets a new timestamp.
    fn next_tick() {
        std::thread::sleep(Duration::from_millis(50));
    }

    #[test]
    fn an_untouched_file_is_fresh_and_any_edit_or_removal_is_not() {
        let dir = TestDir::new("stamp-edit");
        let source = dir.write("lib.rs", "pub fn a() {}");
        let missing = dir.path().join("rust-toolchain.toml");
        // The build "begins" a minute from now: everything is settled before it.
        let stamp = Stamp::record(
            "k".into(),
            &[source.clone(), missing.clone()],
            &[],
            a_minute_from_now(),
        )
        .unwrap();
        assert_eq!(stamp.staleness("k"), None);
        assert_eq!(stamp.staleness("other"), Some(Staleness::OtherBuild));

        std::fs::write(&missing, "[toolchain]").unwrap();
        assert_eq!(
            stamp.staleness("k"),
            Some(Staleness::Changed(missing.clone()))
        );
        std::fs::remove_file(&missing).unwrap();
        assert_eq!(stamp.staleness("k"), None);

        // Same size, same content even: a rewrite is a change.
        next_tick();
        std::fs::write(&source, "pub fn a() {}").unwrap();
        assert_eq!(
            stamp.staleness("k"),
            Some(Staleness::Changed(source.clone()))
        );
    }

    #[test]
    fn a_file_changed_after_the_build_began_is_never_fresh() {
        let dir = TestDir::new("stamp-racy");
        let began = SystemTime::now() - Duration::from_secs(10);
        // Written "during" the build: the stamp cannot vouch for what cargo read.
        let source = dir.write("lib.rs", "pub fn b() {}");
        let stamp = Stamp::record("k".into(), std::slice::from_ref(&source), &[], began).unwrap();
        assert_eq!(
            stamp.staleness("k"),
            Some(Staleness::Changed(source.clone()))
        );
        // And it stays so through an encode/decode round trip.
        let decoded = Stamp::decode(&stamp.encode()).unwrap();
        assert_eq!(decoded.staleness("k"), Some(Staleness::Changed(source)));
    }

    #[test]
    fn outputs_are_recorded_as_they_are_even_when_just_written() {
        let dir = TestDir::new("stamp-output");
        let began = SystemTime::now() - Duration::from_secs(10);
        let engine = dir.write("xtask", "binary");
        let stamp = Stamp::record("k".into(), &[], std::slice::from_ref(&engine), began).unwrap();
        assert_eq!(stamp.staleness("k"), None);
        // Another build replaced the binary: not the one this stamp describes.
        next_tick();
        std::fs::remove_file(&engine).unwrap();
        dir.write("xtask", "binary");
        assert_eq!(stamp.staleness("k"), Some(Staleness::Changed(engine)));
    }

    #[cfg(unix)]
    #[test]
    fn only_the_change_time_of_a_relinked_binary_is_not_a_change() {
        let dir = TestDir::new("stamp-relink");
        let engine = dir.write("xtask", "binary");
        let source = dir.write("lib.rs", "pub fn c() {}");
        let stamp = Stamp::record(
            "k".into(),
            std::slice::from_ref(&source),
            std::slice::from_ref(&engine),
            a_minute_from_now(),
        )
        .unwrap();
        next_tick();
        // What cargo's re-link of an up-to-date binary does to it: a new
        // hard link moves the inode's change time and nothing else.
        std::fs::hard_link(&engine, dir.path().join("deps-xtask")).unwrap();
        assert_eq!(stamp.staleness("k"), None);
        // For a source, a moved change time is a change (a chmod, a rewrite
        // that kept the modification time).
        std::fs::hard_link(&source, dir.path().join("lib-link.rs")).unwrap();
        assert_eq!(stamp.staleness("k"), Some(Staleness::Changed(source)));
    }

    #[test]
    fn encode_and_decode_round_trip() {
        let dir = TestDir::new("stamp-round-trip");
        let outputs = [dir.write("target/xtask", "binary")];
        let inputs = vec![
            dir.write("a b.rs", "x"),
            dir.path().join("absent"),
            dir.write("c", ""),
        ];
        let stamp = Stamp::record(
            "key with spaces".into(),
            &inputs,
            &outputs,
            a_minute_from_now(),
        )
        .unwrap();
        assert_eq!(Stamp::decode(&stamp.encode()), Some(stamp));
    }

    #[test]
    fn unwritable_paths_record_no_stamp() {
        let line_break = PathBuf::from("/w/a\nb.rs");
        assert_eq!(
            Stamp::record("k".into(), &[line_break], &[], a_minute_from_now()),
            None
        );
        assert_eq!(
            Stamp::record("k\n".into(), &[], &[], a_minute_from_now()),
            None
        );
    }

    #[test]
    fn anything_but_a_well_formed_stamp_decodes_to_none() {
        let good = "xtask-launch stamp v1\nkey k\npresent 1 2 3 4 5 /w/a.rs\nabsent /w/b\nunsettled /w/c\nbuilt 1 2 0 4 5 /t/xtask\n";
        assert!(Stamp::decode(good).is_some());
        for bad in [
            "",
            "xtask-launch stamp v0\nkey k\n",
            "xtask-launch stamp v1\n",
            "xtask-launch stamp v1\nkeyk\n",
            "xtask-launch stamp v1\nkey k\npresent 1 2 3 4 /w/a.rs\n",
            "xtask-launch stamp v1\nkey k\npresent 1 2 3 4 x /w/a.rs\n",
            "xtask-launch stamp v1\nkey k\npresent 99999999999999999999999 2 3 4 5 /w/a.rs\n",
            "xtask-launch stamp v1\nkey k\npresent -1 2 3 4 5 /w/a.rs\n",
            "xtask-launch stamp v1\nkey k\npresent 1 2 3 4 5\n",
            "xtask-launch stamp v1\nkey k\nabsent \n",
            "xtask-launch stamp v1\nkey k\nfresh /w/a.rs\n",
            "xtask-launch stamp v1\nkey k\n\n",
            "\u{0}\u{ffff}garbage",
        ] {
            assert_eq!(Stamp::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_huge_or_missing_stamp_file_reads_as_none() {
        let dir = TestDir::new("stamp-read");
        assert_eq!(Stamp::read(&dir.path().join("stamp")), None);
        let huge = dir.write(
            "stamp",
            &format!("{FORMAT}\nkey k\n{}", "absent /x\n".repeat(200_000)),
        );
        assert_eq!(Stamp::read(&huge), None);
    }
}

//! The paths git tracks, read from its index file (`.git/index`, versions 2
//! to 4). Git never ignores a tracked file, whatever `.gitignore` or
//! `.git/info/exclude` say, so neither may the walk: this list puts back the
//! tracked files an ignore rule hid. The index is another program's file:
//! every count and length is checked against the bytes that are there.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// An index larger than this is not read (hundreds of thousands of paths
/// fit in far less); the walk's view stands alone then.
const MAX_INDEX_BYTES: u64 = 256 << 20;
/// Fixed part of an index entry, before the flags' optional extension.
const ENTRY_FIXED: usize = 62;

/// Calls `f` with the tracked paths under `root`, relative to it with `/`
/// separators, in the index's order; with none when `root` is not in a git
/// work tree or the index cannot be read. The paths borrow the index's own
/// bytes (a warm run reads the whole index and copied every path twice).
pub(crate) fn with_tracked_paths<R>(root: &Path, f: impl FnOnce(&[&str]) -> R) -> R {
    let Some((bytes, prefix)) = read_index(root) else {
        return f(&[]);
    };
    let Some(paths) = parse(&bytes) else {
        return f(&[]);
    };
    let relative: Vec<&str> = paths
        .iter()
        .filter_map(|path| path.strip_prefix(prefix.as_str()))
        .collect();
    f(&relative)
}

/// The index file's bytes and the prefix of `root` inside its work tree
/// (`""` or `dir/`).
fn read_index(root: &Path) -> Option<(Vec<u8>, String)> {
    let (work_tree, index) = locate(root)?;
    if std::fs::metadata(&index).ok()?.len() > MAX_INDEX_BYTES {
        return None;
    }
    let bytes = std::fs::read(&index).ok()?;
    let prefix = match root.strip_prefix(&work_tree).ok()? {
        rel if rel.as_os_str().is_empty() => String::new(),
        rel => format!("{}/", rel.to_string_lossy()),
    };
    Some((bytes, prefix))
}

/// The work tree and index file of the repository containing `dir`.
fn locate(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    for candidate in dir.ancestors() {
        let dot_git = candidate.join(".git");
        let Ok(meta) = std::fs::symlink_metadata(&dot_git) else {
            continue;
        };
        if meta.is_dir() {
            return Some((candidate.to_path_buf(), dot_git.join("index")));
        }
        if meta.is_file() {
            // A worktree or submodule: `gitdir: <path>`.
            let text = std::fs::read_to_string(&dot_git).ok()?;
            let git_dir = text.lines().next()?.strip_prefix("gitdir: ")?.trim();
            let git_dir = candidate.join(git_dir);
            return Some((candidate.to_path_buf(), git_dir.join("index")));
        }
    }
    None
}

/// Paths of the index's entries (stage 0 and conflict stages alike):
/// borrowed from `bytes`, but for version 4, whose paths are compressed
/// against the one before.
fn parse(bytes: &[u8]) -> Option<Vec<Cow<'_, str>>> {
    if bytes.len() < 12 || &bytes[..4] != b"DIRC" {
        return None;
    }
    let version = u32::from_be_bytes(bytes[4..8].try_into().ok()?);
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = u32::from_be_bytes(bytes[8..12].try_into().ok()?) as usize;
    // Never size anything from the claim beyond what the bytes can hold.
    let mut paths = Vec::with_capacity(count.min(bytes.len() / ENTRY_FIXED));
    let mut at = 12;
    let mut previous = String::new();
    for _ in 0..count {
        let fixed = bytes.get(at..at + ENTRY_FIXED)?;
        let flags = u16::from_be_bytes([fixed[60], fixed[61]]);
        let extended = flags & 0x4000 != 0;
        let mut path_at = at + ENTRY_FIXED;
        if extended {
            if version < 3 {
                return None;
            }
            path_at += 2;
        }
        let path = if version == 4 {
            // A varint: how many bytes of the previous path to drop, then
            // the rest of this path, NUL-terminated; no padding.
            let (strip, used) = varint(bytes.get(path_at..)?)?;
            let suffix_at = path_at + used;
            let len = bytes.get(suffix_at..)?.iter().position(|&b| b == 0)?;
            let keep = previous.len().checked_sub(strip)?;
            let mut path = previous.get(..keep)?.to_string();
            path.push_str(std::str::from_utf8(&bytes[suffix_at..suffix_at + len]).ok()?);
            at = suffix_at + len + 1;
            previous.clone_from(&path);
            Cow::Owned(path)
        } else {
            let len = bytes.get(path_at..)?.iter().position(|&b| b == 0)?;
            let path = std::str::from_utf8(&bytes[path_at..path_at + len]).ok()?;
            // Entries are padded with NULs to a multiple of 8 bytes.
            let entry_len = path_at - at + len;
            at += (entry_len + 8) & !7;
            Cow::Borrowed(path)
        };
        paths.push(path);
    }
    Some(paths)
}

/// Git's offset varint (as in `varint.c`).
fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value: usize = 0;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        if i > 0 {
            value = value.checked_add(1)?.checked_mul(128)?;
        }
        value = value.checked_add(usize::from(byte & 0x7f))?;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Vec<u8> {
        let mut e = vec![0u8; ENTRY_FIXED];
        let flags = path.len().min(0xfff) as u16;
        e[60..62].copy_from_slice(&flags.to_be_bytes());
        e.extend_from_slice(path.as_bytes());
        let len = ENTRY_FIXED + path.len();
        e.resize((len + 8) & !7, 0);
        e
    }

    fn index(paths: &[&str]) -> Vec<u8> {
        let mut bytes = b"DIRC".to_vec();
        bytes.extend_from_slice(&2u32.to_be_bytes());
        bytes.extend_from_slice(&(paths.len() as u32).to_be_bytes());
        for path in paths {
            bytes.extend(entry(path));
        }
        bytes.extend_from_slice(&[0; 20]); // the checksum, unread
        bytes
    }

    #[test]
    fn version_2_entries() {
        let bytes = index(&["a.txt", "crates/a/src/lib.rs", "longer/path/to/a/file.rs"]);
        assert_eq!(
            parse(&bytes).unwrap(),
            ["a.txt", "crates/a/src/lib.rs", "longer/path/to/a/file.rs"]
        );
    }

    #[test]
    fn a_huge_claimed_count_is_bounded_by_the_bytes() {
        let mut bytes = index(&["a"]);
        bytes[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(
            parse(&bytes).is_none(),
            "runs out of entries: not an index we trust"
        );
        assert!(parse(b"DIRC").is_none());
        assert!(parse(b"XXXX\0\0\0\x02\0\0\0\0").is_none());
    }

    #[test]
    fn reads_a_real_index() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            assert!(
                std::process::Command::new("git")
                    .args(args)
                    .current_dir(dir.path())
                    .status()
                    .unwrap()
                    .success()
            )
        };
        git(&["init", "-q"]);
        std::fs::create_dir_all(dir.path().join("sub/deep")).unwrap();
        for file in ["x.txt", "sub/deep/y.txt", "sub/z.txt"] {
            std::fs::write(dir.path().join(file), "x").unwrap();
        }
        git(&["add", "-A"]);
        let tracked = |root: &Path| with_tracked_paths(root, |paths| paths.join(","));
        let all = tracked(dir.path());
        assert_eq!(
            all, "sub/deep/y.txt,sub/z.txt,x.txt",
            "in the index's order"
        );
        assert_eq!(tracked(&dir.path().join("sub")), "deep/y.txt,z.txt");
        git(&["update-index", "--index-version", "4"]);
        assert_eq!(tracked(dir.path()), all);
        assert_eq!(tracked(&dir.path().join("sub")), "deep/y.txt,z.txt");
    }
}

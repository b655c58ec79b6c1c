//! The local cache never fails the build: a cache directory that cannot be
//! written (read-only, a file, `v1/tmp` a file, a full filesystem) is one
//! warning and a run without writing it, using what is already there.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use support::{CHAIN, Fixture, text};

/// Runs `run check` (more args appended) and returns the output, asserting
/// success.
fn run_ok(fx: &Fixture, extra: &[&str]) -> String {
    let mut args = vec!["run", "check"];
    args.extend_from_slice(extra);
    let output = fx.xtask(&args);
    let out = text(&output);
    assert!(output.status.success(), "exit {:?}:\n{out}", output.status);
    out
}

fn warnings(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with("warning:")).collect()
}

/// Root ignores permission bits, so tests that rely on them cannot run as root.
fn running_as_root() -> bool {
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

#[test]
fn tmp_being_a_file_is_one_warning_and_a_read_only_run() {
    let fx = Fixture::new(CHAIN);
    run_ok(&fx, &[]);
    let tmp = fx.path("turbo-cache/v1/tmp");
    std::fs::remove_dir_all(&tmp).unwrap();
    std::fs::write(&tmp, "a file where the temp directory goes\n").unwrap();

    // What is in the cache is still used.
    let out = run_ok(&fx, &[]);
    assert!(out.contains("all 4 tasks cached"), "{out}");
    assert_eq!(warnings(&out).len(), 1, "{out}");
    assert!(warnings(&out)[0].contains("cannot be written"), "{out}");

    // A change runs its tasks; nothing is stored, and still one warning.
    fx.write("crates/a/src/lib.rs", "pub fn a() -> u32 { 7 }\n");
    let out = run_ok(&fx, &[]);
    assert!(out.contains("a#check: cache miss, executing"), "{out}");
    assert_eq!(warnings(&out).len(), 1, "{out}");
    let out = run_ok(&fx, &[]);
    assert!(
        out.contains("a#check: cache miss, executing"),
        "not stored:\n{out}"
    );
}

#[test]
fn a_cache_dir_that_is_a_file_is_one_warning() {
    let fx = Fixture::new(CHAIN);
    let not_a_dir = fx.path("cache-file");
    std::fs::write(&not_a_dir, "not a directory\n").unwrap();
    let out = run_ok(&fx, &["--cache-dir", not_a_dir.to_str().unwrap()]);
    assert_eq!(warnings(&out).len(), 1, "{out}");
    assert!(out.contains("4 total"), "{out}");
    assert_eq!(fx.read("crates/a/.check.out"), "ok\n");
}

#[test]
fn an_empty_read_only_cache_dir_is_one_warning() {
    if running_as_root() {
        // Root writes into a 555 directory anyway; the other tests here cover
        // an unusable cache with failures root cannot ignore.
        eprintln!("skipped: running as root, which ignores directory permissions");
        return;
    }
    let fx = Fixture::new(CHAIN);
    let cache = fx.path("ro-cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = run_ok(&fx, &["--cache-dir", cache.to_str().unwrap()]);
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(warnings(&out).len(), 1, "{out}");
    assert_eq!(fx.read("crates/a/.check.out"), "ok\n");
}

/// A 1 MiB tmpfs, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_filesystem_is_one_warning_and_leaves_no_temp_files() {
    if !running_as_root() {
        eprintln!(
            "skipped: mounting a small tmpfs needs root (cache_faults.rs unit tests cover a full disk)"
        );
        return;
    }
    let Some(fs) = Tmpfs::mount() else {
        eprintln!("skipped: could not mount a tmpfs here");
        return;
    };
    let fx = Fixture::new(CHAIN);
    let cache = fs.path().join("cache");
    let cache_arg = cache.to_str().unwrap().to_owned();
    // A cache set up while there was room, then a full disk; plus a temp file
    // a store that died on the full disk two hours ago left behind.
    run_ok(&fx, &["--cache-dir", &cache_arg, "--dry-run"]);
    let leftover = cache.join("v1/tmp/deadbeef.1.0.1.tmp");
    std::fs::write(&leftover, "half an entry").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&leftover)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let filler = fs.path().join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    while std::io::Write::write_all(&mut file, &[0u8; 4096]).is_ok() {}
    drop(file);

    let out = run_ok(&fx, &["--cache-dir", &cache_arg]);
    assert_eq!(warnings(&out).len(), 1, "{out}");
    assert!(
        out.contains("not writing it for the rest of this run"),
        "{out}"
    );
    assert_eq!(fx.read("crates/a/.check.out"), "ok\n");
    assert!(!leftover.exists(), "the stale temp file is swept");
    let temp_files: Vec<_> = std::fs::read_dir(cache.join("v1/tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(temp_files.is_empty(), "{temp_files:?}");

    // With room again, the next run stores.
    std::fs::remove_file(&filler).unwrap();
    let out = run_ok(&fx, &["--cache-dir", &cache_arg]);
    assert!(warnings(&out).is_empty(), "{out}");
    let out = run_ok(&fx, &["--cache-dir", &cache_arg]);
    assert!(out.contains("all 4 tasks cached"), "{out}");
}

//! Crafted cache entries, end to end: an entry with a correct frame (anyone can
//! compute one) under the key a task will compute, then a run. Whatever the
//! entry holds beyond the task's declared outputs is refused, nothing of it is
//! written, and the task simply runs.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use support::{CHAIN, Fixture, text};
use xtask_cache::{Artifact, LocalCache};

/// The key each task will compute, from `--dry-run=json`.
fn keys(fx: &Fixture) -> BTreeMap<String, String> {
    let output = fx.xtask(&["run", "check", "--dry-run=json"]);
    assert!(output.status.success(), "{}", text(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["task-id"].as_str().unwrap().to_owned(),
                t["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Stores an entry under `key` in the fixture's cache holding `files` (path,
/// contents), as an attacker with write access to the cache would.
fn plant(fx: &Fixture, key: &str, files: &[(&str, &str)]) {
    let scratch = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let path = scratch.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let outputs: Vec<PathBuf> = files.iter().map(|(path, _)| PathBuf::from(path)).collect();
    let cache = LocalCache::open(&fx.path("turbo-cache")).unwrap();
    cache
        .store(
            key,
            &Artifact {
                meta: b"{}",
                log: b"replayed from a planted entry\n",
                base_dir: scratch.path(),
                outputs: &outputs,
            },
        )
        .unwrap();
}

/// Every path under `dir` (the cache and the tasks' own outputs left out), with
/// its mode and contents.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if rel == "turbo-cache" || rel.ends_with(".check.out") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.insert(rel, format!("dir {mode:o}"));
                walk(root, &path, out);
            } else {
                let content = std::fs::read(&path).unwrap();
                out.insert(rel, format!("{mode:o} {}", blake3::hash(&content)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn a_planted_entry_writes_nothing_beyond_the_tasks_outputs() {
    let fx = Fixture::new(CHAIN);
    fx.write(".git/hooks/README", "canary\n");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("canary"), "outside\n").unwrap();
    let key = &keys(&fx)["a#check"];
    // `a#check` declares `.check.out`; the entry also carries a git hook, a
    // cargo config and another crate's source.
    plant(
        &fx,
        key,
        &[
            ("crates/a/.check.out", "ok\n"),
            (".git/hooks/pre-commit", "#!/bin/sh\necho pwned\n"),
            (
                ".cargo/config.toml",
                "[build]\nrustc-wrapper = \"/tmp/evil\"\n",
            ),
            ("crates/b/src/lib.rs", "pwned\n"),
        ],
    );
    let before = snapshot(fx.root());

    let output = fx.xtask(&["run", "check"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("could not restore outputs from the cache")
            && out.contains("does not match the task's declared outputs"),
        "{out}"
    );
    assert!(out.contains("a#check: cache miss, executing"), "{out}");
    assert!(
        !out.contains("planted entry"),
        "a refused entry's log is not replayed:\n{out}"
    );
    assert_eq!(snapshot(fx.root()), before, "the workspace is as it was");
    assert!(!fx.path(".git/hooks/pre-commit").exists());
    assert!(!fx.path(".cargo").exists());
    assert_eq!(
        fx.read("crates/a/.check.out"),
        "ok\n",
        "written by the task"
    );
    assert_eq!(
        std::fs::read_to_string(outside.path().join("canary")).unwrap(),
        "outside\n"
    );
}

#[test]
fn an_entry_copied_under_another_key_is_a_miss() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    let keys = keys(&fx);
    let entry = |task: &str| {
        let key = &keys[task];
        fx.path(&format!(
            "turbo-cache/v1/entries/{}/{key}.tar.zst",
            &key[..2]
        ))
    };
    // `b#check`'s entry replaced by `a#check`'s: a valid entry, the wrong key.
    std::fs::copy(entry("a#check"), entry("b#check")).unwrap();
    fx.write("crates/b/.check.out", "stale\n");

    let (statuses, output) = fx.statuses(&["check"], &[]);
    let out = text(&output);
    assert_eq!(statuses["b#check"], "executed", "{out}");
    assert_eq!(statuses["a#check"], "cached", "{out}");
    assert!(out.contains("was corrupt"), "{out}");
    assert_eq!(fx.read("crates/b/.check.out"), "ok\n");
}

/// A crate whose `check` fails, so the run stores no manifest of its own and
/// the one it looked up stays in the local cache for us to see.
const BROKEN_APP: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]
--- .gitignore
/target
/turbo-cache
.env
--- .env
API_PASSWORD=hunter2
--- shared/data.txt
v1
--- crates/app/Cargo.toml
[package]
name = "app"
version = "0.1.0"
edition = "2021"
--- crates/app/src/main.rs
fn main() { let broken: u32 = "not a number"; }
"#;

/// The discovered inputs `--dry-run=json` lists for `app#check` (from the
/// manifest in the local cache).
fn discovered_names(fx: &Fixture) -> Vec<String> {
    let output = fx.xtask(&["run", "check", "--dry-run=json"]);
    assert!(output.status.success(), "{}", text(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let task = &json["tasks"].as_array().unwrap()[0];
    let discovered = &task["discovered"];
    let mut names: Vec<String> = ["files", "env"]
        .iter()
        .filter_map(|kind| discovered[kind].as_object())
        .flat_map(|map| map.keys().cloned())
        .collect();
    names.sort();
    names
}

/// An unsigned remote's manifest decides which key is then requested from it:
/// one naming a local secret would let whoever watches the requests test
/// guesses of its value. Such a manifest is not used (nor installed), the task
/// just runs, and the user hears why; one naming workspace files is used.
#[test]
fn a_forged_manifest_from_an_unsigned_remote_cannot_name_local_secrets() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("id_ed25519");
    std::fs::write(&secret, "private key\n").unwrap();
    let secret = secret.to_string_lossy().into_owned();
    for (forged_files, forged_env, refused) in [
        (vec![secret.as_str()], vec![], Some(secret.as_str())),
        (vec!["shared/data.txt", ".env"], vec![], Some(".env")),
        (
            vec![],
            vec!["AWS_SECRET_ACCESS_KEY"],
            Some("AWS_SECRET_ACCESS_KEY"),
        ),
        (vec!["shared/data.txt"], vec!["MY_FLAG"], None),
    ] {
        let fx = Fixture::new(BROKEN_APP);
        let declared = keys(&fx)["app#check"].clone();
        let manifest_key = {
            let mut hasher = blake3::Hasher::new();
            hasher.update(b"xtask discovered-inputs manifest v1\0");
            hasher.update(declared.as_bytes());
            hasher.finalize().to_hex().to_string()
        };
        let forged = serde_json::json!({
            "format": 1, "files": forged_files, "env": forged_env,
        });
        let scratch = tempfile::tempdir().unwrap();
        let forger = LocalCache::open(scratch.path()).unwrap();
        let meta = serde_json::to_vec(&forged).unwrap();
        let artifact = Artifact {
            meta: &meta,
            log: b"",
            base_dir: scratch.path(),
            outputs: &[],
        };
        forger.store(&manifest_key, &artifact).unwrap();
        let bytes = forger.read_raw(&manifest_key).unwrap().unwrap();
        let remote = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(remote.path().join("main")).unwrap();
        std::fs::write(remote.path().join("main").join(&manifest_key), bytes).unwrap();

        let url = format!("--remote-cache=file://{}", remote.path().display());
        let output = fx.xtask(&["run", "check", &url]);
        assert!(!output.status.success(), "the check is meant to fail");
        let printed = text(&output);
        let installed = discovered_names(&fx);
        match refused {
            Some(name) => {
                assert!(
                    printed.contains(&format!("remote cache names `{name}`"))
                        && printed.contains("XTASK_REMOTE_CACHE_SIGNATURE_KEY"),
                    "{printed}"
                );
                assert_eq!(installed, Vec::<String>::new(), "{forged}");
            }
            None => {
                assert!(!printed.contains("may not name"), "{printed}");
                assert_eq!(installed, ["MY_FLAG", "shared/data.txt"]);
            }
        }
    }
}

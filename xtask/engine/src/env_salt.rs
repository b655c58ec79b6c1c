//! The per-workspace salt for environment value hashes that are shown or
//! stored.
//!
//! A key covers the bare blake3 of each declared variable's value, so that
//! every machine sharing a remote cache computes the same key. But a bare
//! hash of a guessable value (a short password, `prod`) is a dictionary
//! lookup away from the value. So whatever leaves the planner (dry-run JSON,
//! the history files `explain` reads) carries a keyed hash instead: blake3
//! keyed with a random salt kept in the workspace's state directory. Within
//! one workspace the salted hashes still compare, so `explain` still says
//! which variable changed.

use std::collections::BTreeMap;
use std::path::Path;

use xtask_toolbox::layout::{StateBucket, StateDir};

use crate::env::UNSET;
use crate::random::random_bytes;

pub struct EnvSalt([u8; 32]);

impl EnvSalt {
    /// The workspace's salt, created on first use. A state directory that
    /// cannot be written gives a salt for this run only (shown hashes then
    /// change between runs; nothing else does).
    pub fn load_or_create(state_dir: &StateDir) -> EnvSalt {
        let path = state_dir.path(StateBucket::EnvSalt);
        if let Some(salt) = read(&path) {
            return salt;
        }
        let salt = EnvSalt(random_bytes());
        match create(&path, &salt) {
            Ok(()) => salt,
            // Another run created it first: use theirs, so both agree.
            Err(_) => read(&path).unwrap_or(salt),
        }
    }

    /// `env` with every value hash replaced by its salted hash; `<unset>`
    /// stays as it is.
    pub fn redact(&self, env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        env.iter()
            .map(|(name, hash)| {
                let shown = if hash == UNSET {
                    hash.clone()
                } else {
                    xtask_toolbox::hex::encode(
                        &blake3::keyed_hash(&self.0, hash.as_bytes()).as_bytes()[..16],
                    )
                };
                (name.clone(), shown)
            })
            .collect()
    }
}

/// The salt in `path`, if it holds one (64 hex digits); anything else, such
/// as a file another program damaged, is no salt.
fn read(path: &Path) -> Option<EnvSalt> {
    let bytes = std::fs::read(path).ok()?;
    let text = std::str::from_utf8(bytes.get(..64)?).ok()?;
    if bytes.len() > 65 {
        return None;
    }
    let mut salt = [0u8; 32];
    for (i, byte) in salt.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(EnvSalt(salt))
}

/// Written whole and only if absent (the toolbox's temp file, then a hard
/// link): of two runs creating it at once exactly one wins. A damaged file
/// is replaced.
fn create(path: &Path, salt: &EnvSalt) -> std::io::Result<()> {
    let hex: String = salt.0.iter().map(|b| format!("{b:02x}")).collect();
    let text = format!("{hex}\n");
    match xtask_toolbox::atomic::write_new(path, text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && read(path).is_none() => {
            xtask_toolbox::atomic::write(path, text.as_bytes())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "MODE".to_string(),
                "0123456789abcdef0123456789abcdef".to_string(),
            ),
            ("MISSING".to_string(), UNSET.to_string()),
        ])
    }

    fn state(dir: &Path) -> StateDir {
        xtask_toolbox::layout::CacheDir::new(dir).workspace_state("ws")
    }

    #[test]
    fn stable_per_workspace_and_different_between_workspaces() {
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = EnvSalt::load_or_create(&state(one.path())).redact(&env());
        let again = EnvSalt::load_or_create(&state(one.path())).redact(&env());
        let other = EnvSalt::load_or_create(&state(two.path())).redact(&env());
        assert_eq!(first, again);
        assert_ne!(first["MODE"], other["MODE"]);
        assert_ne!(first["MODE"], env()["MODE"], "salted, not the bare hash");
        assert_eq!(first["MISSING"], UNSET);
    }

    #[test]
    fn a_damaged_salt_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let file = state.path(StateBucket::EnvSalt);
        std::fs::create_dir_all(state.dir()).unwrap();
        for damage in ["", "zz", &"a".repeat(200)] {
            std::fs::write(&file, damage).unwrap();
            let salted = EnvSalt::load_or_create(&state).redact(&env());
            assert!(read(&file).is_some(), "{damage:?}");
            assert_eq!(
                salted,
                EnvSalt::load_or_create(&state).redact(&env()),
                "{damage:?}"
            );
        }
    }

    /// Threads of one process racing to create the salt all end with the one
    /// that is on disk, and leave no temp file (a temp name per process
    /// only, as before, let one thread's rename or removal take another's).
    #[test]
    fn racing_creators_agree_and_leave_only_the_salt() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let state = state(dir.path());
            let salts: Vec<_> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..8)
                    .map(|_| scope.spawn(|| EnvSalt::load_or_create(&state).redact(&env())))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let on_disk = EnvSalt::load_or_create(&state).redact(&env());
            assert!(salts.iter().all(|salt| *salt == on_disk), "{salts:?}");
            let names: Vec<_> = std::fs::read_dir(state.dir())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["env-salt"]);
        }
    }

    #[test]
    fn an_unwritable_state_dir_still_gives_a_salt() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let salted = EnvSalt::load_or_create(&state(&file)).redact(&env());
        assert_ne!(salted["MODE"], env()["MODE"]);
    }
}

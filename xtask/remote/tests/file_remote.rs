//! The remote cache over a plain directory (`file://`): two machines sharing it,
//! signatures, read-only mode, untrusted namespaces, hostile archives. Needs no
//! server, so it always runs.

mod support;

use std::time::Duration;

use support::{Machine, Member, Warnings, hostile_entry, key, open, settings};

fn url(dir: &std::path::Path) -> String {
    format!("url = \"file://{}\"\n", dir.display())
}

#[test]
fn second_machine_restores_what_the_first_uploaded() {
    let remote_dir = tempfile::tempdir().unwrap();
    let (a, b) = (Machine::new(), Machine::new());
    let warnings = Warnings::default();
    let k = key(1);

    let bytes = a.build(&k, b"release binary");
    let remote_a = open(settings(&url(remote_dir.path()), &[]), &warnings);
    remote_a.upload(&k, bytes.clone(), Duration::from_millis(1500));
    let report = remote_a.finish(Duration::from_secs(10));
    assert_eq!((report.uploaded, report.failed), (1, 0));
    assert!(
        remote_dir.path().join("main").join(&k).is_file(),
        "layout is <dir>/<namespace>/<key>"
    );

    let remote_b = open(settings(&url(remote_dir.path()), &[]), &warnings);
    let fetched = remote_b.fetch(&k).expect("a remote hit");
    assert_eq!(fetched, bytes);
    b.install_and_restore(&k, &fetched).unwrap();
    assert_eq!(
        std::fs::read(b.ws().join("dist/app.bin")).unwrap(),
        b"release binary"
    );
    assert_eq!(remote_b.fetch(&key(2)), None, "a miss");
    assert_eq!(remote_b.contains(&k), Some(true));
    assert_eq!(remote_b.contains(&key(2)), Some(false));
    assert!(warnings.all().is_empty(), "{:?}", warnings.all());
}

#[test]
fn corrupt_artifacts_are_never_returned() {
    let remote_dir = tempfile::tempdir().unwrap();
    let machine = Machine::new();
    let warnings = Warnings::default();
    let remote = open(settings(&url(remote_dir.path()), &[]), &warnings);
    let ns = remote_dir.path().join("main");
    std::fs::create_dir_all(&ns).unwrap();
    for n in 0..4u8 {
        let k = key(10 + n);
        let mut bytes = machine.build(&k, b"x".repeat(5000).as_slice());
        match n {
            0 => bytes.truncate(bytes.len() - 7),
            1 => *bytes.last_mut().unwrap() ^= 1,
            2 => bytes[9] = b'Y',
            _ => bytes = b"plain garbage".to_vec(),
        }
        std::fs::write(ns.join(&k), bytes).unwrap();
        assert_eq!(remote.fetch(&k), None);
    }
    let all = warnings.all();
    // One warning for the kind of failure; the breaker that three failures in
    // a row opened says nothing more (that warning already said the build
    // goes on without the remote), but it stops even a good artifact.
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("integrity check"), "{all:?}");
    let good = key(20);
    std::fs::write(ns.join(&good), machine.build(&good, b"fine")).unwrap();
    assert_eq!(remote.fetch(&good), None, "the breaker is open");
}

#[test]
fn signed_artifacts_tampered_or_unsigned_are_refused() {
    let remote_dir = tempfile::tempdir().unwrap();
    let machine = Machine::new();
    let env = [(
        "XTASK_REMOTE_CACHE_SIGNATURE_KEY",
        "shared-signing-key".to_owned(),
    )];
    let warnings = Warnings::default();
    let remote = open(settings(&url(remote_dir.path()), &env), &warnings);
    let (good, tampered, unsigned, replayed) = (key(20), key(21), key(22), key(23));
    for k in [&good, &tampered, &unsigned, &replayed] {
        remote.upload(k, machine.build(k, k.as_bytes()), Duration::ZERO);
    }
    assert_eq!(remote.finish(Duration::from_secs(10)).uploaded, 4);
    let ns = remote_dir.path().join("main");
    // A valid artifact (right keyed blake3) under another artifact's signature:
    // the integrity check cannot see it, the signature does.
    std::fs::copy(
        ns.join(format!("{good}.tag")),
        ns.join(format!("{tampered}.tag")),
    )
    .unwrap();
    std::fs::remove_file(ns.join(format!("{unsigned}.tag"))).unwrap();

    assert!(remote.fetch(&good).is_some());
    assert_eq!(remote.fetch(&tampered), None);
    assert_eq!(remote.fetch(&unsigned), None);
    let all = warnings.all();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].contains("signature") && !all[0].contains("shared-signing-key"),
        "{all:?}"
    );
    // Another key's artifact and tag, replayed under this key: refused by both
    // checks, the frame's first (it binds the key too).
    std::fs::copy(ns.join(&good), ns.join(&replayed)).unwrap();
    std::fs::copy(
        ns.join(format!("{good}.tag")),
        ns.join(format!("{replayed}.tag")),
    )
    .unwrap();
    assert_eq!(remote.fetch(&replayed), None);
    let all = warnings.all();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[1].contains("integrity check"), "{all:?}");

    // A machine with another key refuses everything.
    let other = [("XTASK_REMOTE_CACHE_SIGNATURE_KEY", "another-key".to_owned())];
    let remote = open(
        settings(&url(remote_dir.path()), &other),
        &Warnings::default(),
    );
    assert_eq!(remote.fetch(&good), None);
}

#[test]
fn read_only_mode_uploads_nothing() {
    let remote_dir = tempfile::tempdir().unwrap();
    let machine = Machine::new();
    let remote = open(
        settings(&(url(remote_dir.path()) + "mode = \"read\"\n"), &[]),
        &Warnings::default(),
    );
    remote.upload(&key(30), machine.build(&key(30), b"a"), Duration::ZERO);
    let report = remote.finish(Duration::from_secs(5));
    assert_eq!((report.uploaded, report.skipped), (0, 1));
    assert_eq!(
        std::fs::read_dir(remote_dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn untrusted_builds_cannot_write_what_trusted_builds_read() {
    let remote_dir = tempfile::tempdir().unwrap();
    let machine = Machine::new();
    let base = url(remote_dir.path()) + "untrusted-namespace = \"forks\"\n";
    let untrusted_env = [("XTASK_REMOTE_CACHE_TRUSTED", "false".to_owned())];
    let trusted = open(settings(&base, &[]), &Warnings::default());
    let untrusted = open(settings(&base, &untrusted_env), &Warnings::default());

    // Main publishes; a fork build reads it.
    let main_key = key(40);
    trusted.upload(&main_key, machine.build(&main_key, b"main"), Duration::ZERO);
    trusted.finish(Duration::from_secs(5));
    assert!(
        untrusted.fetch(&main_key).is_some(),
        "untrusted builds read main's artifacts"
    );

    // A fork build writes a (possibly poisoned) artifact: it lands in its own
    // namespace, which trusted builds never read.
    let fork_key = key(41);
    untrusted.upload(
        &fork_key,
        machine.build(&fork_key, b"poison"),
        Duration::ZERO,
    );
    assert_eq!(untrusted.finish(Duration::from_secs(5)).uploaded, 1);
    assert!(remote_dir.path().join("forks").join(&fork_key).is_file());
    assert!(!remote_dir.path().join("main").join(&fork_key).exists());
    assert_eq!(trusted.fetch(&fork_key), None);
    assert!(
        untrusted.fetch(&fork_key).is_some(),
        "forks share their own cache"
    );

    // Without an untrusted namespace, untrusted builds upload nothing.
    let read_only = open(
        settings(&url(remote_dir.path()), &untrusted_env),
        &Warnings::default(),
    );
    read_only.upload(&key(42), machine.build(&key(42), b"x"), Duration::ZERO);
    assert_eq!(read_only.finish(Duration::from_secs(5)).skipped, 1);
    assert!(!remote_dir.path().join("main").join(key(42)).exists());
}

#[test]
fn hostile_archives_from_the_remote_are_refused_on_restore() {
    let remote_dir = tempfile::tempdir().unwrap();
    let ns = remote_dir.path().join("main");
    std::fs::create_dir_all(&ns).unwrap();
    let machine = Machine::new();
    let remote = open(settings(&url(remote_dir.path()), &[]), &Warnings::default());
    let outside = machine.dir.path().join("escaped");
    let k = |n: u8| key(50 + n);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "traversal",
            hostile_entry(&k(0), &[Member::File("outputs/../../escaped", b"pwned")]),
        ),
        (
            "absolute",
            hostile_entry(
                &k(1),
                &[Member::File(&format!("/{}", outside.display()), b"pwned")],
            ),
        ),
        (
            "symlink escape",
            hostile_entry(
                &k(2),
                &[
                    Member::Symlink("outputs/link", "../../"),
                    Member::File("outputs/link/escaped", b"pwned"),
                ],
            ),
        ),
        (
            "absolute symlink",
            hostile_entry(&k(3), &[Member::Symlink("outputs/abs", "/etc")]),
        ),
    ];
    for (n, (what, bytes)) in cases.into_iter().enumerate() {
        let k = k(n as u8);
        std::fs::write(ns.join(&k), &bytes).unwrap();
        // The frame is valid, so the remote hands the bytes over; restoring is
        // where they must be refused.
        let fetched = remote
            .fetch(&k)
            .unwrap_or_else(|| panic!("{what}: fetched"));
        let err = machine.install_and_restore(&k, &fetched).expect_err(what);
        assert!(err.contains(&k), "{what}: the refusal names the key: {err}");
        assert!(!outside.exists(), "{what}: wrote outside the workspace");
        assert!(
            !machine.ws().join("link").exists() && !machine.ws().join("abs").exists(),
            "{what}"
        );
    }
}

#[test]
fn integrity_check_agrees_with_xtask_cache() {
    // Bytes the local cache wrote are accepted as they are.
    let remote_dir = tempfile::tempdir().unwrap();
    let machine = Machine::new();
    let remote = open(settings(&url(remote_dir.path()), &[]), &Warnings::default());
    let k = key(60);
    std::fs::create_dir_all(remote_dir.path().join("main")).unwrap();
    std::fs::write(
        remote_dir.path().join("main").join(&k),
        machine.build(&k, b"same format"),
    )
    .unwrap();
    assert!(remote.fetch(&k).is_some());
}

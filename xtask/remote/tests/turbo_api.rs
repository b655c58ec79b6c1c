//! The Turborepo remote cache API against the real turborepo-remote-cache 2.12.0
//! server (npm), directly and through a fault-injecting proxy.

mod support;

use std::time::{Duration, Instant};

use support::{
    Fault, FaultProxy, Machine, TURBO_SERVER_TOKEN, Warnings, key, open, settings,
    start_turbo_server,
};

/// The server runs with a signature key, and then answers 404 for artifacts
/// uploaded without an `x-artifact-tag`: so clients sign too, as Turborepo
/// clients of such a server do.
fn turbo_env(url: &str, token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TURBO_API", url.to_owned()),
        ("TURBO_TOKEN", token.to_owned()),
        ("TURBO_TEAM", "acme".to_owned()),
        (
            "TURBO_REMOTE_CACHE_SIGNATURE_KEY",
            "client-signing-key".to_owned(),
        ),
    ]
}

#[test]
fn two_machines_share_artifacts_through_the_server() {
    let Some(server) = start_turbo_server() else {
        return;
    };
    let url = format!("http://127.0.0.1:{}", server.port);
    let (a, b) = (Machine::new(), Machine::new());
    let warnings = Warnings::default();
    let env = turbo_env(&url, TURBO_SERVER_TOKEN);
    let k = key(1);
    let bytes = a.build(&k, &b"binary".repeat(10_000));

    let remote_a = open(settings("", &env), &warnings);
    remote_a.upload(&k, bytes.clone(), Duration::from_millis(2500));
    assert_eq!(remote_a.finish(Duration::from_secs(20)).uploaded, 1);
    // The server keeps artifacts per team.
    assert!(server.data().join("acme").join(&k).is_file() || walk_has(&server.data(), &k));

    let remote_b = open(settings("", &env), &warnings);
    assert_eq!(remote_b.contains(&k), Some(true));
    let fetched = remote_b
        .fetch(&k)
        .expect("hit, with a signature that checks out");
    assert_eq!(fetched, bytes);
    b.install_and_restore(&k, &fetched).unwrap();
    assert_eq!(
        std::fs::read(b.ws().join("dist/app.bin")).unwrap(),
        b"binary".repeat(10_000)
    );
    assert_eq!(remote_b.fetch(&key(2)), None);
    assert_eq!(remote_b.contains(&key(2)), Some(false));
    assert!(warnings.all().is_empty(), "{:?}", warnings.all());

    // A machine with another signing key refuses the artifact.
    let mut other = turbo_env(&url, TURBO_SERVER_TOKEN);
    other[3].1 = "not-the-same-key".to_owned();
    let warnings = Warnings::default();
    assert_eq!(open(settings("", &other), &warnings).fetch(&k), None);
    assert!(
        warnings.all()[0].contains("signature"),
        "{:?}",
        warnings.all()
    );
}

fn walk_has(dir: &std::path::Path, name: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let path = entry.path();
            entry.file_name().to_string_lossy().contains(name)
                || (path.is_dir() && walk_has(&path, name))
        })
}

#[test]
fn wrong_credentials_give_one_clear_warning_without_the_secret() {
    let Some(server) = start_turbo_server() else {
        return;
    };
    let url = format!("http://127.0.0.1:{}", server.port);
    let machine = Machine::new();
    let warnings = Warnings::default();
    let bad_token = "wrong-token-do-not-print";
    let remote = open(settings("", &turbo_env(&url, bad_token)), &warnings);
    for n in 0..5 {
        assert_eq!(remote.fetch(&key(10 + n)), None);
        remote.upload(
            &key(20 + n),
            machine.build(&key(20 + n), b"x"),
            Duration::ZERO,
        );
    }
    remote.finish(Duration::from_secs(10));
    let all = warnings.all();
    warnings.assert_no_secret(&[bad_token, TURBO_SERVER_TOKEN]);
    let auth: Vec<_> = all.iter().filter(|w| w.contains("credentials")).collect();
    assert!(
        !auth.is_empty() && auth[0].contains("401") && auth[0].contains("TURBO_TOKEN"),
        "{all:?}"
    );
    // The refusal opens the breaker: one fetch warning, one breaker notice, and
    // nothing per task after that.
    assert!(all.len() <= 3, "{all:?}");
}

#[test]
fn faults_never_yield_corrupt_bytes_and_open_the_breaker() {
    let Some(server) = start_turbo_server() else {
        return;
    };
    let proxy = FaultProxy::start(server.port);
    let machine = Machine::new();
    let env = turbo_env(&proxy.url(), TURBO_SERVER_TOKEN);
    let toml = "timeout = \"1s\"\nconnect-timeout = \"1s\"\n";
    let k = key(30);
    let bytes = machine.build(&k, &b"payload ".repeat(50_000));
    let direct = turbo_env(
        &format!("http://127.0.0.1:{}", server.port),
        TURBO_SERVER_TOKEN,
    );
    let seed = open(settings(toml, &direct), &Warnings::default());
    seed.upload(&k, bytes.clone(), Duration::ZERO);
    assert_eq!(seed.finish(Duration::from_secs(10)).uploaded, 1);

    // Each fault on its own: None or the right bytes, never anything else.
    for fault in [
        Fault::Truncate,
        Fault::Corrupt,
        Fault::Status500,
        Fault::Drop,
        Fault::Delay(Duration::from_secs(3)),
    ] {
        proxy.set(fault);
        let warnings = Warnings::default();
        let remote = open(settings(toml, &env), &warnings);
        let started = Instant::now();
        // Every fault here damages or withholds the artifact: nothing comes back.
        assert_eq!(remote.fetch(&k), None, "{fault:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{fault:?}: a slow remote held the build"
        );
        assert_eq!(warnings.all().len(), 1, "{fault:?}: {:?}", warnings.all());

        // Repeated failures open the breaker; then the remote is not called.
        for _ in 0..5 {
            let _ = remote.fetch(&k);
        }
        let calls = proxy.requests();
        assert_eq!(remote.fetch(&k), None);
        assert_eq!(proxy.requests(), calls, "{fault:?}: the breaker is open");
        let all = warnings.all();
        assert_eq!(
            all.len(),
            1,
            "{fault:?}: one warning for the fault; the open breaker adds none: {all:?}"
        );
    }

    proxy.set(Fault::Pass);
    let remote = open(settings(toml, &env), &Warnings::default());
    assert_eq!(remote.fetch(&k), Some(bytes));
}

#[test]
fn slow_uploads_are_abandoned_at_the_flush_limit() {
    let Some(server) = start_turbo_server() else {
        return;
    };
    let proxy = FaultProxy::start(server.port);
    proxy.set(Fault::Delay(Duration::from_secs(5)));
    let machine = Machine::new();
    let warnings = Warnings::default();
    let remote = open(
        settings(
            "upload-concurrency = 2\n",
            &turbo_env(&proxy.url(), TURBO_SERVER_TOKEN),
        ),
        &warnings,
    );
    for n in 0..6 {
        remote.upload(
            &key(40 + n),
            machine.build(&key(40 + n), b"slow"),
            Duration::ZERO,
        );
    }
    let started = Instant::now();
    let report = remote.finish(Duration::from_millis(500));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "finish waited {:?}",
        started.elapsed()
    );
    assert_eq!(report.abandoned, 6, "{report:?}");
    let all = warnings.all();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].contains("abandoned") && all[0].contains("flush-time-limit"),
        "{all:?}"
    );
}

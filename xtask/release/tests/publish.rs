//! `publish()` against a stand-in cargo that answers like a registry would:
//! already published, rate-limited with a retry-after time, failed.

use std::cell::RefCell;
use std::path::Path;

use xtask_release::publish::{PublishError, PublishEvent, PublishItem, PublishOptions, publish};

/// A `cargo` that logs its arguments and answers per package: `done` exists
/// already, `limited` is rate-limited on its first try, `broken` fails.
fn fake_cargo(dir: &Path) -> std::path::PathBuf {
    let script = dir.join("cargo");
    let text = format!(
        r#"#!/bin/sh
echo "$@" >> "{log}"
case "$*" in
  *"-p done"*) echo "error: crate done@1.0.0 already exists on \`local\` index" >&2; exit 101 ;;
  *"-p limited"*)
    if [ ! -f "{dir}/limited-once" ]; then
      touch "{dir}/limited-once"
      echo "Caused by:" >&2
      echo "  the remote server responded with an error (status 429 Too Many Requests): You have published too many new crates in a short period of time. Please try again after Tue, 01 Dec 2026 00:00:30 GMT or email help@crates.io to have your limit increased." >&2
      exit 101
    fi ;;
  *"-p broken"*) echo "error: failed to verify package tarball" >&2; exit 101 ;;
esac
exit 0
"#,
        log = dir.join("log").display(),
        dir = dir.display()
    );
    std::fs::write(&script, text).unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    script
}

fn item(name: &str, after: &[&str]) -> PublishItem {
    PublishItem {
        name: name.into(),
        version: "1.0.0".into(),
        after: after.iter().map(|s| s.to_string()).collect(),
    }
}

/// 2026-12-01T00:00:00Z.
const NOW: i64 = 1_796_083_200;

#[test]
fn skips_published_versions_waits_for_retry_after_and_stops_on_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let cargo = fake_cargo(tmp.path());
    let slept = RefCell::new(Vec::new());
    let now = || NOW;
    let sleep = |s: u64| slept.borrow_mut().push(s);
    let options = PublishOptions {
        cargo: cargo.as_os_str(),
        root: tmp.path(),
        registry: Some("local"),
        dry_run: false,
        max_wait_secs: 60,
        now: &now,
        sleep: &sleep,
    };
    let mut events = Vec::new();
    let items = [
        item("fresh", &["limited"]),
        item("limited", &["done"]),
        item("done", &[]),
    ];
    publish(&items, &options, &mut |e| events.push(e)).unwrap();
    let shown: Vec<String> = events
        .iter()
        .map(|e| match e {
            PublishEvent::Publishing { package, .. } => format!("publishing {package}"),
            PublishEvent::Published { package } => format!("published {package}"),
            PublishEvent::Skipped { package } => format!("skipped {package}"),
            PublishEvent::Waiting { package, seconds } => {
                format!("waiting {seconds} for {package}")
            }
        })
        .collect();
    assert_eq!(
        shown,
        [
            "publishing done",
            "skipped done",
            "publishing limited",
            "waiting 30 for limited",
            "published limited",
            "publishing fresh",
            "published fresh",
        ]
    );
    assert_eq!(*slept.borrow(), [30]);
    let log = std::fs::read_to_string(tmp.path().join("log")).unwrap();
    assert_eq!(
        log.lines().next().unwrap(),
        "publish --locked -p done --registry local"
    );

    // A wait beyond the limit is an error saying when to come back.
    std::fs::remove_file(tmp.path().join("limited-once")).unwrap();
    let strict = PublishOptions {
        max_wait_secs: 10,
        ..options
    };
    let err = publish(&[item("limited", &[])], &strict, &mut |_| {}).unwrap_err();
    assert!(matches!(err, PublishError::WaitTooLong { .. }), "{err}");

    let err = publish(&[item("broken", &[])], &options, &mut |_| {}).unwrap_err();
    assert!(
        err.to_string().contains("failed to verify package tarball"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("versions already published are skipped"),
        "{err}"
    );
}

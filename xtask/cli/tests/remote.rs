//! The remote cache seen from a run: two machines sharing one remote, a
//! broken remote that never fails the build, settings shown with secrets
//! masked, dry runs that say which hits the remote holds. (Protocol-level
//! tests against real servers live in xtask-remote.)

mod support;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{CHAIN, Fixture, set, text};

#[test]
fn a_second_machine_restores_from_the_remote_without_running_anything() {
    let remote = tempfile::tempdir().unwrap();
    let url = format!("--remote-cache=file://{}", remote.path().display());
    let first = Fixture::new(CHAIN);
    assert_eq!(first.executed(&["check", &url]).len(), 4);

    let second = Fixture::new(CHAIN);
    assert_eq!(
        second.executed(&["check", &url]),
        set(&[]),
        "every task comes from the remote"
    );
    assert_eq!(
        second.read("crates/c/.check.out"),
        "ok\n",
        "outputs restored on the second machine"
    );
    let out = second.ok(&["run", "check", "--output-logs=full"]);
    assert!(
        out.contains("c#check: checked c"),
        "the log travels with the artifact:\n{out}"
    );

    // Read-only: nothing new is written to the remote.
    let third = Fixture::new(CHAIN);
    third.write("crates/d/src/lib.rs", "pub fn d() { let _ = 1; }\n");
    let entries = || walk_count(remote.path());
    let before = entries();
    third.ok(&["run", "check", &url, "--remote-cache-mode=read"]);
    assert_eq!(entries(), before);
}

fn walk_count(dir: &std::path::Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        count += if path.is_dir() { walk_count(&path) } else { 1 };
    }
    count
}

#[test]
fn an_unreachable_remote_is_one_warning_and_the_build_goes_on() {
    let fx = Fixture::new(CHAIN);
    let output = fx
        .command(&["run", "check", "--remote-cache=http://127.0.0.1:9"])
        .env("TURBO_TOKEN", "tok-very-secret-123")
        .env("TURBO_TEAM", "team")
        .output()
        .unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("4 successful"), "{out}");
    let warnings = out
        .lines()
        .filter(|l| l.contains("warning: remote cache"))
        .count();
    assert_eq!(warnings, 1, "one warning, not one per task:\n{out}");
    assert!(!out.contains("tok-very-secret-123"), "{out}");
}

#[test]
fn cache_status_shows_the_remote_with_secrets_masked() {
    let fx = Fixture::new(CHAIN);
    let output = fx
        .command(&["cache", "status"])
        .env("XTASK_REMOTE_CACHE_URL", "http://127.0.0.1:9")
        .env("TURBO_TOKEN", "tok-very-secret-123")
        .env("TURBO_TEAM", "team")
        .output()
        .unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("http://127.0.0.1:9"), "{out}");
    assert!(
        out.contains("XTASK_REMOTE_CACHE_URL"),
        "the source of each setting is shown:\n{out}"
    );
    assert!(!out.contains("tok-very-secret-123"), "{out}");

    let bad = fx.xtask(&["cache", "status", "--remote-cache-mode=sideways"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

#[test]
fn remote_cache_settings_in_the_manifest_are_validated() {
    let fx = Fixture::new(&CHAIN.replace(
        "global-env = []",
        "global-env = []\n\n[workspace.metadata.xtask.remote-cache]\nurl = \"file:///tmp/x\"\ntoken = \"oops\"",
    ));
    let output = fx.xtask(&["run", "check"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(out.contains("token"), "{out}");
    assert!(!out.contains("oops"), "the secret is not echoed:\n{out}");
}

#[test]
fn writing_a_remote_without_a_signing_key_prints_one_hint() {
    let remote = tempfile::tempdir().unwrap();
    let url = format!("--remote-cache=file://{}", remote.path().display());
    let fx = Fixture::new(CHAIN);
    let hints = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with("hint:") && l.contains("signing key"))
            .count()
    };
    let out = fx.ok(&["run", "check", &url]);
    assert_eq!(hints(&out), 1, "{out}");
    let out = fx.ok(&["run", "check", &url, "--remote-cache-mode=read"]);
    assert_eq!(hints(&out), 0, "read-only writes nothing:\n{out}");
    let output = fx
        .command(&["run", "check", &url])
        .env(
            "XTASK_REMOTE_CACHE_SIGNATURE_KEY",
            "a-signing-key-never-printed",
        )
        .output()
        .unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert_eq!(hints(&out), 0, "signed:\n{out}");
    assert!(!out.contains("a-signing-key-never-printed"), "{out}");
}

/// `--dry-run=json` with `env`: each task's (`cache`, `cache-location`).
fn dry_run_statuses(
    fx: &Fixture,
    args: &[&str],
    env: &[(&str, &str)],
) -> Vec<(String, String, String)> {
    let mut command = fx.command(&[&["run", "check", "--dry-run=json"], args].concat());
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}:\n{}", text(&output)));
    json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["task-id"].as_str().unwrap().to_string(),
                t["cache"].as_str().unwrap().to_string(),
                t["cache-location"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

fn all(statuses: &[(String, String, String)], cache: &str, location: &str) -> bool {
    statuses.len() == 4 && statuses.iter().all(|(_, c, l)| c == cache && l == location)
}

/// A second machine's dry run, before and after its run: remote hits, then
/// local ones; without the remote, misses.
fn dry_run_sees_the_remote(args: &[&str], env: &[(&str, &str)]) {
    let first = Fixture::new(CHAIN);
    let mut command = first.command(&[&["run", "check"], args].concat());
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", text(&output));

    let second = Fixture::new(CHAIN);
    let before = dry_run_statuses(&second, args, env);
    assert!(all(&before, "HIT", "remote"), "{before:?}");
    let none = dry_run_statuses(&second, &[], &[]);
    assert!(all(&none, "MISS", "-"), "no remote, no hit: {none:?}");
    let mut command = second.command(&[&["run", "check", "--dry-run"], args].concat());
    command.envs(env.iter().copied());
    let out = text(&command.output().unwrap());
    assert!(out.contains("Tasks to run (4 total, 4 cached)"), "{out}");
    assert!(out.contains("4 of them on the remote cache only"), "{out}");
    assert_eq!(
        out.matches("cache         = HIT (remote)").count(),
        4,
        "{out}"
    );
    assert!(!out.contains("warning"), "{out}");

    let mut command = second.command(&[&["run", "check"], args].concat());
    command.envs(env.iter().copied());
    assert!(command.output().unwrap().status.success());
    let after = dry_run_statuses(&second, args, env);
    assert!(all(&after, "HIT", "local"), "{after:?}");
}

#[test]
fn a_dry_run_reports_hits_only_a_file_remote_holds() {
    let remote = tempfile::tempdir().unwrap();
    let url = format!("--remote-cache=file://{}", remote.path().display());
    dry_run_sees_the_remote(&[&url], &[]);
}

#[test]
fn a_dry_run_reports_hits_only_a_turborepo_server_holds() {
    let Some(server) = TurboServer::start() else {
        return;
    };
    let url = format!("http://127.0.0.1:{}", server.port);
    dry_run_sees_the_remote(
        &[],
        &[
            ("TURBO_API", &url),
            ("TURBO_TOKEN", TurboServer::TOKEN),
            ("TURBO_TEAM", "acme"),
            ("XTASK_REMOTE_CACHE_SIGNATURE_KEY", "client-signing-key"),
        ],
    );
}

#[test]
fn a_dry_run_against_an_unreachable_remote_warns_once_and_answers_locally() {
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check", "--filter", "a"]);
    let output = fx
        .command(&[
            "run",
            "check",
            "--dry-run=json",
            "--remote-cache=http://127.0.0.1:9",
        ])
        .env("TURBO_TOKEN", "tok-very-secret-123")
        .env("TURBO_TEAM", "team")
        .output()
        .unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let caches: Vec<(&str, &str)> = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["task-id"].as_str().unwrap(),
                t["cache-location"]
                    .as_str()
                    .unwrap_or(t["cache"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        caches,
        [
            ("a#check", "local"),
            ("b#check", "MISS"),
            ("c#check", "MISS"),
            ("d#check", "MISS")
        ],
        "{out}"
    );
    let warnings = out
        .lines()
        .filter(|l| l.contains("warning: remote cache"))
        .count();
    assert_eq!(warnings, 1, "one warning, not one per task:\n{out}");
    assert!(!out.contains("tok-very-secret-123"), "{out}");
}

/// turborepo-remote-cache 2.12.0 (npm) on an ephemeral port, as xtask-remote's
/// tests run it (`.ci/remote-services.sh` installs it; without it the test
/// is skipped, and fails under `CI=true`). Killed on drop.
struct TurboServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TurboServer {
    const TOKEN: &'static str = "server-secret-token-1234";

    fn start() -> Option<TurboServer> {
        let modules = match std::env::var_os("XTASK_TEST_NODE_MODULES") {
            Some(dir) if !dir.is_empty() => std::path::PathBuf::from(dir),
            _ if std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1") => {
                panic!("XTASK_TEST_NODE_MODULES is not set (source .ci/remote-services.sh)")
            }
            _ => {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "notice: skipping a test: XTASK_TEST_NODE_MODULES is not set; \
                     `source .ci/remote-services.sh` to run it"
                );
                return None;
            }
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("node")
            .arg(modules.join("turborepo-remote-cache/dist/cli.js"))
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("STORAGE_PROVIDER", "local")
            .env("STORAGE_PATH", dir.path().join("data"))
            .env("STORAGE_PATH_USE_TMP_FOLDER", "false")
            .env("TURBO_TOKEN", Self::TOKEN)
            // Signed uploads only, as Turborepo clients of such a server sign.
            .env("TURBO_REMOTE_CACHE_SIGNATURE_KEY", "server-side-key")
            .env("LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("failed to start turborepo-remote-cache");
        let server = TurboServer {
            child,
            port,
            _dir: dir,
        };
        // A Node server beside a parallel build on two cores can take over
        // 30 s to listen (seen with Azurite).
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the server did not start on {port} within 120 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }
}

impl Drop for TurboServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

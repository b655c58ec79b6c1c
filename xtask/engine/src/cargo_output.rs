//! What a batch reads in the output of the tools it runs, one line or one
//! message at a time: cargo's `--message-format=json` messages, rustfmt's
//! `Diff in` headers, nextest's status and section lines, libtest's
//! `Running …` / `Doc-tests …` headers, and the lines that report a failed
//! test. Pure functions over text: `batch.rs` decides whose a line is.

use std::path::Path;

/// A cargo JSON message that names a package (by its manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CargoMessage<'a> {
    pub manifest: &'a str,
    pub kind: MessageKind<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageKind<'a> {
    /// `compiler-artifact`; `executable` is the file name of a test (or
    /// other) binary it built, if any.
    Artifact { executable: Option<&'a str> },
    /// `compiler-message`: a diagnostic, as rendered for people.
    Diagnostic {
        rendered: Option<&'a str>,
        level: Level,
    },
    /// Anything else that names a manifest (`build-script-executed`, …).
    Other,
}

/// Whether a diagnostic fails the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Error,
    /// Warnings, notes, help: shown, never a failure.
    Other,
}

/// The package-naming part of a cargo JSON message; `None` for messages
/// that name no manifest (`build-finished`).
pub(crate) fn cargo_message(message: &serde_json::Value) -> Option<CargoMessage<'_>> {
    let manifest = message["manifest_path"].as_str()?;
    let kind = match message["reason"].as_str() {
        Some("compiler-artifact") => MessageKind::Artifact {
            executable: message["executable"]
                .as_str()
                .and_then(|e| Path::new(e).file_name())
                .and_then(|name| name.to_str()),
        },
        Some("compiler-message") => MessageKind::Diagnostic {
            rendered: message["message"]["rendered"].as_str(),
            level: if message["message"]["level"] == "error" {
                Level::Error
            } else {
                Level::Other
            },
        },
        _ => MessageKind::Other,
    };
    Some(CargoMessage { manifest, kind })
}

/// `cargo fmt --check`'s `Diff in /abs/path/src/lib.rs:12:`: the file.
pub(crate) fn fmt_diff_file(line: &[u8]) -> Option<&str> {
    let rest = std::str::from_utf8(line).ok()?.strip_prefix("Diff in ")?;
    Some(rest.rsplitn(3, ':').last().unwrap_or(rest))
}

/// nextest status lines: `PASS [ 0.01s] pkg::bin test` or `FAIL [ … ] pkg test`;
/// output sections: `--- STDOUT: pkg::bin test ---`. The package's name.
pub(crate) fn nextest_package(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    let binary_id = if let Some(rest) = trimmed
        .strip_prefix("--- STDOUT:")
        .or_else(|| trimmed.strip_prefix("--- STDERR:"))
    {
        rest.split_whitespace().next()?
    } else {
        let status = trimmed.split_whitespace().next()?;
        if !status.chars().all(|c| c.is_ascii_uppercase()) || !trimmed.contains('[') {
            return None;
        }
        trimmed.split(']').nth(1)?.split_whitespace().next()?
    };
    binary_id.split("::").next()
}

/// nextest's closing summary (`Summary [ 1.2s] …` and its rule): it covers
/// every package of the run.
pub(crate) fn nextest_summary(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.starts_with("Summary [") || trimmed.starts_with("────")
}

/// `Running unittests src/lib.rs (target/debug/deps/my_crate-0123abcd)`:
/// the executable's file name, as cargo reported it when building.
pub(crate) fn cargo_test_executable(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("Running ")?;
    let path = rest.rsplit('(').next()?.trim_end().trim_end_matches(')');
    Path::new(path).file_name()?.to_str()
}

/// `Doc-tests my_crate`: the crate's name.
pub(crate) fn doc_test_crate(line: &str) -> Option<&str> {
    Some(line.trim_start().strip_prefix("Doc-tests ")?.trim())
}

/// A line saying a test failed, in libtest's or nextest's words.
pub(crate) fn reports_test_failure(line: &str) -> bool {
    let trimmed = line.trim_start();
    line.contains("test result: FAILED")
        || ["FAIL [", "SIGSEGV", "SIGABRT", "TIMEOUT"]
            .iter()
            .any(|start| trimmed.starts_with(start))
        || line.contains("error: test failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nextest_lines() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "        PASS [   0.003s] my-lib tests::adds",
                Some("my-lib"),
            ),
            (
                "        FAIL [   0.003s] app::integration it_works",
                Some("app"),
            ),
            ("     SIGSEGV [   0.100s] app::bin/app crashes", Some("app")),
            (
                "--- STDOUT:              app::integration it_works ---",
                Some("app"),
            ),
            (
                "--- STDERR:              my-lib tests::adds ---",
                Some("my-lib"),
            ),
            ("    Starting 3 tests across 2 binaries", None),
            ("     Summary [   0.010s] 3 tests run: 3 passed", None),
            ("thread 'x' panicked at src/lib.rs:3:5", None),
            ("", None),
        ];
        for &(line, package) in cases {
            assert_eq!(nextest_package(line), package, "{line:?}");
        }
        assert!(nextest_summary("     Summary [   0.010s] 3 tests run"));
        assert!(nextest_summary("────────────"));
        assert!(!nextest_summary("        PASS [   0.003s] my-lib a"));
    }

    #[test]
    fn libtest_headers() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "     Running unittests src/lib.rs (target/debug/deps/my_lib-0123abcd)",
                Some("my_lib-0123abcd"),
            ),
            (
                "     Running tests/it.rs (target/debug/deps/it-99)",
                Some("it-99"),
            ),
            ("running 3 tests", None),
            ("   Doc-tests my_lib", None),
        ];
        for &(line, executable) in cases {
            assert_eq!(cargo_test_executable(line), executable, "{line:?}");
        }
        assert_eq!(doc_test_crate("   Doc-tests my_lib"), Some("my_lib"));
        assert_eq!(doc_test_crate("     Running tests/it.rs (x)"), None);
    }

    #[test]
    fn failure_lines() {
        let cases: &[(&str, bool)] = &[
            ("test result: FAILED. 1 passed; 1 failed", true),
            ("test result: ok. 2 passed; 0 failed", false),
            ("        FAIL [   0.003s] app it_works", true),
            ("     SIGSEGV [   0.100s] app crashes", true),
            ("     SIGABRT [   0.100s] app aborts", true),
            ("     TIMEOUT [  60.000s] app hangs", true),
            ("error: test failed, to rerun pass `-p app --lib`", true),
            ("        PASS [   0.003s] app works", false),
            ("test tests::fails ... FAILED", false), // its summary line says so
        ];
        for &(line, failed) in cases {
            assert_eq!(reports_test_failure(line), failed, "{line:?}");
        }
    }

    #[test]
    fn rustfmt_diff_headers() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (
                b"Diff in /ws/crates/a/src/lib.rs:12:",
                Some("/ws/crates/a/src/lib.rs"),
            ),
            (b"Diff in /ws/a b/src/lib.rs:1:", Some("/ws/a b/src/lib.rs")),
            (b" fn main() {", None),
            (b"Diff in \xff", None),
        ];
        for &(line, file) in cases {
            assert_eq!(
                fmt_diff_file(line),
                file,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn cargo_json_messages() {
        let message = |json: &str| serde_json::from_str::<serde_json::Value>(json).unwrap();
        let cases: &[(&str, Option<CargoMessage<'_>>)] = &[
            (
                r#"{"reason":"compiler-artifact","manifest_path":"/ws/a/Cargo.toml","executable":"/ws/target/debug/deps/a-12ab"}"#,
                Some(CargoMessage {
                    manifest: "/ws/a/Cargo.toml",
                    kind: MessageKind::Artifact {
                        executable: Some("a-12ab"),
                    },
                }),
            ),
            (
                r#"{"reason":"compiler-artifact","manifest_path":"/ws/a/Cargo.toml","executable":null}"#,
                Some(CargoMessage {
                    manifest: "/ws/a/Cargo.toml",
                    kind: MessageKind::Artifact { executable: None },
                }),
            ),
            (
                r#"{"reason":"compiler-message","manifest_path":"/ws/a/Cargo.toml","message":{"level":"error","rendered":"error[E0308]: mismatched types\n"}}"#,
                Some(CargoMessage {
                    manifest: "/ws/a/Cargo.toml",
                    kind: MessageKind::Diagnostic {
                        rendered: Some("error[E0308]: mismatched types\n"),
                        level: Level::Error,
                    },
                }),
            ),
            (
                r#"{"reason":"compiler-message","manifest_path":"/ws/a/Cargo.toml","message":{"level":"warning","rendered":null}}"#,
                Some(CargoMessage {
                    manifest: "/ws/a/Cargo.toml",
                    kind: MessageKind::Diagnostic {
                        rendered: None,
                        level: Level::Other,
                    },
                }),
            ),
            (
                r#"{"reason":"build-script-executed","manifest_path":"/ws/a/Cargo.toml"}"#,
                Some(CargoMessage {
                    manifest: "/ws/a/Cargo.toml",
                    kind: MessageKind::Other,
                }),
            ),
            (r#"{"reason":"build-finished","success":true}"#, None),
            (r#"{"reason":"compiler-message","manifest_path":7}"#, None),
        ];
        for (json, expected) in cases {
            let value = message(json);
            assert_eq!(cargo_message(&value), *expected, "{json}");
        }
    }
}

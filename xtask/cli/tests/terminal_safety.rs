//! A task's output (live, and replayed from the cache) must not drive the
//! terminal or the CI runner: the real binary under a pseudo-terminal shows
//! nothing but text and SGR colours; on GitHub Actions no workflow command
//! in task output (or in a warning quoting a hostile name) reaches the runner.

mod support;

use std::process::{Command, Stdio};

use support::{Fixture, text};

/// A task printing every kind of control sequence a log could use against a
/// terminal or a CI runner, plus one colour that must survive.
const HOSTILE: &str = r#"
--- Cargo.toml
[workspace]
resolver = "3"
members = ["crates/*"]

[workspace.metadata.xtask.tasks.noisy]
command = "sh ./noisy.sh"
outputs = ["$TURBO_ROOT$/nothing-\r::warning::from-a-glob/**"]
--- .gitignore
/turbo-cache
--- crates/a/Cargo.toml
[package]
name = "a"
version = "0.1.0"
edition = "2021"
--- crates/a/src/lib.rs
--- crates/a/noisy.sh
printf 'clip\033]52;c;cHduZWQ=\007board\n'
printf 'clear\033[2J\033[Hscreen\n'
printf 'title\033]0;pwned\033\\bar\n'
printf 'c1\302\233%s\n' '2Jcsi'
printf 'del\177 bel\007 bs\010 nul\n'
printf 'dcs\033P1$qm\033\\ apc\033_x\033\\ end\n'
printf 'hidden\r::error::pwned-after-cr\n'
printf '::error::pwned-at-line-start\n'
printf 'text ##[error]legacy-anywhere\n'
printf '\033[31mred\033[0m\n'
"#;

fn script_available() -> bool {
    Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("util-linux"))
}

/// Runs `xtask run noisy` under a pseudo-terminal (util-linux `script`) and
/// returns every byte the terminal received.
fn run_under_pty(fx: &Fixture) -> Vec<u8> {
    let binary = env!("CARGO_BIN_EXE_xtask");
    let output = Command::new("script")
        .args(["-qfec", &format!("'{binary}' run noisy"), "/dev/null"])
        .current_dir(fx.root())
        .env_remove("NO_COLOR")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("XTASK_CACHE_DIR")
        .env("CI", "1")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    output.stdout
}

/// Every control character in `bytes` is the start of an SGR sequence, a tab,
/// or part of the terminal's own CRLF line end; no C1 control, no DEL.
fn assert_only_sgr(bytes: &[u8]) {
    let shown = String::from_utf8_lossy(bytes);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0x1b => {
                assert_eq!(bytes.get(i + 1), Some(&b'['), "not CSI at {i}: {shown:?}");
                let end = bytes[i + 2..]
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b';' | b':'))
                    .map(|p| i + 2 + p)
                    .unwrap_or_else(|| panic!("unterminated CSI at {i}: {shown:?}"));
                assert_eq!(bytes[end], b'm', "CSI other than SGR at {i}: {shown:?}");
                i = end + 1;
            }
            b'\r' => {
                assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}: {shown:?}");
                i += 1;
            }
            b'\t' | b'\n' => i += 1,
            b if b < 0x20 || b == 0x7f => panic!("control {b:#04x} at {i}: {shown:?}"),
            _ => i += 1,
        }
    }
    assert!(
        !shown.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
        "C1 control in: {shown:?}"
    );
}

/// `text` with its (already checked) SGR sequences removed.
fn without_sgr(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        rest = after.find('m').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out
}

#[test]
fn only_sgr_reaches_a_terminal_from_live_and_replayed_output() {
    if !script_available() {
        eprintln!("notice: skipping: util-linux `script` is not installed");
        return;
    }
    let fx = Fixture::new(HOSTILE);
    for run in ["live", "replayed from the cache"] {
        let bytes = run_under_pty(&fx);
        let shown = String::from_utf8_lossy(&bytes);
        assert!(
            shown.contains(if run == "live" {
                "cache miss"
            } else {
                "cache hit"
            }),
            "{run}: {shown}"
        );
        assert_only_sgr(&bytes);
        // The text around the dropped sequences is all there, colour kept.
        for piece in [
            "clipboard",
            "clearscreen",
            "titlebar",
            "c1csi",
            "del bel bs nul",
            "dcs apc end",
            "\x1b[31mred\x1b[0m",
        ] {
            assert!(
                shown.contains(piece),
                "{run}: {piece:?} missing in {shown:?}"
            );
        }
        // The segment after a bare CR is a line of its own, with the prefix.
        let plain = without_sgr(&shown);
        assert!(
            plain.contains("a#noisy: hidden\r\n")
                && plain.contains("a#noisy: ::error::pwned-after-cr\r\n"),
            "{run}: {plain:?}"
        );
    }
}

/// The lines GitHub's runner would read as workflow commands, given how it
/// splits lines (at LF and CR) and honours `::stop-commands::`: V2 commands
/// start a line after whitespace, legacy `##[` ones may be anywhere.
fn commands_the_runner_sees(log: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut stopped: Option<String> = None;
    for line in log.split(['\n', '\r']) {
        let trimmed = line.trim_start();
        let is_command = trimmed.starts_with("::") || line.contains("##[");
        if !is_command {
            continue;
        }
        match &stopped {
            Some(token) => {
                if trimmed == format!("::{token}::") {
                    stopped = None;
                }
            }
            None => {
                if let Some(token) = trimmed.strip_prefix("::stop-commands::") {
                    assert!(token.len() >= 16, "a guessable token: {token}");
                    stopped = Some(token.to_string());
                } else {
                    seen.push(line.to_string());
                }
            }
        }
    }
    seen
}

#[test]
fn on_github_actions_task_output_issues_no_workflow_command() {
    let fx = Fixture::new(HOSTILE);
    let mut tokens = Vec::new();
    for run in ["live", "replayed"] {
        let output = fx
            .command(&["run", "noisy"])
            .env("GITHUB_ACTIONS", "true")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(output.status.success(), "{run}: {stdout}{stderr}");
        assert!(stdout.contains("pwned-after-cr"), "{run}: {stdout}");
        for log in [&stdout, &stderr] {
            let commands = commands_the_runner_sees(log);
            assert!(
                commands
                    .iter()
                    .all(|c| c == "::group::a#noisy" || c == "::endgroup::"),
                "{run}: unprotected workflow commands {commands:?} in:\n{log}"
            );
        }
        if run == "live" {
            assert!(
                stderr.contains("::warning::from-a-glob"),
                "{run}: the warning quoting the glob is there, disarmed: {stderr}"
            );
        }
        tokens.push(
            stdout
                .lines()
                .find_map(|l| l.strip_prefix("::stop-commands::"))
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("{run}: no pause in {stdout}")),
        );
    }
    assert_ne!(tokens[0], tokens[1], "the token is random per run");
}

#[test]
fn file_names_in_explain_cannot_drive_the_terminal() {
    let fx = Fixture::new(HOSTILE);
    fx.ok(&["run", "noisy"]);
    fx.write("crates/a/evil\x1b]0;title\x07\x1b[2J.txt", "x");
    let out = fx.ok(&["explain", "a#noisy"]);
    assert!(out.contains("evil.txt  added"), "{out:?}");
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
}

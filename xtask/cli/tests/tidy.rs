//! Tidy: habits of the code base checked on every `cargo test`, so that they
//! hold without anyone remembering them (rust-analyzer's `tidy.rs` is the
//! model). Each check prints every offender with what to do about it.
//!
//! - every module under `xtask/*/src` starts with a `//!` doc;
//! - ARCHITECTURE.md's codemap names exactly the crates under `xtask/`, once;
//! - no function is longer than [`MAX_FN_LINES`] without a `// Long:` comment
//!   above it saying why;
//! - only the crates ARCHITECTURE.md's invariants name print, reach the
//!   network or start processes;
//! - the cli writes stdout only through `stdout.rs` (`println!` panics when
//!   the reader closes the pipe);
//! - files are written in place only where the writer owns the file alone:
//!   everything another run reads goes through `xtask_toolbox::atomic`
//!   (temp + rename), so a killed run never leaves half a file behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MAX_FN_LINES: usize = 80;

/// Files that may call `fs::write`/`File::create`/`rename` outside tests,
/// and why.
const DIRECT_WRITERS: &[(&str, &str)] = &[
    (
        "xtask/toolbox/src/atomic.rs",
        "the atomic helper itself (temp + rename)",
    ),
    (
        "xtask/cache/src/lib.rs",
        "entries: temp + rename through the cache's own tmp dir (same filesystem as the entries)",
    ),
    (
        "xtask/cache/src/extract.rs",
        "restores outputs: temp + rename beside each output",
    ),
    (
        "xtask/launcher/src/atomic.rs",
        "the launcher has no dependencies (its launch cost is the point): its own temp + rename",
    ),
    (
        "xtask/launcher/src/test_dir.rs",
        "test-only scratch directories (the launcher has no dev-dependencies)",
    ),
    (
        "xtask/launcher/src/rebuild.rs",
        "the launcher has no dependencies: a pid file only this launch reads",
    ),
];

const WRITE_CALLS: &[&str] = &["fs::write(", "File::create(", "fs::rename("];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("xtask/cli is two levels below the root")
        .to_path_buf()
}

/// The crates under `xtask/`, as `xtask/<dir>`.
fn crates(root: &Path) -> Vec<String> {
    let mut crates: Vec<String> = std::fs::read_dir(root.join("xtask"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| format!("xtask/{}", e.file_name().to_string_lossy()))
        .collect();
    crates.sort();
    crates
}

fn rust_sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Every `.rs` file under `xtask/*/src`, workspace-relative, with its text.
fn sources(root: &Path) -> BTreeMap<String, String> {
    let mut files = Vec::new();
    for krate in crates(root) {
        rust_sources(&root.join(&krate).join("src"), &mut files);
    }
    files
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// A file's code before its unit tests (`#[cfg(test)] mod …` at the top level).
fn non_test_part(text: &str) -> &str {
    let mut offset = 0;
    let mut previous = "";
    for line in text.split_inclusive('\n') {
        if previous.trim() == "#[cfg(test)]" && line.starts_with("mod ") {
            return &text[..offset - previous.len()];
        }
        offset += line.len();
        previous = line;
    }
    text
}

fn is_test_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name == "tests.rs" || name.ends_with("_tests.rs") || rel.contains("/tests/")
}

#[test]
fn every_module_has_a_doc() {
    let missing: Vec<String> = sources(&repo_root())
        .into_iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(rel, _)| rel)
        .collect();
    assert!(
        missing.is_empty(),
        "these modules have no `//!` doc saying what they are for (add one at the top):\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_codemap_names_every_crate_once() {
    let root = repo_root();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let codemap = architecture
        .split("\n## Codemap")
        .nth(1)
        .expect("ARCHITECTURE.md has a `## Codemap` section");
    let codemap = codemap.split("\n## ").next().unwrap();
    let mut named: Vec<String> = codemap
        .lines()
        .filter_map(|line| line.strip_prefix("- `xtask/"))
        .filter_map(|rest| rest.split('`').next())
        // `xtask/cli/tests/` and the like describe parts of a crate.
        .filter(|name| !name.contains('/'))
        .map(|name| format!("xtask/{name}"))
        .collect();
    named.sort();
    let mut unique = named.clone();
    unique.dedup();
    assert_eq!(
        named, unique,
        "ARCHITECTURE.md's codemap describes a crate twice: merge the entries"
    );
    assert_eq!(
        unique,
        crates(&root),
        "ARCHITECTURE.md's codemap must name exactly the crates under xtask/ (one `- `xtask/<name>` — …` entry each)"
    );
}

#[test]
fn files_others_read_are_written_atomically() {
    let mut offenders = Vec::new();
    for (rel, text) in sources(&repo_root()) {
        if is_test_file(&rel) || DIRECT_WRITERS.iter().any(|(file, _)| *file == rel) {
            continue;
        }
        for (number, line) in non_test_part(&text).lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if WRITE_CALLS.iter().any(|call| code.contains(call)) {
                offenders.push(format!("{rel}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "write these through `xtask_toolbox::atomic` (or, if only this process ever reads the file, add the file to DIRECT_WRITERS in xtask/cli/tests/tidy.rs with the reason):\n{}",
        offenders.join("\n")
    );
}

/// The functions of `text` longer than `max` lines that no `// Long:`
/// comment explains: (first line, name, length).
fn long_functions(text: &str, max: usize) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = fn_name(line) else {
            continue;
        };
        let Some(length) = body_length(&lines[i..]) else {
            continue;
        };
        let explained = lines[i.saturating_sub(12)..i]
            .iter()
            .any(|l| l.trim_start().starts_with("// Long:"));
        if length > max && !explained {
            found.push((i + 1, name, length));
        }
    }
    found
}

/// The name of the function a line declares, if it declares one.
fn fn_name(line: &str) -> Option<String> {
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Lines from a function's declaration to its closing brace; `None` for a
/// declaration without a body (a trait method).
fn body_length(lines: &[&str]) -> Option<usize> {
    let mut depth = 0usize;
    let mut opened = false;
    for (n, line) in lines.iter().enumerate() {
        for c in code_chars(line) {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth = depth.saturating_sub(1),
                ';' if !opened && depth == 0 => return None,
                _ => {}
            }
        }
        if opened && depth == 0 {
            return Some(n + 1);
        }
    }
    None
}

/// A line's characters outside comments, string and char literals (enough
/// for brace counting: multi-line strings are rare in this code base and a
/// `{}` inside one balances).
fn code_chars(line: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => break,
            '"' => {
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '\'' => {
                // A char literal ('{', '\n') or a lifetime ('a): skip the
                // former only.
                let mut probe = chars.clone();
                let first = probe.next();
                let literal = match first {
                    Some('\\') => true,
                    Some(_) => probe.next() == Some('\''),
                    None => false,
                };
                if literal {
                    for s in chars.by_ref() {
                        if s == '\'' {
                            break;
                        }
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn the_length_counter_counts_bodies_not_literals() {
    let text =
        "fn a() {\n    let s = \"{\";\n    let c = '{';\n}\nfn b();\nfn c<'a>(x: &'a str) {\n}\n";
    assert_eq!(long_functions(text, 3), vec![(1, "a".to_string(), 4)]);
    assert_eq!(long_functions(text, 4), vec![]);
    let explained = format!("// Long: a table\n{text}");
    assert_eq!(long_functions(&explained, 3), vec![]);
}

#[test]
fn no_function_is_long_without_a_reason() {
    let mut offenders = Vec::new();
    for (rel, text) in sources(&repo_root()) {
        if is_test_file(&rel) {
            continue;
        }
        for (line, name, length) in long_functions(non_test_part(&text), MAX_FN_LINES) {
            offenders.push(format!("{rel}:{line}: `{name}` is {length} lines"));
        }
    }
    assert!(
        offenders.is_empty(),
        "functions over {MAX_FN_LINES} lines: split them by job, or put a `// Long: <why>` comment above the ones that read better whole:\n{}",
        offenders.join("\n")
    );
}

/// Who may do what (ARCHITECTURE.md, "Invariants"): (what, code that does it,
/// the crates allowed to).
const POWERS: &[(&str, &[&str], &[&str])] = &[
    (
        "print",
        &[
            "println!",
            "eprintln!",
            "print!(",
            "eprint!(",
            "io::stdout()",
            "io::stderr()",
        ],
        &["xtask/cli", "xtask/report", "xtask/launcher"],
    ),
    (
        "reach the network",
        &["ureq::", "TcpStream", "object_store::", "UdpSocket"],
        &["xtask/remote"],
    ),
    (
        "start processes",
        &["Command::new(", "duct::cmd"],
        &[
            "xtask/graph",
            "xtask/engine",
            "xtask/git",
            "xtask/release",
            "xtask/launcher",
            "xtask/cli",
        ],
    ),
];

#[test]
fn only_the_named_crates_print_reach_the_network_or_start_processes() {
    let mut offenders = Vec::new();
    for (rel, text) in sources(&repo_root()) {
        if is_test_file(&rel) {
            continue;
        }
        let krate = rel.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
        for (number, line) in non_test_part(&text).lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (power, calls, allowed) in POWERS {
                if !allowed.contains(&krate.as_str()) && calls.iter().any(|c| code.contains(c)) {
                    offenders.push(format!(
                        "{rel}:{}: may not {power}: {}",
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "move these to a crate that may (or change ARCHITECTURE.md's invariants and POWERS in xtask/cli/tests/tidy.rs together):\n{}",
        offenders.join("\n")
    );
}

/// `println!`/`print!` (not `eprintln!`) or a direct `io::stdout()` in `code`.
fn writes_stdout_directly(code: &str) -> bool {
    let macro_call = ["println!", "print!("].iter().any(|call| {
        code.match_indices(call)
            .any(|(at, _)| !code[..at].ends_with(|c: char| c == 'e' || c.is_alphanumeric()))
    });
    macro_call || code.contains("io::stdout()")
}

#[test]
fn the_cli_writes_stdout_only_through_its_helper() {
    let mut offenders = Vec::new();
    for (rel, text) in sources(&repo_root()) {
        if !rel.starts_with("xtask/cli/src/") || rel == "xtask/cli/src/stdout.rs" {
            continue;
        }
        for (number, line) in non_test_part(&text).lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if writes_stdout_directly(code) {
                offenders.push(format!("{rel}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "write stdout with `out!`/`outln!` (xtask/cli/src/stdout.rs): a closed pipe then ends the command quietly instead of panicking:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_stdout_check_tells_print_from_eprint() {
    assert!(writes_stdout_directly("    println!(\"{x}\");"));
    assert!(writes_stdout_directly("x => print!(\"{x}\"),"));
    assert!(writes_stdout_directly(
        "let out = std::io::stdout().lock();"
    ));
    assert!(!writes_stdout_directly("    eprintln!(\"warning: {x}\");"));
    assert!(!writes_stdout_directly("    eprint!(\"{x}\");"));
    assert!(!writes_stdout_directly("    outln!(\"{x}\");"));
}

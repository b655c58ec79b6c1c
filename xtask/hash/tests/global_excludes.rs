//! Our reading of git config for `core.excludesFile` against the `ignore`
//! crate's own (`gitignore::gitconfig_excludes_path`), which the walk used
//! before: both read the process environment, so each case runs this test
//! binary again under its own `HOME`, `XDG_CONFIG_HOME` and
//! `GIT_CONFIG_GLOBAL`, and compares what the two print.

use std::path::Path;
use std::process::Command;

const PROBE: &str = "XTASK_TEST_EXCLUDES_PROBE";

fn probe_output() -> String {
    format!(
        "{:?}\n{:?}\n",
        xtask_hash::global_excludes_file(),
        ignore::gitignore::gitconfig_excludes_path()
    )
}

/// Both answers, from a child process with this environment.
fn answers(home: &Path, global: Option<&Path>, xdg: Option<&Path>) -> (String, String) {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "agrees_with_the_ignore_crate", "--nocapture"])
        .env(PROBE, "1")
        .env("HOME", home)
        .env("GIT_CONFIG_SYSTEM", home.join("no-system-config"))
        .env_remove("GIT_CONFIG_GLOBAL")
        .env_remove("XDG_CONFIG_HOME");
    if let Some(global) = global {
        child.env("GIT_CONFIG_GLOBAL", global);
    }
    if let Some(xdg) = xdg {
        child.env("XDG_CONFIG_HOME", xdg);
    }
    let output = child.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let start = text.find("<<").expect("the probe's answers") + 2;
    let end = text.find(">>").unwrap();
    let mut lines = text[start..end].lines();
    (
        lines.next().unwrap().to_owned(),
        lines.next().unwrap().to_owned(),
    )
}

#[test]
fn agrees_with_the_ignore_crate() {
    if std::env::var_os(PROBE).is_some() {
        print!("<<{}>>", probe_output());
        return;
    }
    let configs: &[&str] = &[
        "[core]\n\texcludesFile = ~/.gitignore_global\n",
        "[core]\nexcludesfile=/abs/path\n",
        "[core]\n  EXCLUDESFILE   =   \"~/quoted path\"\n",
        "[core]\nexcludesFile = \"~/quoted\"\n",
        "[core]\nexcludesFile = \"~/quoted\" \n",
        "[core]\nexcludesFile = ~/trailing-quote\"\n",
        "[core]\nexcludesFile = a\"\"\n",
        "[core]\nexcludesFile = a\" \"\n",
        "[core]\nexcludesFile = \"\"\n",
        "[core]\nexcludesFile = two words\nexcludesFile = /second\n",
        "[core]\r\nexcludesFile = /crlf\r\n",
        "# excludesFile = /commented\n[core]\nexcludesFile = /real\n",
        "[core]\nexcludesFileX = /not-the-key\n",
        "[core]\nexcludeFile = /not-the-key-either\n",
        "[user]\nname = x\n",
        "",
        "[core]\nexcludesFile =\n",
        "[core]\nexcludesFile = /é/ünïcode\n",
        "[core]\nexcludesFile = ~/a~b\n",
    ];
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    for (n, config) in configs.iter().enumerate() {
        let global = home.join(format!("global-{n}"));
        std::fs::write(&global, config).unwrap();
        let (ours, theirs) = answers(home, Some(&global), None);
        assert_eq!(ours, theirs, "GIT_CONFIG_GLOBAL holding {config:?}");
        std::fs::write(home.join(".gitconfig"), config).unwrap();
        let (ours, theirs) = answers(home, None, None);
        assert_eq!(ours, theirs, "~/.gitconfig holding {config:?}");
    }
    // The XDG config, and the default when nothing sets the key.
    std::fs::write(home.join(".gitconfig"), "[user]\nname = x\n").unwrap();
    let xdg = home.join("xdg");
    std::fs::create_dir_all(xdg.join("git")).unwrap();
    std::fs::write(xdg.join("git/config"), "[core]\nexcludesFile = /from-xdg\n").unwrap();
    let (ours, theirs) = answers(home, None, Some(&xdg));
    assert_eq!(ours, theirs);
    assert!(ours.contains("/from-xdg"), "{ours}");
    std::fs::remove_file(xdg.join("git/config")).unwrap();
    let (ours, theirs) = answers(home, None, Some(&xdg));
    assert_eq!(ours, theirs);
    assert!(ours.contains("xdg/git/ignore"), "{ours}");
    let (ours, theirs) = answers(home, None, None);
    assert_eq!(ours, theirs);
    assert!(ours.contains(".config/git/ignore"), "{ours}");
}

const WALK_PROBE: &str = "XTASK_TEST_EXCLUDES_WALK";

/// The files a walk of `root` finds: ours, and the `ignore` crate's walk
/// with its own global matcher and otherwise our settings (the walk before).
fn walks(root: &Path) -> (Vec<String>, Vec<String>) {
    let mut cache = xtask_hash::StatCache::default();
    let ours = xtask_hash::snapshot(root, &[], &mut cache)
        .unwrap()
        .files
        .into_iter()
        .map(|f| f.path)
        .collect();
    let mut before: Vec<String> = ignore::WalkBuilder::new(root)
        .hidden(false)
        .ignore(false)
        .parents(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(true)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build()
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| !t.is_dir()))
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap();
            rel.to_string_lossy().into_owned()
        })
        .collect();
    before.sort();
    (ours, before)
}

#[test]
fn the_walk_applies_the_global_excludes_as_the_crate_did() {
    if let Some(root) = std::env::var_os(WALK_PROBE) {
        let (ours, before) = walks(Path::new(&root));
        print!("<<{}\n{}>>", ours.join(","), before.join(","));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let ws = dir.path().join("ws");
    let write = |path: &Path, text: &str| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        &home.join(".gitconfig"),
        "[core]\n\texcludesFile = ~/global-ignore\n",
    );
    write(&home.join("global-ignore"), "*.log\nscratch/\n.DS_Store\n");
    write(&ws.join(".gitignore"), "!keep.log\n");
    for file in [
        "src/lib.rs",
        "a.log",
        "keep.log",
        "scratch/x.rs",
        "sub/.DS_Store",
        "sub/b.log",
    ] {
        write(&ws.join(file), "x");
    }
    std::fs::create_dir_all(ws.join(".git")).unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_walk_applies_the_global_excludes_as_the_crate_did",
            "--nocapture",
        ])
        .env(WALK_PROBE, &ws)
        .env("HOME", &home)
        .env("GIT_CONFIG_SYSTEM", home.join("none"))
        .env_remove("GIT_CONFIG_GLOBAL")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let body = &text[text.find("<<").unwrap() + 2..text.find(">>").unwrap()];
    let (ours, before) = body.split_once('\n').unwrap();
    assert_eq!(ours, before);
    // The global rules hold, and a whitelist in .gitignore beats them.
    assert_eq!(ours, ".gitignore,keep.log,src/lib.rs");
}

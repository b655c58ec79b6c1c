//! The globs and ignore rules of this crate against the crates whose meaning
//! they keep (globset, ignore), on generated globs, paths and ignore files:
//! every parse outcome, error message and match must be the same.

use std::path::Path;

use xtask_glob::{Gitignore, Glob, Match, Options};

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const GLOB_PARTS: &[&str] = &[
    "a", "b", "ab", "c.rs", ".", "/", "/", "*", "*", "**", "**/", "/**", "/**/", "?", "[ab]",
    "[!a]", "[^b]", "[a-c]", "[]a]", "[-a]", "[a-]", "[c-a]", "[", "]", "{", "}", ",", "{a,b}",
    "{a,*/b}", "{,a}", "{**,a}", "{a/**,b}", "\\*", "\\", "\\[", "-", "x", ".rs", "A",
];

const PATH_PARTS: &[&str] = &[
    "a", "b", "ab", "ba", "c.rs", "x.rs", ".rs", "A", "B", "*", "[", "]", "-", ",", "{", "}", "aa",
    "abc", "x",
];

fn random_glob(rng: &mut Rng) -> String {
    (0..1 + rng.below(6))
        .map(|_| rng.pick(GLOB_PARTS))
        .collect()
}

fn random_path(rng: &mut Rng) -> String {
    let mut path: Vec<&str> = (0..1 + rng.below(4))
        .map(|_| rng.pick(PATH_PARTS))
        .collect();
    match rng.below(8) {
        0 => path.insert(0, ""),
        1 => path.push(""),
        _ => {}
    }
    path.join("/")
}

fn theirs(text: &str, options: Options) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(text)
        .literal_separator(options.literal_separator)
        .case_insensitive(options.case_insensitive)
        .allow_unclosed_class(options.allow_unclosed_class)
        .build()
        .map(|glob| glob.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

fn every_options() -> Vec<Options> {
    let mut all = Vec::new();
    for bits in 0..8 {
        all.push(Options {
            literal_separator: bits & 1 != 0,
            case_insensitive: bits & 2 != 0,
            allow_unclosed_class: bits & 4 != 0,
        });
    }
    all
}

#[test]
fn generated_globs_parse_and_match_as_globset_does() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let paths: Vec<String> = (0..150).map(|_| random_path(&mut rng)).collect();
    let (mut compared, mut matched) = (0, 0);
    for _ in 0..3000 {
        let text = random_glob(&mut rng);
        for options in every_options() {
            let ours = Glob::with_options(&text, options).map_err(|e| e.kind().to_string());
            let theirs = theirs(&text, options);
            match (&ours, &theirs) {
                (Ok(ours), Ok(theirs)) => {
                    for path in &paths {
                        let expected = theirs.is_match(path);
                        assert_eq!(
                            ours.is_match(path),
                            expected,
                            "glob {text:?} {options:?} on {path:?}"
                        );
                        compared += 1;
                        matched += usize::from(expected);
                    }
                }
                (Err(ours), Err(theirs)) => assert_eq!(ours, theirs, "glob {text:?}"),
                _ => panic!("glob {text:?} {options:?}: ours {ours:?}, globset {theirs:?}"),
            }
        }
    }
    // The corpus must exercise both answers, or it proves nothing.
    assert!(
        matched > 10_000 && compared - matched > 10_000,
        "{matched} of {compared}"
    );
}

#[test]
fn hand_picked_globs_match_as_globset_does() {
    let globs = [
        "**",
        "**/",
        "/**",
        "a/**",
        "**/a",
        "**/*.rs",
        "*.rs",
        "src/**/*.rs",
        "a/**/b",
        "{a,b}/**",
        "a**",
        "**a",
        "a/**b",
        "{,}",
        "{}",
        "{a,}",
        "{{a,b},c}",
        "[!/]",
        "[/]",
        "a?b",
        "*/*",
        "dist/**",
        "dist/*",
        "$TURBO_ROOT$",
        "**/**",
        "a/**/**/b",
    ];
    let paths = [
        "",
        "/",
        "a",
        "b",
        "a/b",
        "a/x/b",
        "a/x/y/b",
        "ab",
        "a/",
        "/a",
        "src/lib.rs",
        "src/a/b/c.rs",
        "lib.rs",
        "dist",
        "dist/x",
        "dist/x/y",
        "a/b/c",
        "c",
        "$TURBO_ROOT$",
    ];
    for text in globs {
        for options in every_options() {
            let ours = Glob::with_options(text, options).unwrap();
            let theirs = theirs(text, options).unwrap();
            for path in paths {
                assert_eq!(
                    ours.is_match(path),
                    theirs.is_match(path),
                    "{text:?} {options:?} on {path:?}"
                );
            }
        }
    }
}

#[test]
fn non_ascii_literals_and_stars_match_as_globset_does() {
    for (text, path) in [
        ("é*", "éa"),
        ("*ü", "aü"),
        ("**/naïve.txt", "a/naïve.txt"),
        ("日本/**", "日本/語"),
    ] {
        let ours = Glob::new(text).unwrap();
        let theirs = globset::Glob::new(text).unwrap().compile_matcher();
        assert!(
            ours.is_match(path) && theirs.is_match(path),
            "{text} {path}"
        );
        assert_eq!(ours.is_match("x"), theirs.is_match("x"));
    }
    // By character: `?` takes all of a non-ASCII character.
    assert!(Glob::new("?").unwrap().is_match("é"));
}

#[test]
fn a_long_glob_on_a_long_path_takes_linear_time() {
    // Backtracking matchers take exponential time on this; the automaton
    // keeps at most one state per glob position.
    let text = "*a".repeat(40) + "b";
    let path = "a".repeat(10_000);
    let started = std::time::Instant::now();
    assert!(!Glob::new(&text).unwrap().is_match(&path));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // More than 256 states: the state sets leave the stack.
    let many = "{a,b}".repeat(200);
    let glob = Glob::new(&many).unwrap();
    assert!(glob.is_match("ab".repeat(100)) && !glob.is_match("ab".repeat(99)));
}

#[test]
fn deeply_nested_groups_are_an_error_not_a_stack_overflow() {
    let deep = "{".repeat(100_000) + &"}".repeat(100_000);
    let error = Glob::new(&deep).unwrap_err();
    assert!(
        error.to_string().contains("nested more than 64 deep"),
        "{error}"
    );
    let fine = "{a,".repeat(64) + &"}".repeat(64);
    let glob = Glob::new(&fine).unwrap();
    assert!(glob.is_match("a") && !glob.is_match("b"));
}

const RULE_PARTS: &[&str] = &[
    "a", "b", "ab", "*", "**", "/", "?", "[ab]", "[", "!", "#", "\\!", "\\#", " ", "\\ ", ".rs",
    "x", "/**", "**/", "{a,b}", "\\",
];

fn random_rules(rng: &mut Rng) -> String {
    let lines: Vec<String> = (0..1 + rng.below(6))
        .map(|_| {
            (0..1 + rng.below(4))
                .map(|_| rng.pick(RULE_PARTS))
                .collect()
        })
        .collect();
    let mut text = lines.join(if rng.below(4) == 0 { "\r\n" } else { "\n" });
    if rng.below(5) == 0 {
        text.insert(0, '\u{feff}');
    }
    text
}

fn their_match(m: ignore::Match<&ignore::gitignore::Glob>) -> Match {
    match m {
        ignore::Match::None => Match::None,
        ignore::Match::Ignore(_) => Match::Ignore,
        ignore::Match::Whitelist(_) => Match::Whitelist,
    }
}

#[test]
fn generated_ignore_files_match_as_the_ignore_crate_does() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let file = root.join(".gitignore");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let paths: Vec<String> = (0..80).map(|_| random_path(&mut rng)).collect();
    let (mut ignored, mut compared) = (0, 0);
    for _ in 0..1500 {
        std::fs::write(&file, random_rules(&mut rng)).unwrap();
        let ours = Gitignore::from_file(root, &file);
        let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
        let _ = builder.add(&file);
        let theirs = builder.build().unwrap();
        assert_eq!(ours.is_empty(), theirs.is_empty());
        for path in paths.iter().filter(|p| !p.starts_with('/')) {
            for candidate in [Path::new(path).to_path_buf(), root.join(path)] {
                for is_dir in [false, true] {
                    let expected = their_match(theirs.matched(&candidate, is_dir));
                    assert_eq!(
                        ours.matched(&candidate, is_dir),
                        expected,
                        "rules {:?} on {candidate:?} (dir: {is_dir})",
                        std::fs::read_to_string(&file).unwrap()
                    );
                    compared += 1;
                    ignored += usize::from(expected != Match::None);
                }
            }
        }
    }
    assert!(
        ignored > 5_000 && compared - ignored > 5_000,
        "{ignored} of {compared}"
    );
}

#[test]
fn an_ignore_file_stops_at_a_line_that_is_not_utf8_as_the_crate_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".gitignore");
    std::fs::write(&file, b"a\n\xff\nb\n").unwrap();
    let ours = Gitignore::from_file(dir.path(), &file);
    assert!(ours.matched(Path::new("a"), false).is_ignore());
    assert_eq!(ours.matched(Path::new("b"), false), Match::None);
    let missing = Gitignore::from_file(dir.path(), &dir.path().join("missing"));
    assert!(missing.is_empty());
}

//! Which tasks run after each kind of edit: exactly those whose inputs
//! changed, and their dependents.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use support::{CHAIN, Fixture, set};

const ALL: [&str; 4] = ["a#check", "b#check", "c#check", "d#check"];

fn warmed() -> Fixture {
    let fx = Fixture::new(CHAIN);
    assert_eq!(
        fx.executed(&["check"]),
        set(&ALL),
        "cold run executes everything"
    );
    assert_eq!(
        fx.executed(&["check"]),
        set(&[]),
        "warm run executes nothing"
    );
    fx
}

#[test]
fn content_edit_misses_the_package_and_its_dependents_only() {
    let fx = warmed();
    fx.write("crates/a/src/lib.rs", "pub fn a() -> u32 { 2 }\n");
    assert_eq!(
        fx.executed(&["check"]),
        set(&["a#check", "b#check", "c#check"])
    );
    assert_eq!(fx.executed(&["check"]), set(&[]));
}

#[test]
fn leaf_edit_misses_only_the_leaf() {
    let fx = warmed();
    fx.write("crates/c/src/lib.rs", "pub fn c() -> u32 { 3 }\n");
    assert_eq!(fx.executed(&["check"]), set(&["c#check"]));
}

#[test]
fn new_untracked_file_misses() {
    let fx = warmed();
    fx.write("crates/d/src/extra.rs", "// new\n");
    assert_eq!(fx.executed(&["check"]), set(&["d#check"]));
}

#[test]
fn ignored_file_does_not_miss() {
    let fx = warmed();
    fx.write("crates/d/debug.log", "noise\n");
    fx.write("target/debug/junk", "noise\n");
    assert_eq!(fx.executed(&["check"]), set(&[]));
}

#[test]
fn rename_misses() {
    let fx = warmed();
    std::fs::rename(fx.path("crates/d/run.sh"), fx.path("crates/d/go.sh")).unwrap();
    assert_eq!(fx.executed(&["check"]), set(&["d#check"]));
}

#[test]
fn exec_bit_misses() {
    let fx = warmed();
    let path = fx.path("crates/d/run.sh");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(fx.executed(&["check"]), set(&["d#check"]));
}

#[test]
fn deleted_file_misses() {
    let fx = warmed();
    std::fs::remove_file(fx.path("crates/d/run.sh")).unwrap();
    assert_eq!(fx.executed(&["check"]), set(&["d#check"]));
}

#[test]
fn file_outside_every_package_misses_nothing() {
    let fx = warmed();
    fx.write("README.md", "Changed.\n");
    fx.write("docs/guide.md", "New.\n");
    assert_eq!(fx.executed(&["check"]), set(&[]));
}

#[test]
fn editing_another_task_definition_misses_nothing() {
    let fx = warmed();
    let manifest = fx
        .read("Cargo.toml")
        .replace("command = \"echo other\"", "command = \"echo changed\"");
    fx.write("Cargo.toml", &manifest);
    assert_eq!(fx.executed(&["check"]), set(&[]));
}

#[test]
fn editing_the_task_definition_misses_everything() {
    let fx = warmed();
    let manifest = fx.read("Cargo.toml").replace("echo ok >", "echo fine >");
    fx.write("Cargo.toml", &manifest);
    assert_eq!(fx.executed(&["check"]), set(&ALL));
}

#[test]
fn declared_env_misses_and_undeclared_does_not() {
    let fx = warmed();
    assert_eq!(
        fx.executed_with(&["check"], &[("UNDECLARED", "1")]),
        set(&[])
    );
    assert_eq!(
        fx.executed_with(&["check"], &[("CHECK_MODE", "strict")]),
        set(&ALL)
    );
    assert_eq!(
        fx.executed_with(&["check"], &[("CHECK_MODE", "strict")]),
        set(&[])
    );
}

#[test]
fn reverting_an_edit_is_a_full_hit() {
    let fx = warmed();
    let original = fx.read("crates/a/src/lib.rs");
    fx.write("crates/a/src/lib.rs", "pub fn a() -> u32 { 7 }\n");
    assert_eq!(fx.executed(&["check"]).len(), 3);
    fx.write("crates/a/src/lib.rs", &original);
    assert_eq!(fx.executed(&["check"]), set(&[]));
}

/// The stat cache must not hide an edit that kept the size and put the mtime
/// back: ctime (which nobody can set) still changes.
#[test]
fn same_size_edit_with_restored_mtime_is_seen() {
    let fx = Fixture::new(CHAIN);
    let path = fx.path("crates/d/src/lib.rs");
    let old = SystemTime::now() - Duration::from_secs(3600);
    let set_mtime = |t: SystemTime| {
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(t)
            .unwrap()
    };
    set_mtime(old);
    // Let the change time age past the racy window, so the stat cache trusts it.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(fx.executed(&["check"]).len(), 4);
    assert_eq!(fx.executed(&["check"]), set(&[]));

    let before = std::fs::read(&path).unwrap();
    let mut after = before.clone();
    after[0] = if after[0] == b'x' { b'y' } else { b'x' };
    std::fs::write(&path, &after).unwrap();
    set_mtime(old);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), before.len() as u64);
    assert_eq!(fx.executed(&["check"]), set(&["d#check"]));
}

#[test]
fn dependency_task_key_change_reaches_dependents_but_not_unrelated() {
    let fx = warmed();
    fx.write("crates/b/src/new.rs", "\n");
    assert_eq!(fx.executed(&["check"]), set(&["b#check", "c#check"]));
}

#[test]
fn global_inputs_and_global_env_reach_every_task() {
    let fx = Fixture::new(&CHAIN.replace(
        "global-env = []",
        "global-env = [\"DEPLOY_ENV\"]\nglobal-inputs = [\"config/*.toml\"]",
    ));
    fx.write("config/app.toml", "x = 1\n");
    assert_eq!(fx.executed(&["check"]).len(), 4);
    assert_eq!(fx.executed(&["check"]), set(&[]));
    fx.write("config/app.toml", "x = 2\n");
    assert_eq!(fx.executed(&["check"]), set(&ALL));
    fx.write("config/notes.md", "not matched\n");
    assert_eq!(fx.executed(&["check"]), set(&[]));
    assert_eq!(
        fx.executed_with(&["check"], &[("DEPLOY_ENV", "prod")]),
        set(&ALL)
    );
}

#[test]
fn root_anchored_inputs_shared_by_every_package_reach_each_of_them() {
    // One list of root-anchored globs for all four packages: matched against
    // the workspace once, the answer must still reach every package's key.
    let fx = Fixture::new(&CHAIN.replace(
        "outputs = [\".check.out\"]",
        "outputs = [\".check.out\"]\ninputs = [\"$TURBO_DEFAULT$\", \"$TURBO_ROOT$/shared/*.json\"]",
    ));
    fx.write("shared/schema.json", "{}\n");
    assert_eq!(fx.executed(&["check"]), set(&ALL));
    assert_eq!(fx.executed(&["check"]), set(&[]));
    fx.write("shared/schema.json", "{\"v\": 2}\n");
    assert_eq!(fx.executed(&["check"]), set(&ALL));
    fx.write("shared/notes.txt", "not matched\n");
    assert_eq!(fx.executed(&["check"]), set(&[]));
    fx.write("shared/extra.json", "{}\n");
    assert_eq!(fx.executed(&["check"]), set(&ALL));
    // A package's own files still reach only it and its dependents.
    fx.write("crates/c/src/lib.rs", "pub fn c() -> u32 { 3 }\n");
    assert_eq!(fx.executed(&["check"]), set(&["c#check"]));
}

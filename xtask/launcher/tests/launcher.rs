//! `cargo xtask` through the launcher, end to end: real cargo, the real
//! alias, a stand-in engine. The engine never runs stale; when nothing
//! changed it runs without cargo being asked; everything passes through.

mod support;

use support::{Fixture, outcome, success};

#[test]
fn the_first_launch_builds_the_engine_and_later_ones_just_run_it() {
    let fixture = Fixture::new("first");
    let first = success(&mut fixture.cargo_xtask(&["hello"]));
    assert!(
        first
            .stderr
            .contains("xtask-launch: building the engine (no record of a previous build)"),
        "{}",
        first.stderr
    );
    assert!(first.compiled_engine(), "{}", first.stderr);
    assert_eq!(first.engine_build(), "0.1.0 v1");

    for _ in 0..2 {
        let again = success(&mut fixture.cargo_xtask(&["hello"]));
        assert!(
            !again.built(),
            "nothing changed, yet the launcher asked cargo:\n{}",
            again.stderr
        );
        assert_eq!(again.engine_build(), "0.1.0 v1");
    }
}

#[test]
fn an_edit_to_any_file_of_the_engine_rebuilds_it_before_it_runs() {
    let fixture = Fixture::new("edits");
    success(&mut fixture.cargo_xtask(&[]));

    // A dependency crate's source: the engine's own crate did not change.
    fixture.edit("xtask/core/src/lib.rs", "v1", "v2");
    let run = success(&mut fixture.cargo_xtask(&[]));
    assert!(
        run.stderr
            .contains("building the engine (xtask/core/src/lib.rs changed)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.engine_build(), "0.1.0 v2");

    // A manifest (the version is in Cargo.lock too, which cargo updates
    // first: either may be the change reported).
    fixture.edit(
        "xtask/cli/Cargo.toml",
        "version = \"0.1.0\"",
        "version = \"0.2.0\"",
    );
    let run = success(&mut fixture.cargo_xtask(&[]));
    assert!(
        run.stderr.contains("(xtask/cli/Cargo.toml changed)")
            || run.stderr.contains("(Cargo.lock changed)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.engine_build(), "0.2.0 v2");

    // A new module: watched from the build that first compiles it.
    fixture.write(
        "xtask/core/src/version.rs",
        "pub const VERSION: &str = \"v3\";\n",
    );
    fixture.write(
        "xtask/core/src/lib.rs",
        "mod version;\npub use version::VERSION;\n",
    );
    assert_eq!(
        success(&mut fixture.cargo_xtask(&[])).engine_build(),
        "0.2.0 v3"
    );
    fixture.edit("xtask/core/src/version.rs", "v3", "v4");
    let run = success(&mut fixture.cargo_xtask(&[]));
    assert!(
        run.stderr.contains("(xtask/core/src/version.rs changed)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.engine_build(), "0.2.0 v4");

    // Workspace files that change no source still make it ask cargo. (That
    // a file created where none was is a change, stamp.rs's tests show:
    // creating a `.cargo/config` here would hide the alias.)
    for file in ["Cargo.lock", ".cargo/config.toml"] {
        let text = std::fs::read_to_string(fixture.path(file)).unwrap();
        fixture.write(file, &format!("{text}\n# edited\n"));
        let run = success(&mut fixture.cargo_xtask(&[]));
        assert!(
            run.stderr.contains(&format!("({file} changed)")),
            "{file}: {}",
            run.stderr
        );
        assert_eq!(run.engine_build(), "0.2.0 v4");
    }
}

#[test]
fn a_failed_build_never_runs_the_previous_engine() {
    let fixture = Fixture::new("failed-build");
    success(&mut fixture.cargo_xtask(&[]));
    fixture.edit(
        "xtask/core/src/lib.rs",
        "\"v1\";",
        "\"v2\" this does not compile",
    );

    for _ in 0..2 {
        let run = outcome(&mut fixture.cargo_xtask(&["hello"]));
        assert_eq!(run.code, Some(101), "{}", run.stderr);
        assert!(run.built(), "{}", run.stderr);
        assert!(
            run.stderr
                .contains("the engine did not build; not running the previous build"),
            "{}",
            run.stderr
        );
        assert!(
            !run.stdout.contains("engine"),
            "the old engine ran:\n{}",
            run.stdout
        );
    }

    fixture.edit(
        "xtask/core/src/lib.rs",
        "\"v2\" this does not compile",
        "\"v2\";",
    );
    assert_eq!(
        success(&mut fixture.cargo_xtask(&[])).engine_build(),
        "0.1.0 v2"
    );
}

#[test]
fn arguments_streams_exit_codes_and_the_working_directory_pass_through() {
    let fixture = Fixture::new("pass-through");
    let args = ["-C", "../elsewhere", "run", "two words", "", "ünïcode"];
    let run = success(
        fixture
            .cargo_xtask(&args)
            .current_dir(fixture.path("xtask/core/src")),
    );
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("engine "))
        .unwrap();
    assert!(line.contains(&format!("args={:?}", args)), "{line}");
    assert!(
        line.contains(&format!("cwd={}", fixture.path("xtask/core/src").display())),
        "{line}"
    );
    // What `cargo run` set for the launcher is not the engine's environment.
    assert!(line.contains(" manifest-dir=None "), "{line}");

    assert_eq!(
        outcome(&mut fixture.cargo_xtask(&["exit", "7"])).code,
        Some(7)
    );

    let mut cat = fixture.cargo_xtask(&["cat"]);
    cat.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cat.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"through stdin\n").unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "through stdin\n");
    assert!(String::from_utf8_lossy(&output.stderr).ends_with("engine stderr"));
}

#[test]
fn the_launcher_and_a_plain_cargo_build_share_one_engine_build() {
    // The stand-in's build script tracks CARGO_MANIFEST_DIR, as ring's does:
    // if the launcher passed on what `cargo run` set, every switch between
    // `cargo xtask` and a `cargo build`/`cargo test` typed in a shell would
    // rebuild the engine.
    let fixture = Fixture::new("shared-build");
    success(&mut fixture.cargo_xtask(&[]));
    let plain = success(&mut fixture.cargo(&["build", "-p", "xtask", "--bin", "xtask"]));
    assert!(!plain.compiled_engine(), "{}", plain.stderr);
    let again = success(&mut fixture.cargo_xtask(&[]));
    assert!(!again.compiled_engine(), "{}", again.stderr);
}

#[cfg(unix)]
#[test]
fn the_engine_replaces_the_launcher_so_signals_reach_it() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;

    let fixture = Fixture::new("signals");
    success(&mut fixture.cargo_xtask(&[]));
    for mut command in [
        fixture.launcher(&["sleep"]),
        fixture.cargo_xtask(&["sleep"]),
    ] {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            format!("pid {}", child.id()),
            "the engine is not the process we started"
        );
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        assert_eq!(child.wait().unwrap().signal(), Some(15));
    }
}

#[test]
fn racing_launches_after_an_edit_all_run_the_new_engine() {
    let fixture = Fixture::new("race");
    success(&mut fixture.cargo_xtask(&[]));
    fixture.edit("xtask/core/src/lib.rs", "v1", "v2");
    let children: Vec<_> = (0..3)
        .map(|_| {
            let mut command = fixture.launcher(&[]);
            command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    let mut compiled = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(
            stdout.starts_with("engine 0.1.0 v2 "),
            "a stale engine ran: {stdout}\n{stderr}"
        );
        compiled += usize::from(stderr.contains("Compiling xtask v"));
    }
    assert_eq!(compiled, 1);
}

#[test]
fn a_damaged_stamp_or_a_replaced_engine_binary_is_never_trusted() {
    let fixture = Fixture::new("hostile");
    success(&mut fixture.cargo_xtask(&[]));

    for garbage in [
        "",
        "xtask-launch stamp v1\nkey \u{0}\npresent 1 2",
        "\u{ffff}\n\n\n",
    ] {
        std::fs::write(fixture.stamp(), garbage).unwrap();
        let run = success(&mut fixture.cargo_xtask(&[]));
        assert!(
            run.stderr.contains("(no record of a previous build)"),
            "{garbage:?}: {}",
            run.stderr
        );
        assert_eq!(run.engine_build(), "0.1.0 v1");
    }

    // Something else put a different binary where the engine was.
    std::fs::remove_file(fixture.engine_exe()).unwrap();
    std::fs::write(fixture.engine_exe(), "#!/bin/sh\necho not the engine\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(fixture.engine_exe(), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    let run = success(&mut fixture.cargo_xtask(&[]));
    assert!(
        run.stderr.contains("(target/debug/xtask changed)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.engine_build(), "0.1.0 v1");
}

#[cfg(unix)]
#[test]
fn a_new_toolchain_rebuilds_the_engine() {
    use std::os::unix::fs::PermissionsExt;

    let fixture = Fixture::new("toolchain");
    // A toolchain directory of our own: cargo and rustc that forward to the
    // real ones, so that "updating" it is a file we can touch.
    let real_cargo = support::cargo_binary();
    let real_rustc = real_cargo.with_file_name("rustc");
    for (name, real) in [("cargo", &real_cargo), ("rustc", &real_rustc)] {
        let path = fixture.path(&format!("toolchain/bin/{name}"));
        fixture.write(
            &format!("toolchain/bin/{name}"),
            &format!("#!/bin/sh\nexec '{}' \"$@\"\n", real.display()),
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let ours = fixture.path("toolchain/bin/cargo");
    success(&mut fixture.cargo(&["build", "-p", "xtask-launcher"]));
    let first = success(fixture.launcher(&[]).env("CARGO", &ours));
    assert!(first.built(), "{}", first.stderr);
    assert!(!success(fixture.launcher(&[]).env("CARGO", &ours)).built());

    std::thread::sleep(std::time::Duration::from_millis(50));
    let rustc = fixture.path("toolchain/bin/rustc");
    let text = std::fs::read_to_string(&rustc).unwrap();
    std::fs::write(&rustc, format!("{text}# updated\n")).unwrap();
    let updated = success(fixture.launcher(&[]).env("CARGO", &ours));
    assert!(
        updated.stderr.contains("(toolchain/bin/rustc changed)"),
        "{}",
        updated.stderr
    );

    // Another cargo altogether (another toolchain, `cargo +nightly`).
    let other = success(&mut fixture.launcher(&[]));
    assert!(
        other
            .stderr
            .contains("(the last build was for another cargo"),
        "{}",
        other.stderr
    );
}

#[test]
fn after_the_first_launch_cargo_runs_the_standalone_launcher_from_any_directory() {
    let fixture = Fixture::new("fast-path");
    // Before the fast path exists, the tracked alias works from a subdirectory.
    let first = success(
        fixture
            .cargo_xtask(&["hello"])
            .current_dir(fixture.path("xtask/core/src")),
    );
    assert!(
        first.ran_member() && !first.ran_standalone(),
        "{}",
        first.stderr
    );
    assert_eq!(first.engine_build(), "0.1.0 v1");
    let alias = std::fs::read_to_string(fixture.path(".cargo/xtask-launch/alias.toml")).unwrap();
    assert!(
        alias.contains(&format!(
            "--manifest-path {} ",
            fixture.path(".cargo/xtask-launch/Cargo.toml").display()
        )),
        "{alias}"
    );
    // None of it is committed: the paths are this checkout's.
    assert_eq!(
        std::fs::read_to_string(fixture.path(".cargo/xtask-launch/.gitignore")).unwrap(),
        "*\n"
    );

    for dir in ["", "xtask/core/src", "xtask"] {
        let run = success(
            fixture
                .cargo_xtask(&["hello"])
                .current_dir(fixture.path(dir)),
        );
        assert!(run.ran_standalone(), "{dir}: {}", run.stderr);
        assert!(!run.ran_member(), "{dir}: {}", run.stderr);
        assert!(!run.built(), "{dir}: {}", run.stderr);
        assert!(
            !run.stderr.contains("Compiling"),
            "the first launch built the standalone launcher already:\n{}",
            run.stderr
        );
        assert_eq!(run.engine_build(), "0.1.0 v1");
    }
}

#[test]
fn the_standalone_launcher_hands_every_rebuild_to_the_member() {
    let fixture = Fixture::new("hand-over");
    success(&mut fixture.cargo_xtask(&[]));

    // An engine edit: the standalone launcher never builds, the member does.
    fixture.edit("xtask/core/src/lib.rs", "v1", "v2");
    let run = success(&mut fixture.cargo_xtask(&[]));
    assert!(run.ran_standalone() && run.ran_member(), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("building the engine (xtask/core/src/lib.rs changed)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.engine_build(), "0.1.0 v2");
    let next = success(&mut fixture.cargo_xtask(&[]));
    assert!(
        next.ran_standalone() && !next.ran_member(),
        "{}",
        next.stderr
    );
    assert_eq!(next.engine_build(), "0.1.0 v2");

    // A launcher edit: cargo rebuilds the standalone launcher, which then
    // trusts no stamp its old build vouched for.
    let main = std::fs::read_to_string(fixture.path("xtask/launcher/src/main.rs")).unwrap();
    fixture.write(
        "xtask/launcher/src/main.rs",
        &format!("{main}\n// edited\n"),
    );
    let run = success(&mut fixture.cargo_xtask(&[]));
    assert!(
        run.stderr.contains("Compiling xtask-launcher"),
        "{}",
        run.stderr
    );
    assert!(run.ran_member() && run.built(), "{}", run.stderr);
    let next = success(&mut fixture.cargo_xtask(&[]));
    assert!(next.ran_standalone() && !next.built(), "{}", next.stderr);

    // Another target directory: the alias names the one it was written for.
    let elsewhere = fixture.path("elsewhere-target");
    let run = success(fixture.cargo_xtask(&[]).env("CARGO_TARGET_DIR", &elsewhere));
    assert!(run.ran_member() && run.built(), "{}", run.stderr);
    assert!(elsewhere.join("debug/xtask").is_file());
    let alias = std::fs::read_to_string(fixture.path(".cargo/xtask-launch/alias.toml")).unwrap();
    assert!(
        alias.contains(&format!("--target-dir {} ", elsewhere.display())),
        "{alias}"
    );
    let next = success(fixture.cargo_xtask(&[]).env("CARGO_TARGET_DIR", &elsewhere));
    assert!(next.ran_standalone() && !next.built(), "{}", next.stderr);
}

#[test]
fn a_copied_checkout_runs_its_own_engine_not_the_one_its_copied_alias_names() {
    let original = Fixture::new("copied-from");
    success(&mut original.cargo_xtask(&[]));
    assert!(original.path(".cargo/xtask-launch/alias.toml").is_file());

    // `cp -r` of the checkout, its target directory left behind.
    let copy = Fixture {
        root: original.root.with_file_name(format!(
            "{}-copy",
            original.root.file_name().unwrap().to_str().unwrap()
        )),
    };
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(&original.root)
        .arg(&copy.root)
        .status()
        .unwrap();
    assert!(copied.success());
    std::fs::remove_dir_all(copy.path("target")).unwrap();
    copy.edit("xtask/core/src/lib.rs", "v1", "copy");

    let run = success(&mut copy.cargo_xtask(&[]));
    assert!(run.stderr.contains("was written for"), "{}", run.stderr);
    assert_eq!(run.engine_build(), "0.1.0 copy");
    let alias = std::fs::read_to_string(copy.path(".cargo/xtask-launch/alias.toml")).unwrap();
    assert!(alias.contains(&copy.root.display().to_string()), "{alias}");
    let next = success(&mut copy.cargo_xtask(&[]));
    assert!(next.ran_standalone() && !next.built(), "{}", next.stderr);
    assert_eq!(next.engine_build(), "0.1.0 copy");
    // The original is untouched.
    assert_eq!(
        success(&mut original.cargo_xtask(&[])).engine_build(),
        "0.1.0 v1"
    );
}

#[test]
fn a_fast_path_that_cannot_be_written_is_one_warning_not_a_rebuild_per_launch() {
    let fixture = Fixture::new("fast-path-fails");
    // Where the directory would go, a file: nothing can be written there.
    fixture.write(".cargo/xtask-launch", "not a directory\n");
    let first = success(&mut fixture.cargo_xtask(&[]));
    assert!(
        first
            .stderr
            .contains("warning: the fast path is not set up"),
        "{}",
        first.stderr
    );
    assert_eq!(first.engine_build(), "0.1.0 v1");
    for _ in 0..2 {
        let again = success(&mut fixture.cargo_xtask(&[]));
        assert!(again.ran_member(), "{}", again.stderr);
        assert!(!again.built(), "{}", again.stderr);
        assert!(!again.stderr.contains("warning"), "{}", again.stderr);
    }
    // Once it can be written, the next build of the engine writes it.
    std::fs::remove_file(fixture.path(".cargo/xtask-launch")).unwrap();
    fixture.edit("xtask/core/src/lib.rs", "v1", "v2");
    let rebuilt = success(&mut fixture.cargo_xtask(&[]));
    assert_eq!(rebuilt.engine_build(), "0.1.0 v2");
    assert!(fixture.path(".cargo/xtask-launch/alias.toml").is_file());
    let fast = success(&mut fixture.cargo_xtask(&[]));
    assert!(fast.ran_standalone() && !fast.built(), "{}", fast.stderr);
}

#[test]
fn an_https_remote_builds_the_engine_with_tls_and_it_stays_built_in() {
    let fixture = Fixture::new("tls");
    let plain = success(&mut fixture.cargo_xtask(&["hello"]));
    assert!(!plain.engine_tls(), "no remote, no TLS:\n{}", plain.stdout);

    let https = success(
        fixture
            .cargo_xtask(&["hello"])
            .env("TURBO_API", "https://cache.example"),
    );
    assert!(
        https.built()
            && https
                .stderr
                .contains("another cargo, launcher, checkout or feature set"),
        "{}",
        https.stderr
    );
    assert!(https.engine_tls(), "{}", https.stdout);

    // Without the variable again: TLS stays, and nothing is rebuilt.
    for args in [&["hello"][..], &["--remote-cache=http://127.0.0.1:1"]] {
        let after = success(&mut fixture.cargo_xtask(args));
        assert!(!after.built(), "{}", after.stderr);
        assert!(after.engine_tls(), "{}", after.stdout);
    }
}

//! `xtask-launch`: what this repository's `cargo xtask` alias runs
//! (`cargo run --package xtask-launcher --`). It has no dependencies, so
//! cargo's own freshness check before it runs costs what a hello-world's
//! does; the engine (`xtask`, in `xtask/cli`) is a separate binary that the
//! launcher keeps up to date and then becomes.
//!
//! Fresh or not is decided from stat calls alone: the stamp beside the
//! engine binary records every file that decides it (see `inputs.rs`) as it
//! was when the engine was last built. Any difference, and the launcher runs
//! `cargo build` of the engine first, with cargo's progress on stderr. A
//! stale engine never runs: not after an edit, not when that build fails,
//! not when two launches race (one builds under a lock, the other waits and
//! finds the stamp fresh; a launch holds the lock shared from its check of
//! the stamp until it execs the engine, so none replaces it in between).
//!
//! Two launchers are built from these sources (`fast_path.rs` says why):
//! the workspace member, which the tracked alias runs and which does all the
//! building, and a standalone copy that the alias of the fast path runs. The
//! standalone one only ever runs a fresh engine: for anything else (a stale
//! stamp, another checkout, another target directory) it hands the launch to
//! the member, which rebuilds and sets the fast path up again.
//!
//! Exit codes: the engine's; cargo's when the engine does not build; 2 when
//! the launcher itself cannot work (it says why).

mod atomic;
mod dep_info;
mod environment;
mod exec;
mod fast_path;
mod features;
mod inputs;
mod layout;
mod rebuild;
mod stamp;
#[cfg(test)]
mod test_dir;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus};
use std::time::SystemTime;

use fast_path::FastPath;
use features::Features;
use inputs::Toolchain;
use layout::{Layout, Variant};
use rebuild::BuildLock;
use stamp::{Staleness, Stamp};

fn main() -> ExitCode {
    match launch(std::env::args_os().skip(1).collect()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("xtask-launch: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn launch(args: Vec<OsString>) -> Result<ExitCode, String> {
    let layout = Layout::of_this_process()?;
    let toolchain = Toolchain::of_this_process();
    let mut lock = BuildLock::shared(&layout);
    // Read once, under the shared lock: it picks the features (a build with
    // TLS keeps it) and then says whether that build is fresh.
    let stamp = Stamp::read(&layout.stamp_path());
    let features = Features::wanted(&args, stamp.as_ref().map(Stamp::key));
    let key = stamp_key(&layout, &toolchain, features);
    if layout.variant == Variant::Standalone {
        return match standalone_hand_over(&layout, &key, stamp.as_ref()) {
            Some(hand_over) => {
                drop(lock);
                exec::hand_over_to_member(hand_over, &layout, &toolchain, args)
            }
            None => exec::run_engine(&layout.engine_exe, args, lock),
        };
    }
    if let Some(reason) = why_rebuild(&layout, &key, stamp.as_ref()) {
        drop(lock); // a shared lock of ours would block our exclusive one
        match rebuild(&layout, &toolchain, &key, features, reason)? {
            Rebuilt::Fresh(exclusive) => lock = exclusive,
            Rebuilt::Failed(code) => return Ok(code),
        }
    }
    exec::run_engine(&layout.engine_exe, args, lock)
}

/// What the files alone do not say about a build: which launcher, which
/// cargo, which workspace, which features (paths `Debug`-quoted, so one line).
fn stamp_key(layout: &Layout, toolchain: &Toolchain, features: Features) -> String {
    format!(
        "launcher {} engine {}/{}/{} root {:?} cargo {:?} cargo-home {:?}{}",
        env!("CARGO_PKG_VERSION"),
        layout::ENGINE_PACKAGE,
        layout::ENGINE_BIN,
        layout::ENGINE_PROFILE,
        layout.workspace_root,
        toolchain.cargo,
        toolchain.cargo_home,
        features.key_part(),
    )
}

/// Why the engine must be (re)built first; `None` if it is up to date.
enum Reason {
    NoStamp,
    Staleness(Staleness),
    /// The engine is fresh, but the fast path is missing or was written for
    /// another checkout or launcher: it is set up again with a (no-op) build.
    FastPathOutdated,
}

fn why_rebuild(layout: &Layout, key: &str, stamp: Option<&Stamp>) -> Option<Reason> {
    let stale = match stamp {
        None => Some(Reason::NoStamp),
        Some(stamp) => stamp.staleness(key).map(Reason::Staleness),
    };
    stale.or_else(|| {
        FastPath::planned(layout)
            .is_some_and(|fast| !fast.is_current() && !fast.failed_before(layout))
            .then_some(Reason::FastPathOutdated)
    })
}

/// Why the standalone launcher hands this launch to the member; `None` when
/// it may run the engine itself.
fn standalone_hand_over(
    layout: &Layout,
    key: &str,
    stamp: Option<&Stamp>,
) -> Option<exec::HandOver> {
    // Cargo found the alias in the working directory's `.cargo`: one outside
    // this checkout is a copy of our files (a copied checkout), and the
    // launch belongs to that checkout's own launcher.
    let here = std::env::current_dir().and_then(std::fs::canonicalize);
    let ours = std::fs::canonicalize(&layout.workspace_root);
    if let (Ok(here), Ok(ours)) = (&here, &ours)
        && !here.starts_with(ours)
    {
        return Some(exec::HandOver::OtherCheckout);
    }
    // The alias names the target directory it was written for; a different
    // CARGO_TARGET_DIR now is a different build.
    if let Some(wanted) = std::env::var_os("CARGO_TARGET_DIR") {
        let wanted = std::fs::canonicalize(PathBuf::from(wanted)).ok();
        let ours = layout
            .target_root
            .as_deref()
            .and_then(|t| std::fs::canonicalize(t).ok());
        if wanted.is_none() || wanted != ours {
            return Some(exec::HandOver::ToRebuild);
        }
    }
    let fresh = stamp.is_some_and(|stamp| stamp.staleness(key).is_none());
    (!fresh).then_some(exec::HandOver::ToRebuild)
}

enum Rebuilt {
    /// Up to date, and kept so until the engine is started (the lock).
    Fresh(Option<BuildLock>),
    /// It did not build: exit with this, and never run the old binary.
    Failed(ExitCode),
}

/// Builds the engine under the lock and records the new stamp.
fn rebuild(
    layout: &Layout,
    toolchain: &Toolchain,
    key: &str,
    features: Features,
    reason: Reason,
) -> Result<Rebuilt, String> {
    let lock = BuildLock::exclusive(layout)
        .inspect_err(|e| {
            warn(format_args!(
                "cannot lock {}: {e}; building without the lock",
                layout.lock_path().display()
            ))
        })
        .ok();
    // Another launch may have built the engine while this one waited.
    let reason = match why_rebuild(layout, key, Stamp::read(&layout.stamp_path()).as_ref()) {
        None => return Ok(Rebuilt::Fresh(lock)),
        Some(Reason::NoStamp) => reason,
        Some(now) => now,
    };
    eprintln!(
        "xtask-launch: building the engine ({})",
        reason.describe(&layout.workspace_root)
    );
    // From here until a new stamp is written, none vouches for the binary:
    // a build that fails or is interrupted leaves the next launch to ask cargo.
    if let Err(e) = std::fs::remove_file(layout.stamp_path())
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return Err(format!(
            "cannot remove the stamp {}: {e}",
            layout.stamp_path().display()
        ));
    }
    let build_began = rebuild::file_system_now(layout).unwrap_or_else(|_| SystemTime::now());
    let cargo = toolchain
        .cargo
        .clone()
        .unwrap_or_else(|| PathBuf::from("cargo"));
    let status = rebuild::build_engine(&cargo, layout, features).map_err(|e| {
        format!(
            "cannot run `{} build`: {e}\nhint: is cargo installed?",
            cargo.display()
        )
    })?;
    if !status.success() {
        eprintln!("xtask-launch: the engine did not build; not running the previous build of it");
        return Ok(Rebuilt::Failed(exit_code_of(status)));
    }
    if !layout.engine_exe.is_file() {
        return Err(format!(
            "cargo built the engine, but {} does not exist\nhint: a `build.target` or `--target` setting puts it elsewhere; the launcher expects cargo's default layout",
            layout.engine_exe.display()
        ));
    }
    set_up_fast_path(layout, &cargo);
    record_stamp(layout, toolchain, key, build_began);
    Ok(Rebuilt::Fresh(lock))
}

/// Writes the fast path if it is missing or out of date. Failing is one
/// warning: `cargo xtask` keeps working through the tracked alias.
fn set_up_fast_path(layout: &Layout, cargo: &Path) {
    let Some(fast) = FastPath::planned(layout).filter(|fast| !fast.is_current()) else {
        return;
    };
    if let Err(e) = fast.install(cargo, layout) {
        warn(format_args!(
            "the fast path is not set up: {e}; `cargo xtask` keeps working, through cargo's slower start (the launcher tries again after the next build of the engine)"
        ));
    }
}

/// Writes the stamp for the engine just built. Failing that is one warning:
/// the engine is up to date, only the next launch will ask cargo again.
fn record_stamp(layout: &Layout, toolchain: &Toolchain, key: &str, build_began: SystemTime) {
    let dep_info = &layout.engine_dep_info;
    let sources = std::fs::read_to_string(dep_info)
        .map_err(|e| e.to_string())
        .and_then(|text| dep_info::parse(&text, &layout.workspace_root));
    let sources = match sources {
        Ok(sources) => sources,
        Err(e) => {
            return warn_unrecorded(format_args!(
                "cannot read cargo's dep-info {}: {e}",
                dep_info.display()
            ));
        }
    };
    // A file cargo compiled that is gone already: the list is not this build's.
    if let Some(missing) = sources.iter().find(|source| !source.exists()) {
        return warn_unrecorded(format_args!(
            "{} names {}, which does not exist",
            dep_info.display(),
            missing.display()
        ));
    }
    let inputs = inputs::engine_inputs(&layout.workspace_root, &sources, toolchain);
    let outputs = [
        layout.engine_exe.clone(),
        layout.launcher_exe.clone(),
        layout.other_launcher_exe.clone(),
    ];
    let Some(stamp) = Stamp::record(key.to_string(), &inputs, &outputs, build_began) else {
        return warn_unrecorded(format_args!(
            "an input's path is not UTF-8 or holds a line break"
        ));
    };
    if let Err(e) = stamp.write(&layout.stamp_path()) {
        warn_unrecorded(format_args!(
            "cannot write {}: {e}",
            layout.stamp_path().display()
        ));
    }
}

impl Reason {
    fn describe(&self, root: &Path) -> String {
        match self {
            Reason::NoStamp => "no record of a previous build".to_string(),
            Reason::Staleness(Staleness::OtherBuild) => {
                "the last build was for another cargo, launcher, checkout or feature set"
                    .to_string()
            }
            Reason::Staleness(Staleness::Changed(path)) => {
                format!(
                    "{} changed",
                    path.strip_prefix(root).unwrap_or(path).display()
                )
            }
            Reason::FastPathOutdated => format!(
                "{}/alias.toml is missing or was written for another checkout",
                fast_path::DIR
            ),
        }
    }
}

fn exit_code_of(status: ExitStatus) -> ExitCode {
    match status.code().and_then(|code| u8::try_from(code).ok()) {
        Some(code) if code != 0 => ExitCode::from(code),
        _ => ExitCode::from(101), // killed by a signal: cargo's code for a failure
    }
}

fn warn(message: fmt::Arguments) {
    eprintln!("xtask-launch: warning: {message}");
}

fn warn_unrecorded(message: fmt::Arguments) {
    warn(format_args!(
        "{message}; the engine is up to date, but the next launch will check it through cargo again"
    ));
}

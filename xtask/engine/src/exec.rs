//! Running one command: in its own process group (so that cancelling kills
//! everything it started), output merged and read line by line. A reaper
//! (reaper.rs) ends the groups if the tool itself is killed.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::reaper::Reaper;
/// Longest piece of output handed on as one line.
const LINE_MAX: u64 = 64 * 1024;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }

    pub fn code(self) -> i32 {
        match self {
            Exit::Code(code) => code,
            Exit::Signal(signal) => 128 + signal,
        }
    }
}

/// Makes the command that starts a reaper.
type ReaperCommand = Box<dyn Fn() -> Command + Send + Sync>;

/// The running commands of a run, so that a cancel can reach all of them.
#[derive(Default)]
pub struct Children {
    groups: Mutex<HashSet<u32>>,
    /// 0 running, 1 cancelled (SIGTERM sent), 2 forced (SIGKILL sent).
    cancel_level: AtomicU8,
    reaper_command: Option<ReaperCommand>,
    /// Started before the first command, so a run that restores everything
    /// from the cache spawns nothing.
    reaper: OnceLock<Option<Reaper>>,
    reaper_error: Mutex<Option<String>>,
}

impl Children {
    /// Children that end with the tool even when it is killed: `command`
    /// starts a reaper (the tool's binary with [`crate::REAPER_ARG`]).
    pub fn with_reaper(command: impl Fn() -> Command + Send + Sync + 'static) -> Children {
        Children {
            reaper_command: Some(Box::new(command)),
            ..Children::default()
        }
    }

    /// Why the reaper could not be started, if that happened: tasks then
    /// outlive a killed tool.
    pub fn reaper_error(&self) -> Option<String> {
        self.reaper_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn reaper(&self) -> Option<&Reaper> {
        self.reaper
            .get_or_init(|| {
                let command = self.reaper_command.as_ref()?;
                Reaper::start(command())
                    .map_err(|error| {
                        *self.reaper_error.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(error.to_string());
                    })
                    .ok()
            })
            .as_ref()
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel_level.load(Ordering::SeqCst) > 0
    }

    /// First call: SIGTERM to every process group, so tasks can clean up.
    /// Second call: SIGKILL.
    pub fn cancel(&self) {
        let level = self
            .cancel_level
            .fetch_add(1, Ordering::SeqCst)
            .saturating_add(1);
        let signal = if level >= 2 {
            Signal::SIGKILL
        } else {
            Signal::SIGTERM
        };
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        for &group in groups.iter() {
            // The group may have exited already; nothing to do then.
            let _ = killpg(Pid::from_raw(group as i32), signal);
        }
    }

    fn register(&self, pid: u32) {
        if let Some(reaper) = self.reaper() {
            reaper.register(pid);
        }
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups.insert(pid);
        // A cancel that raced with the spawn must still reach this child.
        if self.is_cancelled() {
            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }

    fn unregister(&self, pid: u32) {
        self.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&pid);
        if let Some(reaper) = self.reaper() {
            reaper.unregister(pid);
        }
    }
}

/// Runs `sh -c command` in `dir` with exactly `env`, calling `on_line` for
/// every line of combined stdout/stderr (with its newline).
pub fn run_shell(
    command: &str,
    dir: &Path,
    env: Vec<(OsString, OsString)>,
    children: &Children,
    mut on_line: impl FnMut(&[u8]),
) -> std::io::Result<Exit> {
    let path_var = env.iter().rev().find(|(k, _)| k == "PATH").map(|(_, v)| v);
    let shell = path_var
        .and_then(|path| find_in_path("sh", path))
        .map_or_else(|| OsString::from("sh"), PathBuf::into_os_string);
    let expression = duct::cmd(shell, ["-c", command])
        .dir(dir)
        .full_env(env)
        .stdin_null()
        .stderr_to_stdout()
        .unchecked()
        .before_spawn(|cmd| {
            cmd.process_group(0);
            Ok(())
        });
    // Before the spawn: a tool killed right after it must still be reaped.
    let _ = children.reaper();
    let handle = expression.reader()?;
    let pids = handle.pids();
    for &pid in &pids {
        children.register(pid);
    }
    let mut reader = BufReader::with_capacity(64 * 1024, &handle);
    let mut line = Vec::with_capacity(256);
    let read_result = loop {
        line.clear();
        // `take`: a line longer than LINE_MAX comes in pieces, so a task
        // printing without newlines cannot make us hold all of it.
        match (&mut reader).take(LINE_MAX).read_until(b'\n', &mut line) {
            Ok(0) => break Ok(()),
            Ok(_) => on_line(&line),
            Err(e) => break Err(e),
        }
    };
    drop(reader);
    let status = handle.try_wait();
    for &pid in &pids {
        children.unregister(pid);
    }
    read_result?;
    let output = status?
        .ok_or_else(|| std::io::Error::other("the command's output closed before it exited"))?;
    let status = output.status;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        (None, None) => Exit::Code(1),
    })
}

/// `program` as `execvp` would find it on the task's `path` (PATH of the
/// environment the task gets), or None when the search needs the child's
/// working directory (an empty or relative entry comes first) or finds
/// nothing; the caller then passes the bare name as before.
///
/// Why: given a bare name and a PATH of the child's own, std cannot use
/// posix_spawn (which would search the tool's PATH) and falls back to
/// fork + exec of each PATH candidate in the child. That fork copies the
/// page tables of the whole multi-threaded tool and the worker waits for
/// the child's failed execs: most of a trivial task's start cost. With an
/// absolute path std spawns through posix_spawn (clone with CLONE_VFORK).
fn find_in_path(program: &str, path: &OsStr) -> Option<PathBuf> {
    for dir in std::env::split_paths(path) {
        if !dir.is_absolute() {
            return None;
        }
        let candidate = dir.join(program);
        let executable = std::fs::metadata(&candidate)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0);
        if executable {
            return Some(candidate);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_program(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\necho fake\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn finds_the_first_executable_on_the_path_like_execvp() {
        let empty = tempfile::tempdir().unwrap();
        let not_executable = tempfile::tempdir().unwrap();
        let found = tempfile::tempdir().unwrap();
        let later = tempfile::tempdir().unwrap();
        write_program(not_executable.path(), "sh", 0o644);
        std::fs::create_dir(empty.path().join("sh")).unwrap();
        let want = write_program(found.path(), "sh", 0o755);
        write_program(later.path(), "sh", 0o755);
        let path = std::env::join_paths([
            empty.path(),
            not_executable.path(),
            found.path(),
            later.path(),
        ])
        .unwrap();
        assert_eq!(find_in_path("sh", &path), Some(want));
    }

    #[test]
    fn leaves_the_search_to_the_child_when_it_depends_on_the_working_directory() {
        let found = tempfile::tempdir().unwrap();
        write_program(found.path(), "sh", 0o755);
        let relative_first = std::env::join_paths([Path::new("bin"), found.path()]).unwrap();
        assert_eq!(find_in_path("sh", &relative_first), None);
        let empty_entry_first = OsString::from(format!(":{}", found.path().display()));
        assert_eq!(find_in_path("sh", &empty_entry_first), None);
        assert_eq!(find_in_path("sh", OsStr::new("")), None);
    }

    #[test]
    fn a_task_runs_the_shell_found_on_its_own_path() {
        let bin = tempfile::tempdir().unwrap();
        write_program(bin.path(), "sh", 0o755);
        let env = vec![(OsString::from("PATH"), bin.path().as_os_str().to_owned())];
        let mut lines = Vec::new();
        let exit = run_shell("echo real", bin.path(), env, &Children::default(), |line| {
            lines.push(String::from_utf8_lossy(line).into_owned())
        })
        .unwrap();
        assert!(exit.success());
        // The task's PATH chose the shell (a script that ignores -c), not the tool's PATH.
        assert_eq!(lines, ["fake\n"]);
    }
}

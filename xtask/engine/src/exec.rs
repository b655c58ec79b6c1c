//! Running one command: in its own process group (so that cancelling kills
//! everything it started), output merged and read line by line. A reaper
//! (reaper.rs) ends the groups if the tool itself is killed.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
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
    let expression = duct::cmd("sh", ["-c", command])
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

//! Tasks end with the tool, however it ends (even `kill -9`).
//!
//! Each task runs in a process group of its own (so Ctrl-C handling reaches
//! everything it started), which also means nothing kills it when the tool
//! dies. A parent-death signal would not do: it fires when the spawning
//! *thread* ends and reaches only the direct child, not its children. So a
//! run starts one small reaper process (the tool's own binary, re-executed
//! with a hidden argument), in a process group of its own so that a Ctrl-C
//! meant for the tool does not kill it. Its stdin is the read end of a pipe
//! that only the tool holds (std's pipes are close-on-exec, so tasks do not
//! inherit the write end). The tool tells it `+<pgid>` when a task starts and
//! `-<pgid>` when it has ended; when its stdin reaches end of file, the tool
//! is gone (exited or killed), and every group still registered gets SIGTERM,
//! then after a short grace SIGKILL.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// The argument that makes the tool's binary run [`reap_task_groups`].
pub const REAPER_ARG: &str = "__reap-task-groups";

/// How long tasks get to clean up after SIGTERM once the tool is gone.
const GRACE: Duration = Duration::from_millis(500);

/// The tool's end of a running reaper.
pub struct Reaper {
    pipe: Mutex<ChildStdin>,
    /// Kept so the reaper is not waited for; it exits at the tool's end.
    _child: Child,
}

impl Reaper {
    /// Starts `command` (which must run [`reap_task_groups`] over its stdin).
    pub fn start(mut command: Command) -> std::io::Result<Reaper> {
        use std::os::unix::process::CommandExt;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let pipe = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("the reaper has no stdin"))?;
        Ok(Reaper {
            pipe: Mutex::new(pipe),
            _child: child,
        })
    }

    /// A task's process group started.
    pub(crate) fn register(&self, pgid: u32) {
        self.send('+', pgid);
    }

    /// A task's process group ended: its id may be reused, so it must not
    /// be killed later.
    pub(crate) fn unregister(&self, pgid: u32) {
        self.send('-', pgid);
    }

    fn send(&self, op: char, pgid: u32) {
        let mut pipe = self.pipe.lock().unwrap_or_else(|e| e.into_inner());
        // A reaper that died cannot be helped; the run goes on without it.
        let _ = writeln!(pipe, "{op}{pgid}");
        let _ = pipe.flush();
    }
}

/// The reaper's whole life: follows `+pgid` / `-pgid` lines until end of
/// input, then ends every group still registered. Other lines, and ids that
/// name no single group (0, 1, beyond `i32`), are ignored: killing them
/// would reach far more than one task.
pub fn reap_task_groups(input: impl BufRead) {
    let mut groups = BTreeSet::new();
    for line in input.lines() {
        let Ok(line) = line else { break };
        let (op, id) = line.split_at(line.len().min(1));
        let Some(pgid) = id.parse::<i32>().ok().filter(|&id| id > 1) else {
            continue;
        };
        match op {
            "+" => {
                groups.insert(pgid);
            }
            "-" => {
                groups.remove(&pgid);
            }
            _ => {}
        }
    }
    if groups.is_empty() {
        return;
    }
    for &pgid in &groups {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGTERM);
    }
    std::thread::sleep(GRACE);
    for &pgid in &groups {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    fn sleeper() -> Child {
        Command::new("sleep")
            .arg("300")
            .process_group(0)
            .spawn()
            .unwrap()
    }

    #[test]
    fn registered_groups_die_at_end_of_input_and_unregistered_ones_live() {
        let mut doomed = sleeper();
        let mut spared = sleeper();
        let input = format!(
            "+{}\n+{}\n-{}\nnonsense\n+0\n+1\n+-5\n",
            doomed.id(),
            spared.id(),
            spared.id()
        );
        reap_task_groups(input.as_bytes());
        let status = doomed.wait().unwrap();
        assert!(!status.success(), "killed: {status:?}");
        assert_eq!(spared.try_wait().unwrap(), None, "still running");
        spared.kill().unwrap();
        spared.wait().unwrap();
    }
}

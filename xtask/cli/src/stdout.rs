//! The commands' standard output. When the reader goes away (`xtask affected
//! | head -1`) the command ends quietly, as `ls` does, with exit status 141
//! (128 + SIGPIPE: what a shell reports for `ls` ended by the closed pipe),
//! instead of `println!`'s "failed printing to stdout" panic.
//!
//! Why not restore SIGPIPE's default at startup: that needs `unsafe`, and it
//! would also kill the tool on a write to any other closed pipe (git's stdin,
//! a task's, the reaper's) in the middle of a run. Here only stdout is
//! concerned: [`out!`]/[`outln!`] return [`StdoutClosed`] from the calling
//! command, and `main` turns it into the exit status without a message.
//! The run's own output goes through `xtask_report`, which drops what a
//! closed stdout cannot take and lets the tasks finish (cutting a run at an
//! arbitrary write would stop tasks half-way).

use std::fmt;
use std::io::{self, Write};

/// The exit status of a command whose stdout was closed under it.
pub const CLOSED_EXIT_CODE: u8 = 141;

/// Standard output was closed by its reader: not an error to show.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes `args` to stdout and flushes, so a closed pipe is seen here, not
/// at exit. Any other failure (a full disk) is an error naming stdout.
pub fn write(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(error) => Err(anyhow::Error::new(error).context("failed to write to standard output")),
    }
}

/// True when `error` is (or wraps) a closed stdout.
pub fn is_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<StdoutClosed>())
}

/// `print!` for commands: on a closed or failing stdout it returns the
/// error from the calling function (which returns `anyhow::Result`), as
/// `bail!` does.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!($($arg)*))?
    };
}

/// `println!` for commands; see [`out!`].
macro_rules! outln {
    () => {
        $crate::stdout::write(format_args!("\n"))?
    };
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!("{}\n", format_args!($($arg)*)))?
    };
}

pub(crate) use {out, outln};

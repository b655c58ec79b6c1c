//! Whose problem an error is: the person's (their request or configuration is
//! wrong, and they can fix it) or the machine's (I/O failing, a program missing
//! or failing, a bug). The command line turns it into the exit code (2 or 3,
//! README.md#exit-codes) so that scripts and CI can tell the two apart.
//!
//! Each error type says it of itself, by variant, where the variant is
//! defined; the binary asks once, walking an error's chain.

/// The two kinds of failure that are not a task failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A mistake in the request or the configuration: usage, a bad value in
    /// a manifest, a filter naming nothing, an unknown task. Exit code 2.
    User,
    /// The environment or the tool itself failed: I/O, git or cargo missing
    /// or failing for reasons of their own, an internal error. Exit code 3.
    System,
}

/// Implemented by every error type that can reach the command line.
pub trait Classify {
    fn fault(&self) -> Fault;
}

impl Classify for std::io::Error {
    fn fault(&self) -> Fault {
        Fault::System
    }
}

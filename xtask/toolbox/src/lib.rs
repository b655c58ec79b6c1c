//! The xtask crates' shared toolbox: pieces that were written several times
//! and that the delivery commands (backup, deploy, release) need too. A leaf
//! crate with no dependencies and no policy: it never prints, and what a
//! failure means is the caller's decision.
//!
//! - [`atomic`]: temp-file-then-rename writes, for every file another run reads;
//! - [`bytes`]: checked reads of the binary files runs write for each other;
//! - [`layout`]: every directory and file under the cache directory, and its version;
//! - [`Key`]: a task key, 64 lowercase hex digits, checked once;
//! - [`hex`]: lowercase hex text of digests;
//! - [`units`]: one grammar for sizes (`1.5GiB`, `4096`) and durations (`30s`, `14d`);
//! - [`suggest`]: "did you mean" by edit distance;
//! - [`quote`]: hostile names made fit for a message (bounded, inert);
//! - [`secret`]: values that cannot be printed by accident, and scrubbing them
//!   out of text that may have echoed them;
//! - [`timestamps`]: file times in nanoseconds and the racy-timestamp rule;
//! - [`fault`]: whose problem an error is (the user's or the machine's), which
//!   decides the exit code.

pub mod atomic;
pub mod bytes;
pub mod fault;
pub mod hex;
mod key;
pub mod layout;
pub mod quote;
pub mod secret;
pub mod suggest;
pub mod timestamps;
pub mod units;

pub use key::{Key, KeyError};

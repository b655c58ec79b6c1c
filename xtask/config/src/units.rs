//! Sizes ("10GiB", "1.5GB", "4096") and ages ("14d", "12h", "30" seconds) of
//! cache settings: the toolbox's one grammar, shared with the remote cache's
//! settings and the command line.

pub use xtask_toolbox::units::{DURATION_HINT, SIZE_HINT, parse_duration as parse_age, parse_size};

//! Behaviour tests of the local cache through its public API, on real temp dirs.
//! Unix only: they check exec bits and symlinks.
#![cfg(unix)]

mod common;
mod concurrency;
mod corrupt;
mod degraded;
mod evict;
mod malicious;
mod raw;
mod restore_scope;
mod roundtrip;

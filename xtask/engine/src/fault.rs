//! Whose problem each engine error is (see `xtask_toolbox::fault`): the
//! exit code of the command line follows it.

use xtask_toolbox::fault::{Classify, Fault};

use crate::EngineError;
use crate::scope::ScopeError;

impl Classify for EngineError {
    fn fault(&self) -> Fault {
        match self {
            EngineError::Graph(e) => e.fault(),
            EngineError::Config(e) => e.fault(),
            EngineError::Hash(e) => e.fault(),
            EngineError::Cache(e) => e.fault(),
            // Handled by `plan_current`; seen only if a reload did not help.
            EngineError::StaleGraph | EngineError::Io { .. } => Fault::System,
            EngineError::UnknownTask { .. }
            | EngineError::UnknownPackage { .. }
            | EngineError::TaskNotInPackage { .. }
            | EngineError::Cycle { .. }
            | EngineError::DependsOnPersistent { .. } => Fault::User,
        }
    }
}

impl Classify for ScopeError {
    fn fault(&self) -> Fault {
        match self {
            ScopeError::BadFilter { .. }
            | ScopeError::UnknownPackage { .. }
            | ScopeError::UnknownRef { .. }
            | ScopeError::NoDefaultBranch { .. }
            // As release's shallow history: the user fixes the checkout.
            | ScopeError::ShallowClone { .. } => Fault::User,
            // git missing, or failing for reasons of its own, is the
            // machine's; no repository or unrelated histories the request's.
            ScopeError::Git(e) if e.is_internal() => Fault::System,
            ScopeError::Git(_) => Fault::User,
        }
    }
}

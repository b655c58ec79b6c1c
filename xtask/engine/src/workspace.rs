//! Opening a workspace: its root, package graph, pipeline, cache and the
//! per-workspace state kept beside the cache (graph cache, stat cache, task
//! history). This is where the cache directory is chosen and the
//! workspace's state directory in it; the paths inside both come from
//! `xtask_toolbox::layout`.

use std::path::{Path, PathBuf};

use xtask_cache::LocalCache;
use xtask_config::Pipeline;
use xtask_graph::{GraphSource, PackageGraph};
use xtask_toolbox::hex;
use xtask_toolbox::layout::{StateBucket, StateDir};

use crate::EngineError;

/// Environment variable that moves the local cache.
pub const CACHE_DIR_ENV: &str = "XTASK_CACHE_DIR";

/// Default cache directory name, at the workspace root.
pub use xtask_toolbox::layout::DEFAULT_CACHE_DIR;

pub struct Workspace {
    pub root: PathBuf,
    pub graph: PackageGraph,
    pub graph_source: GraphSource,
    pub pipeline: Pipeline,
    pub cache: LocalCache,
    /// Files of ours that belong to this workspace only (the cache
    /// directory's other buckets: `cache.layout()`).
    pub state_dir: StateDir,
    /// Trouble that does not stop a run (a local cache that could not be
    /// set up): to be shown once, as warnings.
    pub warnings: Vec<String>,
}

impl Workspace {
    /// Opens the workspace containing `dir`. The cache directory is
    /// `cache_dir` if given, else `$XTASK_CACHE_DIR`, else `turbo-cache/` at
    /// the root.
    pub fn open(dir: &Path, cache_dir: Option<&Path>) -> Result<Workspace, EngineError> {
        let dir = std::fs::canonicalize(dir).map_err(|source| EngineError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let root = xtask_graph::find_workspace_root(&dir)?;
        let cache_dir = match cache_dir {
            Some(dir) => absolute(dir),
            None => match std::env::var_os(CACHE_DIR_ENV) {
                Some(dir) if !dir.is_empty() => absolute(Path::new(&dir)),
                _ => root.join(DEFAULT_CACHE_DIR),
            },
        };
        // The cache never fails a run: if it cannot be set up, the run goes on
        // with what is there, read-only, after one warning.
        let (cache, problem) = LocalCache::open_or_read_only(&cache_dir);
        let warnings = problem
            .map(|problem| {
                format!(
                    "the local cache in {} cannot be written: {}; running without writing it \
                     (entries already there are still used)\nhint: make the directory \
                     writable, free some space, or point --cache-dir / XTASK_CACHE_DIR \
                     elsewhere",
                    cache_dir.display(),
                    crate::run::error_chain(&problem)
                )
            })
            .into_iter()
            .collect();
        // One cache directory may serve several workspaces (a shared
        // XTASK_CACHE_DIR); keep each one's state apart.
        let workspace_id =
            &hex::encode(&blake3::hash(root.as_os_str().as_encoded_bytes()).as_bytes()[..8]);
        let state_dir = cache.layout().workspace_state(workspace_id);
        let (graph, graph_source) = xtask_graph::load(&root, &state_dir.path(StateBucket::Graph))?;
        let pipeline = Pipeline::load(&graph)?;
        Ok(Workspace {
            root,
            graph,
            graph_source,
            pipeline,
            cache,
            state_dir,
            warnings,
        })
    }

    /// Loads the package graph from cargo again (the cached one is stale)
    /// and the pipeline over it.
    pub fn reload_graph(&mut self) -> Result<(), EngineError> {
        self.graph = xtask_graph::reload(&self.root, &self.state_dir.path(StateBucket::Graph))?;
        self.graph_source = GraphSource::CargoMetadata;
        self.pipeline = Pipeline::load(&self.graph)?;
        Ok(())
    }

    /// Workspace-relative directories that are never inputs: the target
    /// directory and the cache, when they are inside the workspace.
    pub fn skipped_dirs(&self) -> Vec<String> {
        [self.graph.target_dir.as_path(), self.cache.dir()]
            .iter()
            .filter_map(|dir| dir.strip_prefix(&self.root).ok())
            .filter(|rel| !rel.as_os_str().is_empty())
            .map(|rel| rel.to_string_lossy().replace('\\', "/"))
            .collect()
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

//! Where everything lives under the cache directory (`turbo-cache/`, or
//! `--cache-dir` / `XTASK_CACHE_DIR`): every directory and file we keep
//! there is named here, once, with the version of the format it holds
//! (uv's `CacheBucket` is the model).
//!
//! Two scopes: [`CacheBucket`]s belong to the cache directory as a whole
//! (entries can be shared by several workspaces), [`StateBucket`]s to one
//! workspace, inside [`CacheBucket::Workspaces`]. A bucket names its own
//! directory or file; what is inside a directory bucket (the entry shards,
//! the history's index) is its owner's business.
//!
//! Bumping a bucket's version moves it to a new `v<N>/` directory, so a newer
//! and an older tool sharing the cache never read each other's files.

use std::io;
use std::path::{Path, PathBuf};

/// The directory name the cache directory gets at the workspace root when
/// neither `--cache-dir` nor `XTASK_CACHE_DIR` says otherwise.
pub const DEFAULT_CACHE_DIR: &str = "turbo-cache";

/// What the cache directory holds, whatever the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheBucket {
    /// Cache entries, `<k0k1>/<key>.tar.zst` (`xtask-cache`), and
    /// discovered-inputs manifests (entries too).
    Entries,
    /// In-progress writes of entries, renamed into [`CacheBucket::Entries`]
    /// (so both must stay on one file system: beside each other).
    Tmp,
    /// One state directory per workspace ([`StateBucket`]), named by a hash of
    /// the workspace's root, so a shared cache keeps their state apart.
    Workspaces,
    /// Run summaries (`--summarize`), `<ms>.json`: read by people and CI
    /// steps, so not versioned.
    Runs,
    /// `CACHEDIR.TAG`: backup tools and `tar --exclude-caches` skip the
    /// directory. Its name and content are a standard.
    CacheDirTag,
    /// `.gitignore` holding `*`: git ignores the directory without anyone
    /// editing their own ignore file.
    GitIgnore,
}

impl CacheBucket {
    pub const ALL: [CacheBucket; 6] = [
        CacheBucket::Entries,
        CacheBucket::Tmp,
        CacheBucket::Workspaces,
        CacheBucket::Runs,
        CacheBucket::CacheDirTag,
        CacheBucket::GitIgnore,
    ];

    /// The bucket's own name, inside its version directory if it has one.
    pub fn name(self) -> &'static str {
        match self {
            CacheBucket::Entries => "entries",
            CacheBucket::Tmp => "tmp",
            CacheBucket::Workspaces => "workspaces",
            CacheBucket::Runs => "runs",
            CacheBucket::CacheDirTag => "CACHEDIR.TAG",
            CacheBucket::GitIgnore => ".gitignore",
        }
    }

    /// The format version, which names the `v<N>/` directory the bucket is
    /// in; `None` for what other tools read and we never change.
    pub fn version(self) -> Option<u32> {
        match self {
            // Entries and their temp files move together: a store renames
            // one into the other.
            CacheBucket::Entries | CacheBucket::Tmp => Some(1),
            CacheBucket::Workspaces => Some(1),
            CacheBucket::Runs | CacheBucket::CacheDirTag | CacheBucket::GitIgnore => None,
        }
    }

    /// True for a directory, false for a file.
    pub fn is_dir(self) -> bool {
        !matches!(self, CacheBucket::CacheDirTag | CacheBucket::GitIgnore)
    }

    /// The path relative to the cache directory.
    pub fn relative_path(self) -> PathBuf {
        versioned(self.version(), self.name())
    }
}

/// What one workspace keeps, in its directory under [`CacheBucket::Workspaces`].
/// Most share that bucket's version (each file's own format is checked on
/// read); one whose layout changed has its own ([`StateBucket::version`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateBucket {
    /// The package graph and the fingerprint it was loaded under (`xtask-graph`).
    Graph,
    /// path → (size, mtime, ctime, inode, mode, blake3) (`xtask-hash`).
    StatCache,
    /// Digest of the paths cargo discovers targets from, to know when the
    /// cached graph is stale although no manifest changed.
    TargetLayout,
    /// Each task's last successful key inputs, for `explain`: `index.json`
    /// and a few segment files, one per run that recorded anything (v1 was
    /// one file per task, written during the run).
    History,
    /// Outputs as last written or restored, so intact ones are not restored.
    Outputs,
    /// The heads (meta, log) of the cache entries the last runs hit, with
    /// each entry file's identity (`xtask-cache`'s `HeadIndex`).
    EntryHeads,
    /// The salt of the environment value hashes that are shown or stored.
    EnvSalt,
    /// Its modification time says when a run last pruned automatically.
    LastPrune,
    /// Reserved for `deploy` (DESIGN.md "Delivery commands": deploy ends
    /// with "record"): what was deployed where, and when.
    DeployRecords,
    /// Reserved for `image` and `deploy` (DESIGN.md: deploy pins image
    /// digests): the digest of each image built from this workspace.
    ImageDigests,
}

impl StateBucket {
    pub const ALL: [StateBucket; 10] = [
        StateBucket::Graph,
        StateBucket::StatCache,
        StateBucket::TargetLayout,
        StateBucket::History,
        StateBucket::Outputs,
        StateBucket::EntryHeads,
        StateBucket::EnvSalt,
        StateBucket::LastPrune,
        StateBucket::DeployRecords,
        StateBucket::ImageDigests,
    ];

    /// The file or directory name inside the workspace's state directory.
    pub fn name(self) -> &'static str {
        match self {
            StateBucket::Graph => "workspace-graph.json",
            StateBucket::StatCache => "stat-cache.bin",
            StateBucket::TargetLayout => "target-layout",
            StateBucket::History => "history",
            StateBucket::Outputs => "outputs.json",
            StateBucket::EntryHeads => "entry-heads.bin",
            StateBucket::EnvSalt => "env-salt",
            StateBucket::LastPrune => "last-prune",
            StateBucket::DeployRecords => "deploys",
            StateBucket::ImageDigests => "images",
        }
    }

    /// The version of the bucket's own layout, naming a `v<N>/` directory
    /// inside the state directory; `None`: the state directory's version.
    pub fn version(self) -> Option<u32> {
        match self {
            // v2: segments written once at the end of a run.
            StateBucket::History => Some(2),
            StateBucket::Graph
            | StateBucket::StatCache
            | StateBucket::TargetLayout
            | StateBucket::Outputs
            | StateBucket::EntryHeads
            | StateBucket::EnvSalt
            | StateBucket::LastPrune
            | StateBucket::DeployRecords
            | StateBucket::ImageDigests => None,
        }
    }

    /// The path relative to the workspace's state directory.
    pub fn relative_path(self) -> PathBuf {
        versioned(self.version(), self.name())
    }

    /// True for a directory, false for a file.
    pub fn is_dir(self) -> bool {
        matches!(
            self,
            StateBucket::History | StateBucket::DeployRecords | StateBucket::ImageDigests
        )
    }
}

/// A cache directory: the one place that turns buckets into paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheDir {
    root: PathBuf,
}

impl CacheDir {
    pub fn new(root: impl Into<PathBuf>) -> CacheDir {
        CacheDir { root: root.into() }
    }

    /// The cache directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, bucket: CacheBucket) -> PathBuf {
        self.root.join(bucket.relative_path())
    }

    /// The state directory of the workspace `id` names. `id` is one plain
    /// path component (the engine's hash of the workspace root); anything
    /// else is replaced by its characters that are plain, so a state
    /// directory never lies outside [`CacheBucket::Workspaces`].
    pub fn workspace_state(&self, id: &str) -> StateDir {
        let plain: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect();
        let name = if plain.is_empty() { "_" } else { &plain };
        StateDir {
            dir: self.path(CacheBucket::Workspaces).join(name),
        }
    }
}

/// One workspace's state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, bucket: StateBucket) -> PathBuf {
        self.dir.join(bucket.relative_path())
    }
}

/// `v<version>/<name>`, or `<name>` for what is not versioned.
fn versioned(version: Option<u32>, name: &str) -> PathBuf {
    let mut path = PathBuf::new();
    if let Some(version) = version {
        path.push(format!("v{version}"));
    }
    path.push(name);
    path
}

/// Nothing there: the file, or a directory on its way, does not exist (a
/// cache directory that is a file makes `v1/entries/…` "not a directory").
/// Every reader of the cache directory treats both as absent, not as errors.
pub fn is_absent(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every path as it is on disk: changing one of these moves users' data.
    #[test]
    fn every_bucket_has_its_path() {
        let cache = CacheDir::new("/c");
        let cases = [
            (CacheBucket::Entries, "/c/v1/entries"),
            (CacheBucket::Tmp, "/c/v1/tmp"),
            (CacheBucket::Workspaces, "/c/v1/workspaces"),
            (CacheBucket::Runs, "/c/runs"),
            (CacheBucket::CacheDirTag, "/c/CACHEDIR.TAG"),
            (CacheBucket::GitIgnore, "/c/.gitignore"),
        ];
        assert_eq!(cases.len(), CacheBucket::ALL.len());
        for (bucket, expected) in cases {
            assert_eq!(cache.path(bucket), Path::new(expected), "{bucket:?}");
        }
        let state = cache.workspace_state("0123abcd");
        let cases = [
            (StateBucket::Graph, "workspace-graph.json"),
            (StateBucket::StatCache, "stat-cache.bin"),
            (StateBucket::TargetLayout, "target-layout"),
            (StateBucket::History, "v2/history"),
            (StateBucket::Outputs, "outputs.json"),
            (StateBucket::EntryHeads, "entry-heads.bin"),
            (StateBucket::EnvSalt, "env-salt"),
            (StateBucket::LastPrune, "last-prune"),
            (StateBucket::DeployRecords, "deploys"),
            (StateBucket::ImageDigests, "images"),
        ];
        assert_eq!(cases.len(), StateBucket::ALL.len());
        for (bucket, name) in cases {
            let expected = format!("/c/v1/workspaces/0123abcd/{name}");
            assert_eq!(state.path(bucket), Path::new(&expected), "{bucket:?}");
        }
    }

    /// No bucket holds another's path, or lies inside another: two owners
    /// would read each other's files. Only the state buckets are inside
    /// `Workspaces`, which exists to hold them.
    #[test]
    fn no_two_buckets_share_a_path() {
        let cache = CacheDir::new("/c");
        let state = cache.workspace_state("id");
        let shared = CacheBucket::ALL.map(|b| (format!("{b:?}"), cache.path(b), b.is_dir()));
        let own = StateBucket::ALL.map(|b| (format!("{b:?}"), state.path(b), b.is_dir()));
        let all: Vec<_> = shared.iter().chain(own.iter()).collect();
        let distinct: BTreeSet<_> = all.iter().map(|(_, path, _)| path).collect();
        assert_eq!(distinct.len(), all.len(), "{all:?}");
        for (a, path_a, a_is_dir) in &all {
            for (b, path_b, _) in &all {
                if a == b || !path_b.starts_with(path_a) {
                    continue;
                }
                assert!(*a_is_dir, "{b} is inside the file {a}");
                assert_eq!(a, "Workspaces", "{b} lies inside {a}");
                assert!(own.iter().any(|(name, _, _)| name == b), "{b} inside {a}");
            }
        }
    }

    #[test]
    fn a_state_directory_stays_inside_workspaces() {
        let cache = CacheDir::new("/c");
        for id in ["../../etc", "/abs", "a/b", "", ".."] {
            let state = cache.workspace_state(id);
            assert_eq!(
                state.dir().parent(),
                Some(Path::new("/c/v1/workspaces")),
                "{id:?} gave {:?}",
                state.dir()
            );
        }
    }
}

//! The workspace walk: every file that no ignore rule excludes, listed by
//! several threads.
//!
//! The rules are the ones the `ignore` crate's walker applied for us before,
//! configured as git sees a work tree: each directory's `.gitignore`, the
//! `.gitignore` of every directory above the root, each repository's
//! `.git/info/exclude`, and git's global excludes file; dotfiles included,
//! symlinks not followed. They are read and matched as that crate reads and
//! matches them (`xtask_glob::Gitignore`, tested against it), in the same
//! order of precedence. What
//! differs is the cost: each file is `stat`ed relative to its open directory
//! (one name for the kernel to look up instead of the whole path), nothing is
//! probed that the directory's listing shows is absent, and a name is built
//! once, relative to the root. At 300 crates (6,300 files) this took the
//! walk from 31 ms to 23 ms on one thread.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, BufRead};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use xtask_glob::{Gitignore, Match};

use crate::discover::Found;
use crate::stat_cache::FileStat;

/// A directory that could not be listed.
#[derive(Debug)]
pub(crate) struct WalkError {
    pub dir: PathBuf,
    pub source: io::Error,
}

/// Lists the files below `root` (followed if it is a symlink), skipping
/// directories named `.git` and the absolute `skip` paths, on `threads`
/// threads (the calling one among them), in path order.
pub(crate) fn list(
    root: &Path,
    skip: &[String],
    global_excludes: Option<&Path>,
    threads: usize,
) -> Result<Vec<Found>, WalkError> {
    // Absolute, so that no name below it can be mistaken for the matchers'
    // own (absolute) roots.
    let root = std::path::absolute(root).map_err(|source| WalkError {
        dir: root.to_path_buf(),
        source,
    })?;
    let skip: Vec<PathBuf> = skip.iter().map(|dir| root.join(dir)).collect();
    let walk = Walk {
        outside: Outside::read(&root, global_excludes),
        skip: &skip,
        queue: Queue::new(DirJob {
            abs: root.clone(),
            rel: PathBuf::new(),
            rules: None,
            slot: 0,
        }),
        slots: AtomicUsize::new(1),
    };
    let threads = threads.max(1);
    let listings = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(|| walk.work())).collect();
        let mut listings = walk.work();
        for helper in helpers {
            match helper.join() {
                Ok(more) => listings.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        listings
    });
    match walk.queue.into_failure() {
        Some(error) => Err(error),
        None => Ok(in_path_order(listings, walk.slots.into_inner())),
    }
}

/// One listed directory: its files and subdirectories, each subdirectory by
/// the slot of its own listing.
type Listing = Vec<Item>;

enum Item {
    /// A file, and where its name starts in its path.
    File { found: Found, name_at: usize },
    Dir {
        name: std::ffi::OsString,
        slot: usize,
    },
}

impl Item {
    /// The name, and whether it is a directory's.
    fn name(&self) -> (&[u8], bool) {
        match self {
            Item::File { found, name_at } => (&found.path.as_bytes()[*name_at..], false),
            Item::Dir { name, .. } => (name.as_bytes(), true),
        }
    }
}

/// Sorts one directory's items as their paths sort: by name, a directory's
/// read as followed by `/`, as in the paths below it (`a.rs` < `a/…` <
/// `a0`).
fn sort_listing(items: &mut Listing) {
    items.sort_unstable_by(|a, b| {
        let ((a, a_dir), (b, b_dir)) = (a.name(), b.name());
        let common = a.len().min(b.len());
        a[..common].cmp(&b[..common]).then_with(|| {
            // One name starts the other (or both are equal): what follows
            // the shorter is its end, or the `/` after a directory's.
            let next = |name: &[u8], dir: bool| match name.get(common) {
                Some(&byte) => Some(byte),
                None => dir.then_some(b'/'),
            };
            next(a, a_dir).cmp(&next(b, b_dir))
        })
    });
}

/// The files of every listing, depth first from the root's (slot 0), each
/// listing sorted: in the byte order of their paths, git's, which the
/// snapshot needs (it still sorts, but a sorted list costs it one pass;
/// sorting 6,300 walked paths was 5% of a warm run's instructions).
fn in_path_order(listings: Vec<(usize, Listing)>, slots: usize) -> Vec<Found> {
    let mut by_slot: Vec<Option<Listing>> = (0..slots).map(|_| None).collect();
    let mut files = 0;
    for (slot, listing) in listings {
        files += listing.len();
        if let Some(place) = by_slot.get_mut(slot) {
            *place = Some(listing);
        }
    }
    let mut found = Vec::with_capacity(files);
    let mut stack = vec![by_slot[0].take().unwrap_or_default().into_iter()];
    while let Some(items) = stack.last_mut() {
        match items.next() {
            Some(Item::File { found: file, .. }) => found.push(file),
            Some(Item::Dir { slot, .. }) => {
                let listing = by_slot.get_mut(slot).and_then(Option::take);
                stack.push(listing.unwrap_or_default().into_iter());
            }
            None => {
                stack.pop();
            }
        }
    }
    found
}

struct Walk<'a> {
    outside: Outside,
    skip: &'a [PathBuf],
    queue: Queue,
    /// The next free listing slot (the root's is 0).
    slots: AtomicUsize,
}

/// One directory still to list.
struct DirJob {
    abs: PathBuf,
    /// Below the root, `/`-separated; empty for the root itself.
    rel: PathBuf,
    /// The nearest rules at or above this directory's parent.
    rules: Option<Arc<Rules>>,
    /// Where its listing goes among the walk's (`in_path_order`).
    slot: usize,
}

impl Walk<'_> {
    /// One thread's share: directories from the queue until none is left.
    fn work(&self) -> Vec<(usize, Listing)> {
        let _release_on_panic = ReleaseOnPanic(&self.queue);
        let mut listings = Vec::new();
        while let Some(job) = self.queue.next() {
            let slot = job.slot;
            let mut items = Vec::new();
            match self.list_dir(job, &mut items) {
                Ok(children) => self.queue.done(children),
                Err(error) => self.queue.fail(error),
            }
            sort_listing(&mut items);
            listings.push((slot, items));
        }
        listings
    }

    fn list_dir(&self, job: DirJob, items: &mut Listing) -> Result<Vec<DirJob>, WalkError> {
        let failed = |source| WalkError {
            dir: job.abs.clone(),
            source,
        };
        let entries = match fs::read_dir(&job.abs) {
            // Deleted since its parent was listed: nothing in it is an input.
            Err(e) if e.kind() == io::ErrorKind::NotFound && !job.rel.as_os_str().is_empty() => {
                return Ok(Vec::new());
            }
            listing => listing
                .and_then(|entries| entries.collect::<io::Result<Vec<_>>>())
                .map_err(failed)?,
        };
        // One allocation per name: std's `DirEntry` lends none.
        let names: Vec<_> = entries.iter().map(fs::DirEntry::file_name).collect();
        let rules = Rules::of_dir(&job, &names);
        let mut children = Vec::new();
        for (entry, name) in entries.iter().zip(names) {
            let file_type = entry.file_type().map_err(failed)?;
            let rel = child(&job.rel, &name);
            if self.ignored(rules.as_ref(), &rel, file_type.is_dir()) {
                continue;
            }
            if file_type.is_dir() {
                let abs = child(&job.abs, &name);
                if name != ".git" && !self.skip.contains(&abs) {
                    let slot = self.slots.fetch_add(1, Ordering::Relaxed);
                    children.push(DirJob {
                        abs,
                        rel,
                        rules: rules.clone(),
                        slot,
                    });
                    items.push(Item::Dir { name, slot });
                }
                continue;
            }
            let is_symlink = file_type.is_symlink();
            if !file_type.is_file() && !is_symlink {
                continue; // sockets, fifos, devices: not inputs
            }
            // Relative to the open directory. Deleted between listing and
            // stat: it is simply not an input.
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let mut stat = FileStat::from_metadata(&meta);
            if is_symlink {
                stat = stat.through_link(&job.abs.join(&name));
            }
            let path = rel
                .into_os_string()
                .into_string()
                .unwrap_or_else(|name| name.to_string_lossy().into_owned());
            items.push(Item::File {
                name_at: path.rfind('/').map_or(0, |slash| slash + 1),
                found: Found {
                    path,
                    stat,
                    is_symlink,
                },
            });
        }
        Ok(children)
    }

    /// Whether the rules exclude `rel` (below the root), in the crate's
    /// order: the nearest `.gitignore` that has a say, else the nearest
    /// `info/exclude`, else the global excludes; a `!pattern` keeps a path.
    fn ignored(&self, rules: Option<&Arc<Rules>>, rel: &Path, is_dir: bool) -> bool {
        let (mut by_gitignore, mut by_exclude) = (Match::None, Match::None);
        let mut node = rules;
        while let Some(here) = node {
            let below = here.below(rel);
            if by_gitignore.is_none() {
                by_gitignore = here.gitignore.matched(below, is_dir);
            }
            if by_exclude.is_none() {
                by_exclude = here.exclude.matched(below, is_dir);
            }
            node = here.parent.as_ref();
        }
        if !self.outside.ancestors.is_empty() {
            let path = child(&self.outside.canonical_root, rel.as_os_str());
            for (gitignore, exclude) in &self.outside.ancestors {
                if by_gitignore.is_none() {
                    by_gitignore = gitignore.matched(&path, is_dir);
                }
                if by_exclude.is_none() {
                    by_exclude = exclude.matched(&path, is_dir);
                }
            }
        }
        let by_global = match &self.outside.global {
            Some(global) if by_gitignore.is_none() && by_exclude.is_none() => {
                global.matched(child(&self.outside.root, rel.as_os_str()), is_dir)
            }
            _ => Match::None,
        };
        by_gitignore.or(by_exclude).or(by_global).is_ignore()
    }
}

/// `dir/name`, or `name` below the empty root path: what `Path::join` gives
/// for a relative `name` (an entry's name, or a path below the root),
/// without its checks for roots and prefixes. It is called for every entry
/// of the walk; at 21,000 files `join` was 9% of a warm run's instructions.
fn child(dir: &Path, name: &OsStr) -> PathBuf {
    let dir = dir.as_os_str();
    if dir.is_empty() {
        return PathBuf::from(name);
    }
    let mut path = std::ffi::OsString::with_capacity(dir.len() + 1 + name.len());
    path.push(dir);
    if !dir.as_bytes().ends_with(b"/") {
        path.push("/");
    }
    path.push(name);
    PathBuf::from(path)
}

/// The rules of a directory that has any of its own, chained to those above.
struct Rules {
    gitignore: Gitignore,
    exclude: Gitignore,
    /// Bytes of the directory's root-relative name and its `/`: cut from an
    /// entry's name to make it relative to this directory, as the matchers
    /// (rooted here) expect.
    prefix_len: usize,
    parent: Option<Arc<Rules>>,
}

impl Rules {
    /// The rules in force below `job`'s directory: its own, if its listing
    /// shows a `.gitignore` or a `.git` and they hold a rule, else its
    /// parent's.
    fn of_dir(job: &DirJob, names: &[std::ffi::OsString]) -> Option<Arc<Rules>> {
        let has = |name: &str| names.iter().any(|listed| listed == name);
        let gitignore = if has(".gitignore") {
            Gitignore::from_file(&job.abs, &job.abs.join(".gitignore"))
        } else {
            Gitignore::empty()
        };
        let exclude = match has(".git").then(|| git_common_dir(&job.abs)).flatten() {
            Some(git_dir) => Gitignore::from_file(&job.abs, &git_dir.join("info/exclude")),
            None => Gitignore::empty(),
        };
        if gitignore.is_empty() && exclude.is_empty() {
            return job.rules.clone();
        }
        let rel_len = job.rel.as_os_str().len();
        Some(Arc::new(Rules {
            gitignore,
            exclude,
            prefix_len: if rel_len == 0 { 0 } else { rel_len + 1 },
            parent: job.rules.clone(),
        }))
    }

    fn below<'p>(&self, rel: &'p Path) -> &'p Path {
        Path::new(OsStr::from_bytes(
            &rel.as_os_str().as_bytes()[self.prefix_len..],
        ))
    }
}

/// Rules from outside the walked tree.
struct Outside {
    /// The root, absolute: global excludes are matched with full paths.
    root: PathBuf,
    canonical_root: PathBuf,
    /// `.gitignore` and `info/exclude` of each directory above the root that
    /// has a rule, nearest first, matched with canonical paths.
    ancestors: Vec<(Gitignore, Gitignore)>,
    global: Option<Gitignore>,
}

impl Outside {
    fn read(root: &Path, global_excludes: Option<&Path>) -> Outside {
        let canonical_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let ancestors = canonical_root
            .ancestors()
            .skip(1)
            .map(|dir| {
                let exclude = match git_common_dir(dir) {
                    Some(git_dir) => Gitignore::from_file(dir, &git_dir.join("info/exclude")),
                    None => Gitignore::empty(),
                };
                (Gitignore::from_file(dir, &dir.join(".gitignore")), exclude)
            })
            .filter(|(gitignore, exclude)| !gitignore.is_empty() || !exclude.is_empty())
            .collect();
        // As the crate's walker read it: rooted at the working directory,
        // keeping the lines it could read.
        let global = global_excludes.and_then(|file| {
            let cwd = std::env::current_dir().ok()?;
            Some(Gitignore::from_file(&cwd, file)).filter(|rules| !rules.is_empty())
        });
        Outside {
            root: root.to_path_buf(),
            canonical_root,
            ancestors,
            global,
        }
    }
}

/// The directory holding `info/exclude` for a repository rooted at `dir`:
/// `.git` itself, or for a linked work tree (a `.git` file saying
/// `gitdir: …`) the common directory its `commondir` file names. The crate's
/// reading, kept exactly: a relative `gitdir` is taken from the working
/// directory, and a `.git` file without a common directory has no excludes.
fn git_common_dir(dir: &Path) -> Option<PathBuf> {
    let dot_git = dir.join(".git");
    if !fs::metadata(&dot_git).is_ok_and(|meta| meta.is_file()) {
        return Some(dot_git);
    }
    let git_dir = PathBuf::from(first_line(&dot_git)?.strip_prefix("gitdir: ")?);
    let common = first_line(&git_dir.join("commondir"))?;
    Some(if common.starts_with('.') {
        git_dir.join(common)
    } else {
        PathBuf::from(common)
    })
}

/// A file's first line, read no further than 64 KiB: these files are a line
/// of a path, and one written by someone else must not cost more.
fn first_line(path: &Path) -> Option<String> {
    let file = fs::File::open(path).ok()?;
    let mut line = io::BufReader::new(io::Read::take(file, 64 * 1024))
        .lines()
        .next()?
        .ok()?;
    line.truncate(line.trim_end_matches('\r').len());
    Some(line)
}

/// Directories waiting to be listed, shared by the walk's threads.
struct Queue {
    state: Mutex<QueueState>,
    changed: Condvar,
}

struct QueueState {
    jobs: Vec<DirJob>,
    /// Threads listing a directory now: while any is, more jobs may come.
    busy: usize,
    /// Threads waiting for a job: only then is a wake-up worth its system
    /// call (one per listed directory otherwise).
    waiting: usize,
    failure: Option<WalkError>,
    /// A thread panicked: the others stop instead of waiting for its jobs.
    abandoned: bool,
}

/// Releases the other threads if this one panics mid-directory (its `busy`
/// count would otherwise keep them waiting forever).
struct ReleaseOnPanic<'q>(&'q Queue);

impl Drop for ReleaseOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.abandoned = true;
            drop(state);
            self.0.changed.notify_all();
        }
    }
}

impl Queue {
    fn new(first: DirJob) -> Queue {
        Queue {
            state: Mutex::new(QueueState {
                jobs: vec![first],
                busy: 0,
                waiting: 0,
                failure: None,
                abandoned: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// The next directory, or `None` when the walk is over (or failed).
    fn next(&self) -> Option<DirJob> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.failure.is_some() || state.abandoned {
                return None;
            }
            if let Some(job) = state.jobs.pop() {
                state.busy += 1;
                return Some(job);
            }
            if state.busy == 0 {
                return None;
            }
            state.waiting += 1;
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.waiting -= 1;
        }
    }

    fn done(&self, children: Vec<DirJob>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.busy -= 1;
        let wake = state.waiting > 0 && (!children.is_empty() || state.busy == 0);
        state.jobs.extend(children);
        drop(state);
        if wake {
            self.changed.notify_all();
        }
    }

    fn fail(&self, error: WalkError) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.busy -= 1;
        state.failure.get_or_insert(error);
        drop(state);
        self.changed.notify_all();
    }

    fn into_failure(self) -> Option<WalkError> {
        self.state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .failure
    }
}

#[cfg(test)]
mod tests;

//! Safe extraction of an entry's outputs into a base directory.
//!
//! This is a security boundary: the same code extracts artifacts downloaded from a
//! remote cache, so it trusts nothing in the archive. A restore reads the archive
//! twice. The first pass checks every member and writes nothing: its path and
//! kind (`classify`), the limits (sizes, member count, name bytes), the caller's
//! `OutputFilter` (only the task's declared outputs), no `.git` component, no
//! member below another member's file or link, and the files already on disk
//! (a symlinked directory on the way must stay inside the base directory, and
//! where the member really lands must pass the filter too). Only if the whole
//! archive passes does the second pass write, repeating the checks; a refused
//! archive leaves the base directory as it was.
//!
//! Writing never follows a symlink it did not check: files and links are written
//! under a temp name in their directory and renamed over whatever was there
//! (rename replaces a symlink, it does not write through it), and parent
//! directories are walked with `symlink_metadata`. Directory modes are applied
//! only to directories the restore creates, never to existing ones.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use tar::EntryType;

use crate::archive::{self, LOG_MAX, LOG_NAME, META_MAX, META_NAME, OUTPUTS_DIR};
use crate::error::{CacheError, Corruption, LinkProblem, Refusal};
use crate::fsutil::{LimitedReader, TempFile};
use crate::paths;
use crate::tar_guard::TarGuard;
use crate::{OutputFilter, RestoreLimits, RestoreReport};

/// Prefix of the temp names used next to restored files.
const RESTORE_TMP_PREFIX: &str = ".xtask-restore";

/// Slack for tar's own headers on top of the member sizes when capping the
/// decompressed stream (see `LimitedReader`).
const STREAM_SLACK: u64 = 64 << 20;

/// One output member, checked.
pub(crate) struct Member {
    /// The path as the archive spells it, for error messages.
    archive_path: PathBuf,
    /// Relative to the base directory, plain names only.
    rel: PathBuf,
    kind: MemberKind,
}

enum MemberKind {
    File { mode: u32, mtime: SystemTime },
    Dir { mode: u32 },
    Symlink { target: PathBuf, ups: usize },
}

/// Walks the output members of an entry body (the compressed stream after the
/// header), checks each one and the running size total, and hands it to `visit`
/// with a reader of its data.
pub(crate) fn walk_members(
    key: &str,
    body: impl Read,
    limits: &RestoreLimits,
    mut visit: impl FnMut(&Member, &mut dyn Read) -> Result<(), CacheError>,
) -> Result<(), CacheError> {
    let corrupt = |reason: Corruption| CacheError::Corrupt {
        key: key.to_owned(),
        reason,
    };
    let decoder = zstd::Decoder::new(body).map_err(|e| corrupt(archive::archive_error(e)))?;
    let stream_limit = limits
        .max_bytes
        .saturating_mul(2)
        .saturating_add(META_MAX + LOG_MAX + STREAM_SLACK);
    let mut tar = tar::Archive::new(TarGuard::new(LimitedReader::new(decoder, stream_limit)));
    let mut entries = tar
        .entries_with_seek()
        .map_err(|e| corrupt(archive::archive_error(e)))?;
    archive::check_head_member(entries.next(), META_NAME, META_MAX).map_err(corrupt)?;
    archive::check_head_member(entries.next(), LOG_NAME, LOG_MAX).map_err(corrupt)?;

    let mut total: u64 = 0;
    let mut members: u64 = 0;
    let mut name_bytes: u64 = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| corrupt(archive::archive_error(e)))?;
        let pax_mtime = pax_mtime(&mut entry);
        let archive_path = entry
            .path()
            .map_err(|e| corrupt(archive::archive_error(e)))?
            .into_owned();
        let link_name = entry
            .link_name()
            .map_err(|e| corrupt(archive::archive_error(e)))?
            .map(|target| target.into_owned());
        let header = entry.header();
        let member = classify(
            &archive_path,
            header.entry_type(),
            header.mode().unwrap_or(0o644),
            archive::member_mtime(header.mtime().unwrap_or(0), pax_mtime.as_deref()),
            link_name,
        )
        .map_err(|reason| CacheError::UnsafeMember {
            key: key.to_owned(),
            member: archive_path.clone(),
            reason,
        })?;
        members += 1;
        name_bytes += archive_path.as_os_str().len() as u64;
        for (count, limit, what) in [
            (members, limits.max_members, "members"),
            (name_bytes, limits.max_name_bytes, "bytes of member names"),
        ] {
            if count > limit {
                return Err(CacheError::RestoreTooMany {
                    key: key.to_owned(),
                    what,
                    limit,
                });
            }
        }
        // The header's size is checked before any of the data is read or written.
        total = total.saturating_add(entry.size());
        if total > limits.max_bytes {
            return Err(CacheError::RestoreTooLarge {
                key: key.to_owned(),
                member: archive_path,
                limit: limits.max_bytes,
            });
        }
        visit(&member, &mut entry)?;
    }
    Ok(())
}

fn pax_mtime<R: Read>(entry: &mut tar::Entry<'_, R>) -> Option<String> {
    let extensions = entry.pax_extensions().ok()??;
    extensions
        .filter_map(Result::ok)
        .find(|ext| ext.key() == Ok("mtime"))
        .and_then(|ext| ext.value().ok().map(str::to_owned))
}

/// Decides whether a member may be extracted. Pure: no I/O.
fn classify(
    archive_path: &Path,
    entry_type: EntryType,
    mode: u32,
    mtime: SystemTime,
    link_name: Option<PathBuf>,
) -> Result<Member, Refusal> {
    for component in archive_path.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => return Err(Refusal::AbsolutePath),
            Component::ParentDir => return Err(Refusal::ParentDir),
            Component::CurDir | Component::Normal(_) => {}
        }
    }
    let mut components = archive_path.components();
    let first = components.find(|component| *component != Component::CurDir);
    if first != Some(Component::Normal(OUTPUTS_DIR.as_ref())) {
        return Err(Refusal::UnexpectedMember);
    }
    let rel = paths::plain_relative(components.as_path()).ok_or(Refusal::UnexpectedMember)?;
    if paths::has_git_component(&rel) {
        return Err(Refusal::GitDir);
    }

    // Only rwx bits come back: no setuid, setgid or sticky from an archive.
    let mode = mode & 0o777;
    let kind = match entry_type {
        EntryType::Regular => MemberKind::File { mode, mtime },
        EntryType::Directory => MemberKind::Dir { mode },
        EntryType::Symlink => {
            let target = link_name.ok_or(Refusal::MissingLinkTarget)?;
            match paths::check_link_target(&rel, &target) {
                Ok(ups) => MemberKind::Symlink { target, ups },
                Err(problem) => return Err(Refusal::Symlink { target, problem }),
            }
        }
        EntryType::Link => return Err(Refusal::HardLink),
        EntryType::Char | EntryType::Block => return Err(Refusal::Device),
        EntryType::Fifo => return Err(Refusal::Fifo),
        other => return Err(Refusal::UnsupportedType(other.as_byte())),
    };
    Ok(Member {
        archive_path: archive_path.to_path_buf(),
        rel,
        kind,
    })
}

/// Reads every member's data to the end without writing anything: `verify` uses it
/// to prove the archive is readable and its members pass the archive's own rules
/// (what a restore also checks against the task's outputs and the disk is not
/// known here).
pub(crate) fn check_body(
    key: &str,
    body: impl Read,
    limits: &RestoreLimits,
) -> Result<(), CacheError> {
    walk_members(key, body, limits, |_, data| {
        io::copy(data, &mut io::sink()).map_err(|e| CacheError::Corrupt {
            key: key.to_owned(),
            reason: archive::archive_error(e),
        })?;
        Ok(())
    })
}

/// Extracts the outputs of an entry body into `base_dir`, in two passes over the
/// archive: the first checks every member against the archive's rules, the
/// limits, `filter` and the files already on disk, writing nothing; the second
/// writes, repeating every check. `body` opens the body afresh for each pass.
pub(crate) fn restore<R: Read>(
    key: &str,
    body: impl Fn() -> R,
    base_dir: &Path,
    limits: &RestoreLimits,
    filter: &dyn OutputFilter,
) -> Result<RestoreReport, CacheError> {
    let io_err = |source: io::Error| CacheError::Restore {
        key: key.to_owned(),
        path: base_dir.to_path_buf(),
        source,
    };
    // The caller's directory, not the archive's: creating it writes nothing the
    // archive chose.
    fs::create_dir_all(base_dir).map_err(io_err)?;
    let canonical_base = fs::canonicalize(base_dir).map_err(io_err)?;
    for write in [false, true] {
        let mut restorer = Restorer {
            key,
            base_dir,
            canonical_base: canonical_base.clone(),
            filter,
            write,
            paths: HashMap::new(),
            buf: vec![0; 256 * 1024],
            report: RestoreReport::default(),
        };
        walk_members(key, body(), limits, |member, data| {
            restorer.member(member, data)
        })?;
        if write {
            return Ok(restorer.report);
        }
    }
    unreachable!("the second pass returns")
}

/// What a restore puts (or finds) at a path it has seen, by relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// A real directory, already there or to be created.
    Dir,
    /// A directory on disk reached through a symlink, which resolves to `real`
    /// (relative to the base directory).
    LinkedDir { real: PathBuf },
    /// A file or symlink member of this archive.
    NonDir,
}

/// The checks a member passed, and what writing it needs to know.
struct Checked {
    /// The directory the member lands in, with symlinks resolved, relative to
    /// the base directory.
    real_parent: PathBuf,
}

struct Restorer<'a> {
    key: &'a str,
    base_dir: &'a Path,
    /// The base directory with symlinks resolved, to tell where a link really goes.
    canonical_base: PathBuf,
    filter: &'a dyn OutputFilter,
    /// The first pass only checks; the second also writes.
    write: bool,
    /// Every member path and parent directory seen so far. It makes each
    /// directory cost one `symlink_metadata`, not one per file, and lets the
    /// first pass know what earlier members will have put on disk.
    paths: HashMap<PathBuf, Seen>,
    buf: Vec<u8>,
    report: RestoreReport,
}

impl Restorer<'_> {
    fn member(&mut self, member: &Member, data: &mut dyn Read) -> Result<(), CacheError> {
        let checked = self.check(member)?;
        if !self.write {
            // Read the data too: a stream that breaks later must fail now.
            return io::copy(data, &mut io::sink())
                .map(|_| ())
                .map_err(|e| self.corrupt(e));
        }
        self.apply(member, &checked, data)
    }

    /// Every rule a member must pass, decided from the archive so far and the
    /// disk, without writing anything.
    fn check(&mut self, member: &Member) -> Result<Checked, CacheError> {
        let rel = &member.rel;
        // (`classify` already refused a `.git` component in `rel`.)
        if !self.filter.allows(rel) {
            return Err(self.refuse(member, Refusal::NotAnOutput));
        }
        let parent_rel = rel.parent().unwrap_or(Path::new(""));
        let real_parent = self.check_parents(member, parent_rel)?;
        let name = rel.file_name().map(Path::new).unwrap_or(Path::new(""));
        let real = real_parent.join(name);
        // A directory on the way that is a symlink moves the member elsewhere:
        // where it really lands must be allowed too.
        if real != *rel && (paths::has_git_component(&real) || !self.filter.allows(&real)) {
            return Err(self.refuse(member, Refusal::LandsElsewhere { real }));
        }
        let dest = self.base_dir.join(rel);
        match &member.kind {
            MemberKind::Dir { .. } => match self.paths.get(rel) {
                Some(Seen::Dir | Seen::LinkedDir { .. }) => {}
                Some(Seen::NonDir) => return Err(self.refuse(member, Refusal::Duplicate)),
                None => {
                    let seen = self.check_dir_on_disk(member, rel, &dest)?;
                    self.paths.insert(rel.clone(), seen);
                }
            },
            MemberKind::File { .. } | MemberKind::Symlink { .. } => {
                if self.paths.contains_key(rel) {
                    return Err(self.refuse(member, Refusal::Duplicate));
                }
                if let MemberKind::Symlink { target, ups } = &member.kind {
                    self.check_link(member, &real_parent, target, *ups)?;
                }
                // Rename replaces files and symlinks but not directories: an
                // empty directory in the way is removed, a non-empty one refused.
                let is_real_dir = fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir());
                if is_real_dir {
                    let empty = fs::read_dir(&dest)
                        .map_err(|e| self.io_err(&dest, e))?
                        .next()
                        .is_none();
                    if !empty {
                        return Err(self.refuse(member, Refusal::DirectoryInTheWay));
                    }
                }
                self.paths.insert(rel.clone(), Seen::NonDir);
            }
        }
        Ok(Checked { real_parent })
    }

    /// Checks each directory above a member and returns where the last one
    /// really is (symlinks resolved), relative to the base directory.
    fn check_parents(&mut self, member: &Member, parent_rel: &Path) -> Result<PathBuf, CacheError> {
        let mut rel = PathBuf::new();
        let mut real = PathBuf::new();
        for component in parent_rel.components() {
            rel.push(component);
            let seen = match self.paths.get(&rel) {
                Some(seen) => seen.clone(),
                None => {
                    let seen = self.check_dir_on_disk(member, &rel, &self.base_dir.join(&rel))?;
                    self.paths.insert(rel.clone(), seen.clone());
                    seen
                }
            };
            match seen {
                Seen::Dir => real.push(component),
                Seen::LinkedDir { real: target } => real = target,
                // Writing below a member link would write through it.
                Seen::NonDir => {
                    return Err(self.refuse(member, Refusal::InsideNonDirectory { parent: rel }));
                }
            }
        }
        Ok(real)
    }

    /// What is on disk where the archive needs a directory (`rel`, at `path`).
    fn check_dir_on_disk(
        &self,
        member: &Member,
        rel: &Path,
        path: &Path,
    ) -> Result<Seen, CacheError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => Ok(Seen::Dir),
            Ok(meta) if meta.file_type().is_symlink() => {
                let real = fs::canonicalize(path)
                    .ok()
                    .filter(|real| real.is_dir())
                    .and_then(|real| {
                        real.strip_prefix(&self.canonical_base)
                            .ok()
                            .map(Path::to_path_buf)
                    });
                match real {
                    Some(real) if !paths::has_git_component(&real) => Ok(Seen::LinkedDir { real }),
                    _ => Err(self.refuse(
                        member,
                        Refusal::ParentEscapes {
                            path: rel.to_path_buf(),
                        },
                    )),
                }
            }
            // A file where the archive has a directory: replaced, but only if
            // that file is itself one of the task's outputs.
            Ok(_) if self.filter.allows(rel) && !paths::has_git_component(rel) => Ok(Seen::Dir),
            Ok(_) => Err(self.refuse(
                member,
                Refusal::FileInTheWay {
                    path: rel.to_path_buf(),
                },
            )),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Seen::Dir),
            Err(err) => Err(self.io_err(path, err)),
        }
    }

    /// The lexical rule (`paths::check_link_target`) counts the target's `..`s
    /// against the link's depth in the archive; here they are counted against the
    /// real depth of the directory the link lands in, which differs when a parent
    /// is a symlink.
    fn check_link(
        &self,
        member: &Member,
        real_parent: &Path,
        target: &Path,
        ups: usize,
    ) -> Result<(), CacheError> {
        let problem = if ups > real_parent.components().count() {
            Some(LinkProblem::Escapes)
        } else if paths::has_git_component(target) {
            Some(LinkProblem::IntoGit)
        } else {
            None
        };
        match problem {
            Some(problem) => Err(self.refuse(
                member,
                Refusal::Symlink {
                    target: target.to_path_buf(),
                    problem,
                },
            )),
            None => Ok(()),
        }
    }

    /// Writes a checked member.
    fn apply(
        &mut self,
        member: &Member,
        checked: &Checked,
        data: &mut dyn Read,
    ) -> Result<(), CacheError> {
        let parent_rel = member.rel.parent().unwrap_or(Path::new(""));
        let dest = self.base_dir.join(&member.rel);
        match &member.kind {
            MemberKind::Dir { mode } => {
                self.ensure_dirs(parent_rel)?;
                // A directory already there keeps its mode: an archive never
                // changes the permissions of something it did not create.
                if self.ensure_dir(&dest)? {
                    // Keep the owner's rwx, or the next member could not go inside.
                    set_dir_mode(&dest, mode | 0o700).map_err(|e| self.io_err(&dest, e))?;
                }
                self.report.directories += 1;
            }
            MemberKind::File { mode, mtime } => {
                self.ensure_dirs(parent_rel)?;
                self.clear_dir_in_the_way(member, &dest)?;
                let written = self.write_file(&dest, data, *mode, *mtime)?;
                self.report.files += 1;
                self.report.bytes += written;
            }
            MemberKind::Symlink { target, ups } => {
                self.ensure_dirs(parent_rel)?;
                // Checked in the first pass; checked again against the disk as it
                // is now, in case something moved in between.
                self.check_link_on_disk(member, parent_rel, checked, target, *ups)?;
                self.clear_dir_in_the_way(member, &dest)?;
                self.write_symlink(&dest, target)?;
                self.report.symlinks += 1;
            }
        }
        Ok(())
    }

    /// Creates the missing directories of `rel_dir`, which `check` approved.
    fn ensure_dirs(&self, rel_dir: &Path) -> Result<(), CacheError> {
        let mut path = self.base_dir.to_path_buf();
        for component in rel_dir.components() {
            path.push(component);
            self.ensure_dir(&path)?;
        }
        Ok(())
    }

    /// Makes `path` a directory; true if this call created it. A symlink there
    /// was checked to lead to a directory inside the base and is kept; a file
    /// was checked to be an output and is replaced.
    fn ensure_dir(&self, path: &Path) -> Result<bool, CacheError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => return Ok(false),
            Ok(meta) if meta.file_type().is_symlink() => {
                let inside = fs::canonicalize(path)
                    .is_ok_and(|real| real.starts_with(&self.canonical_base) && real.is_dir());
                if inside {
                    return Ok(false);
                }
                return Err(self.io_err(
                    path,
                    io::Error::other("a symlink changed during the restore"),
                ));
            }
            Ok(_) => fs::remove_file(path).map_err(|e| self.io_err(path, e))?,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(self.io_err(path, err)),
        }
        match fs::create_dir(path) {
            Ok(()) => Ok(true),
            // Another restore got there first; fine if it made a real directory.
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                match fs::symlink_metadata(path) {
                    Ok(meta) if meta.is_dir() => Ok(false),
                    _ => Err(self.io_err(path, err)),
                }
            }
            Err(err) => Err(self.io_err(path, err)),
        }
    }

    fn check_link_on_disk(
        &self,
        member: &Member,
        parent_rel: &Path,
        checked: &Checked,
        target: &Path,
        ups: usize,
    ) -> Result<(), CacheError> {
        let parent = self.base_dir.join(parent_rel);
        let real_parent = fs::canonicalize(&parent).map_err(|e| self.io_err(&parent, e))?;
        let moved = real_parent
            .strip_prefix(&self.canonical_base)
            .map_or(true, |below| below != checked.real_parent);
        if moved {
            return Err(self.refuse(
                member,
                Refusal::ParentEscapes {
                    path: parent_rel.to_path_buf(),
                },
            ));
        }
        self.check_link(member, &checked.real_parent, target, ups)
    }

    /// An empty directory where a file or link goes is removed (`check` refused
    /// a non-empty one; if one appeared since, removing it fails).
    fn clear_dir_in_the_way(&mut self, member: &Member, dest: &Path) -> Result<(), CacheError> {
        let is_real_dir = fs::symlink_metadata(dest).is_ok_and(|m| m.is_dir());
        if is_real_dir {
            fs::remove_dir(dest).map_err(|_| self.refuse(member, Refusal::DirectoryInTheWay))?;
        }
        Ok(())
    }

    fn write_file(
        &mut self,
        dest: &Path,
        data: &mut dyn Read,
        mode: u32,
        mtime: SystemTime,
    ) -> Result<u64, CacheError> {
        let dir = dest.parent().unwrap_or(self.base_dir);
        let (temp, mut file) =
            TempFile::create(dir, RESTORE_TMP_PREFIX).map_err(|e| self.io_err(dir, e))?;
        let mut written = 0u64;
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(self.corrupt(err)),
            };
            file.write_all(&self.buf[..n])
                .map_err(|e| self.io_err(temp.path(), e))?;
            written += n as u64;
        }
        set_file_mode(&file, mode).map_err(|e| self.io_err(temp.path(), e))?;
        // After the last write, which would bump the mtime again.
        file.set_modified(mtime)
            .map_err(|e| self.io_err(temp.path(), e))?;
        drop(file);
        temp.persist(dest).map_err(|e| self.io_err(dest, e))?;
        Ok(written)
    }

    fn write_symlink(&self, dest: &Path, target: &Path) -> Result<(), CacheError> {
        let dir = dest.parent().unwrap_or(self.base_dir);
        let temp = dir.join(crate::fsutil::unique_name(RESTORE_TMP_PREFIX));
        make_symlink(target, &temp).map_err(|e| self.io_err(dest, e))?;
        if let Err(err) = fs::rename(&temp, dest) {
            let _ = fs::remove_file(&temp);
            return Err(self.io_err(dest, err));
        }
        Ok(())
    }

    fn refuse(&self, member: &Member, reason: Refusal) -> CacheError {
        CacheError::UnsafeMember {
            key: self.key.to_owned(),
            member: member.archive_path.clone(),
            reason,
        }
    }

    fn corrupt(&self, err: io::Error) -> CacheError {
        CacheError::Corrupt {
            key: self.key.to_owned(),
            reason: archive::archive_error(err),
        }
    }

    fn io_err(&self, path: &Path, source: io::Error) -> CacheError {
        CacheError::Restore {
            key: self.key.to_owned(),
            path: path.to_path_buf(),
            source,
        }
    }
}

#[cfg(unix)]
fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
    let mut permissions = file.metadata()?.permissions();
    permissions.set_readonly(mode & 0o200 == 0);
    file.set_permissions(permissions)
}

#[cfg(unix)]
fn set_dir_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_dir_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn make_symlink(_target: &Path, _link: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "restoring symlinks is only supported on unix",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::LinkProblem;
    use std::time::UNIX_EPOCH;

    fn check(path: &str, entry_type: EntryType, link: Option<&str>) -> Result<PathBuf, Refusal> {
        classify(
            Path::new(path),
            entry_type,
            0o4755,
            UNIX_EPOCH,
            link.map(PathBuf::from),
        )
        .map(|member| member.rel)
    }

    /// Archive path, entry type, link target, expected relative path or refusal.
    type Case = (
        &'static str,
        EntryType,
        Option<&'static str>,
        Result<&'static str, Refusal>,
    );

    #[test]
    fn classify_members() {
        use EntryType::*;
        let cases: &[Case] = &[
            ("outputs/dist/app", Regular, None, Ok("dist/app")),
            ("./outputs/a", Regular, None, Ok("a")),
            ("outputs/dir", Directory, None, Ok("dir")),
            (
                "outputs/dist/lib.so",
                Symlink,
                Some("lib.so.1"),
                Ok("dist/lib.so"),
            ),
            ("outputs/dist/up", Symlink, Some("../top"), Ok("dist/up")),
            ("outputs/../evil", Regular, None, Err(Refusal::ParentDir)),
            (
                "outputs/.git/hooks/pre-commit",
                Regular,
                None,
                Err(Refusal::GitDir),
            ),
            (
                "outputs/pkg/.Git/config",
                Regular,
                None,
                Err(Refusal::GitDir),
            ),
            ("/etc/passwd", Regular, None, Err(Refusal::AbsolutePath)),
            ("/outputs/x", Regular, None, Err(Refusal::AbsolutePath)),
            ("elsewhere/x", Regular, None, Err(Refusal::UnexpectedMember)),
            ("meta.json", Regular, None, Err(Refusal::UnexpectedMember)),
            ("outputs", Directory, None, Err(Refusal::UnexpectedMember)),
            ("outputs/h", Link, Some("outputs/a"), Err(Refusal::HardLink)),
            ("outputs/c", Char, None, Err(Refusal::Device)),
            ("outputs/b", Block, None, Err(Refusal::Device)),
            ("outputs/f", Fifo, None, Err(Refusal::Fifo)),
            (
                "outputs/s",
                GNUSparse,
                None,
                Err(Refusal::UnsupportedType(b'S')),
            ),
            ("outputs/l", Symlink, None, Err(Refusal::MissingLinkTarget)),
            (
                "outputs/link",
                Symlink,
                Some("../../outside"),
                Err(Refusal::Symlink {
                    target: "../../outside".into(),
                    problem: LinkProblem::Escapes,
                }),
            ),
            (
                "outputs/abs",
                Symlink,
                Some("/etc"),
                Err(Refusal::Symlink {
                    target: "/etc".into(),
                    problem: LinkProblem::Absolute,
                }),
            ),
        ];
        for (path, entry_type, link, expected) in cases {
            assert_eq!(
                check(path, *entry_type, *link),
                expected.clone().map(PathBuf::from),
                "{path}"
            );
        }
    }

    #[test]
    fn classify_drops_special_mode_bits() {
        let member = classify(
            Path::new("outputs/x"),
            EntryType::Regular,
            0o4755,
            UNIX_EPOCH,
            None,
        )
        .unwrap();
        assert!(matches!(member.kind, MemberKind::File { mode: 0o755, .. }));
    }
}

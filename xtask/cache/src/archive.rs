//! The tar stream inside an entry: `meta.json`, `log`, then `outputs/<path>` members
//! (regular files with mode and mtime, symlinks, listed directories), compressed with
//! zstd. Writing lives here; reading the head (meta and log) too. Reading outputs
//! back is `extract`'s job, because that is where the safety checks are.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tar::{EntryType, Header};

use crate::Artifact;
use crate::error::{CacheError, Corruption};
use crate::fsutil::LimitedReader;
use crate::paths;
use crate::tar_guard::TarGuard;

pub(crate) const META_NAME: &str = "meta.json";
pub(crate) const LOG_NAME: &str = "log";
pub(crate) const OUTPUTS_DIR: &str = "outputs";

/// Upper bounds for the two members read into memory on every hit. Store refuses
/// bigger ones, so a valid entry never trips them; a hostile one cannot make a hit
/// allocate without bound. The engine keeps a task's stored log well below
/// `LOG_MAX` (the start and the end of a longer one, with a marker).
pub(crate) const META_MAX: u64 = 64 << 20;
pub(crate) const LOG_MAX: u64 = 8 << 20;

/// What a head member's buffer starts at: its claimed size is checked against the
/// limit but not trusted to size an allocation before the bytes are there.
const HEAD_INITIAL_CAPACITY: u64 = 64 << 10;

/// zstd level 3: the default, fast to compress on every miss and fast to read back.
/// Multithreaded compression stays off (the `zstdmt` feature is not enabled): the
/// scheduler already keeps the cores busy with tasks.
const ZSTD_LEVEL: i32 = 3;

/// Room for tar headers around meta and log when reading only the head.
const HEAD_SLACK: u64 = 1 << 20;

/// An output checked and resolved before the entry is written.
pub(crate) struct PlannedOutput {
    /// Relative to the base directory, plain names only.
    rel: PathBuf,
    full: PathBuf,
}

/// Validates the caller's output list, drops duplicates and sorts it, so parents
/// come before their children and the same outputs always give the same archive.
pub(crate) fn plan_outputs(
    base_dir: &Path,
    outputs: &[PathBuf],
) -> Result<Vec<PlannedOutput>, CacheError> {
    let mut plain = BTreeSet::new();
    for output in outputs {
        let rel = paths::plain_relative(output).ok_or_else(|| CacheError::InvalidOutputPath {
            path: output.clone(),
        })?;
        plain.insert(rel);
    }
    Ok(plain
        .into_iter()
        .map(|rel| PlannedOutput {
            full: base_dir.join(&rel),
            rel,
        })
        .collect())
}

/// Writes the compressed tar of `artifact` to `dst` and returns `dst`.
/// `dst_path` only names the destination in errors.
pub(crate) fn write_body<W: Write>(
    dst: W,
    dst_path: &Path,
    artifact: &Artifact<'_>,
    outputs: &[PlannedOutput],
) -> Result<W, CacheError> {
    let write_err = |source: io::Error| CacheError::Write {
        path: dst_path.to_path_buf(),
        source,
    };
    let encoder = zstd::Encoder::new(dst, ZSTD_LEVEL).map_err(write_err)?;
    let mut builder = tar::Builder::new(encoder);
    append_blob(&mut builder, META_NAME, artifact.meta).map_err(write_err)?;
    append_blob(&mut builder, LOG_NAME, artifact.log).map_err(write_err)?;
    for output in outputs {
        append_output(&mut builder, output, dst_path)?;
    }
    let encoder = builder.into_inner().map_err(write_err)?;
    encoder.finish().map_err(write_err)
}

fn append_blob<W: Write>(builder: &mut tar::Builder<W>, name: &str, data: &[u8]) -> io::Result<()> {
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    builder.append_data(&mut header, name, data)
}

/// How storing one output fails, named after the output (and the entry
/// being written).
struct OutputErrors<'a> {
    full: &'a Path,
    dst_path: &'a Path,
}

impl OutputErrors<'_> {
    fn read(&self, source: io::Error) -> CacheError {
        if source.kind() == io::ErrorKind::NotFound {
            CacheError::MissingOutput {
                path: self.full.to_path_buf(),
            }
        } else {
            CacheError::Read {
                path: self.full.to_path_buf(),
                source,
            }
        }
    }

    fn write(&self, source: io::Error) -> CacheError {
        CacheError::Write {
            path: self.dst_path.to_path_buf(),
            source,
        }
    }

    fn unsupported(&self, reason: String) -> CacheError {
        CacheError::UnsupportedOutput {
            path: self.full.to_path_buf(),
            reason,
        }
    }
}

fn append_output<W: Write>(
    builder: &mut tar::Builder<W>,
    output: &PlannedOutput,
    dst_path: &Path,
) -> Result<(), CacheError> {
    let full = &output.full;
    let errors = OutputErrors { full, dst_path };
    let member = Path::new(OUTPUTS_DIR).join(&output.rel);

    // symlink_metadata: a symlink is stored as a link, never followed.
    let metadata = fs::symlink_metadata(full).map_err(|e| errors.read(e))?;
    let file_type = metadata.file_type();
    let mut header = Header::new_gnu();
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(0);
    header.set_mtime(mtime_parts(&metadata).0);

    if file_type.is_file() {
        append_regular_file(builder, header, &member, &errors)
    } else if file_type.is_symlink() {
        let target = fs::read_link(full).map_err(|e| errors.read(e))?;
        // Never store what restore would refuse: the entry would be unusable.
        paths::check_link_target(&output.rel, &target).map_err(|problem| {
            errors.unsupported(format!("symlink target {} {problem}", target.display()))
        })?;
        header.set_entry_type(EntryType::Symlink);
        header.set_mode(0o777);
        builder
            .append_link(&mut header, &member, &target)
            .map_err(|e| errors.write(e))
    } else if file_type.is_dir() {
        // A listed directory is stored as itself only (so that empty directories
        // survive); its contents are stored when the caller lists them.
        header.set_entry_type(EntryType::Directory);
        header.set_mode(file_mode(&metadata));
        builder
            .append_data(&mut header, &member, io::empty())
            .map_err(|e| errors.write(e))
    } else {
        Err(errors.unsupported("it is not a regular file, a directory or a symlink".into()))
    }
}

fn append_regular_file<W: Write>(
    builder: &mut tar::Builder<W>,
    mut header: Header,
    member: &Path,
    errors: &OutputErrors<'_>,
) -> Result<(), CacheError> {
    let file = File::open(errors.full).map_err(|e| errors.read(e))?;
    // Size and mode from the open file, so they match the bytes we read.
    let metadata = file.metadata().map_err(|e| errors.read(e))?;
    if !metadata.is_file() {
        return Err(errors.unsupported("it changed while being stored".into()));
    }
    let (secs, nanos) = mtime_parts(&metadata);
    header.set_mtime(secs);
    header.set_entry_type(EntryType::Regular);
    header.set_size(metadata.len());
    header.set_mode(file_mode(&metadata));
    if nanos != 0 {
        // tar headers hold whole seconds; a pax record keeps the nanoseconds, which
        // mtime-based freshness checks (cargo's among them) compare.
        let value = format!("{secs}.{nanos:09}");
        builder
            .append_pax_extensions([("mtime", value.as_bytes())])
            .map_err(|e| errors.write(e))?;
    }
    let mut source = SourceReader::new(file, metadata.len());
    match builder.append_data(&mut header, member, &mut source) {
        Ok(()) => Ok(()),
        Err(err) => match source.error.take() {
            Some(source) if source.kind() == io::ErrorKind::UnexpectedEof => {
                Err(errors.unsupported("it shrank while being stored".into()))
            }
            Some(source) => Err(errors.read(source)),
            None => Err(errors.write(err)),
        },
    }
}

/// Splits a modification time into whole seconds and nanoseconds since the epoch;
/// times before 1970 (or unknown) become 0.
fn mtime_parts(metadata: &fs::Metadata) -> (u64, u32) {
    metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map(|d| (d.as_secs(), d.subsec_nanos()))
        .unwrap_or((0, 0))
}

/// Permission bits to store. Only `rwx` for user/group/other: setuid, setgid and
/// sticky bits have no business in build outputs and must not come back on restore.
fn file_mode(metadata: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.permissions().mode() & 0o777
    }
    #[cfg(not(unix))]
    {
        match (metadata.is_dir(), metadata.permissions().readonly()) {
            (true, _) => 0o755,
            (false, true) => 0o444,
            (false, false) => 0o644,
        }
    }
}

/// Reads exactly `len` bytes of an output file and remembers its own I/O error, so
/// a failure can be blamed on the output (naming it) rather than on the cache file.
struct SourceReader {
    inner: BufReader<io::Take<File>>,
    remaining: u64,
    error: Option<io::Error>,
}

impl SourceReader {
    fn new(file: File, len: u64) -> Self {
        SourceReader {
            // A large buffer lets `io::copy` hand the compressor big chunks.
            inner: BufReader::with_capacity(256 * 1024, file.take(len)),
            remaining: len,
            error: None,
        }
    }
}

impl Read for SourceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = match self.inner.read(buf) {
            // The header already promised `len` bytes: a short file would corrupt
            // the tar stream, so it is an error, not an end.
            Ok(0) if self.remaining > 0 && !buf.is_empty() => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "output shrank while being stored",
            )),
            other => other,
        };
        match result {
            Ok(n) => {
                self.remaining -= n as u64;
                Ok(n)
            }
            Err(err) => {
                let reported = io::Error::new(err.kind(), err.to_string());
                self.error = Some(err);
                Err(reported)
            }
        }
    }
}

/// Reads `meta.json` and `log`, which come first in every entry. Call it only after
/// the hash check: it parses, it does not verify.
pub(crate) fn read_head(body: impl Read) -> Result<(Vec<u8>, Vec<u8>), Corruption> {
    crate::decoder::with_decoder(body, |decoder| {
        let limited = LimitedReader::new(decoder, META_MAX + LOG_MAX + HEAD_SLACK);
        let mut archive = tar::Archive::new(TarGuard::new(limited));
        let mut entries = archive.entries_with_seek().map_err(archive_error)?;
        let meta = read_head_member(entries.next(), META_NAME, META_MAX)?;
        let log = read_head_member(entries.next(), LOG_NAME, LOG_MAX)?;
        Ok((meta, log))
    })
    .map_err(archive_error)?
}

/// Checks that the next member is the expected head member and reads it.
pub(crate) fn read_head_member<R: Read>(
    next: Option<io::Result<tar::Entry<'_, R>>>,
    name: &str,
    max: u64,
) -> Result<Vec<u8>, Corruption> {
    let mut entry = check_head_member(next, name, max)?;
    let size = entry.size();
    let capacity = size.min(HEAD_INITIAL_CAPACITY);
    let mut data = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    // `take`: the tar crate already stops at `size`, this says so here too.
    (&mut entry)
        .take(size)
        .read_to_end(&mut data)
        .map_err(archive_error)?;
    if data.len() as u64 != size {
        return Err(Corruption::Archive(format!("{name} is truncated")));
    }
    Ok(data)
}

/// Checks that the next member is the expected head member, without reading it.
pub(crate) fn check_head_member<'a, R: Read>(
    next: Option<io::Result<tar::Entry<'a, R>>>,
    name: &str,
    max: u64,
) -> Result<tar::Entry<'a, R>, Corruption> {
    let entry = next
        .ok_or_else(|| Corruption::Archive(format!("{name} is missing")))?
        .map_err(archive_error)?;
    if entry.header().entry_type() != EntryType::Regular || *entry.path_bytes() != *name.as_bytes()
    {
        return Err(Corruption::Archive(format!(
            "expected {name}, found {}",
            crate::error::quote_name(&entry.path_bytes())
        )));
    }
    if entry.size() > max {
        return Err(Corruption::Archive(format!(
            "{name} is larger than {max} bytes"
        )));
    }
    Ok(entry)
}

/// The `tar` crate's messages may quote archive bytes (a header's path): they
/// are bounded and escaped like any name.
pub(crate) fn archive_error(err: io::Error) -> Corruption {
    Corruption::Archive(crate::error::quote_message(&err.to_string()))
}

/// The time a tar member was modified: the header's seconds, refined by a pax
/// `mtime` record when there is one.
pub(crate) fn member_mtime(header_secs: u64, pax_mtime: Option<&str>) -> SystemTime {
    let from_pax = pax_mtime.and_then(|value| {
        let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
        let secs: u64 = secs.parse().ok()?;
        let digits: String = frac.chars().take(9).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let nanos: u32 = if digits.is_empty() {
            0
        } else {
            format!("{digits:0<9}").parse().ok()?
        };
        UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
    });
    from_pax.unwrap_or_else(|| {
        UNIX_EPOCH
            .checked_add(std::time::Duration::from_secs(header_secs))
            .unwrap_or(UNIX_EPOCH)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pax_mtime_parsing() {
        let at = |secs, nanos| UNIX_EPOCH + Duration::new(secs, nanos);
        assert_eq!(member_mtime(5, None), at(5, 0));
        assert_eq!(member_mtime(5, Some("7")), at(7, 0));
        assert_eq!(member_mtime(5, Some("7.5")), at(7, 500_000_000));
        assert_eq!(member_mtime(5, Some("7.000000001")), at(7, 1));
        assert_eq!(member_mtime(5, Some("7.0000000019")), at(7, 1));
        assert_eq!(member_mtime(5, Some("-7.5")), at(5, 0));
        assert_eq!(member_mtime(5, Some("7.x")), at(5, 0));
    }
}

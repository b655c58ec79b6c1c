//! A bounded look at the raw tar stream before the `tar` crate parses it.
//!
//! The `tar` crate reads GNU long-name (`L`) and long-link (`K`) records and pax
//! records (`x`) into memory whole, sized by their own header: a 256 MiB name
//! record compresses to a few KiB. `TarGuard` sits between the decompressor and
//! the `tar` crate, watches every 512-byte header go by, and fails the read that
//! would hand over a header whose extension record is larger than a small limit,
//! before anyone asks for its data. It holds one header block and at most one
//! bounded pax record, never more.
//!
//! To stay in step with the `tar` crate it must know where each header starts,
//! which a pax `size` record (or a GNU sparse header's extension blocks) would
//! move. Entries we write use pax only for `mtime` and are never sparse, so
//! anything else is refused here rather than modelled.

use std::io::{self, Read, Seek, SeekFrom};

/// Longest GNU long-name or long-link record accepted: Linux's `PATH_MAX`.
pub(crate) const LONG_NAME_MAX: u64 = 4096;
/// Largest pax record accepted (ours hold one `mtime` of about 30 bytes).
pub(crate) const PAX_MAX: u64 = 8192;
/// The only pax key our entries use.
const PAX_KEY_ALLOWED: &str = "mtime";

const BLOCK: u64 = 512;

pub(crate) struct TarGuard<R> {
    inner: R,
    /// Bytes handed on so far: the position in the tar stream.
    pos: u64,
    /// Where the next header block starts.
    next_header: u64,
    header: [u8; BLOCK as usize],
    header_fill: usize,
    /// The data of a pax record being collected, and where it ends.
    pax: Option<(Vec<u8>, u64)>,
    /// Set once the stream was refused: every later read fails the same way.
    refused: Option<String>,
}

impl<R: Read> TarGuard<R> {
    pub(crate) fn new(inner: R) -> Self {
        TarGuard {
            inner,
            pos: 0,
            next_header: 0,
            header: [0; BLOCK as usize],
            header_fill: 0,
            pax: None,
            refused: None,
        }
    }

    /// Follows the bytes `chunk`, which start at `self.pos`.
    fn watch(&mut self, mut chunk: &[u8]) -> Result<(), String> {
        while !chunk.is_empty() {
            if self.pos < self.next_header {
                // Member data: skipped, except a pax record's, which is kept.
                let n = chunk
                    .len()
                    .min(usize::try_from(self.next_header - self.pos).unwrap_or(usize::MAX));
                if let Some((data, end)) = &mut self.pax {
                    let wanted =
                        usize::try_from(end.saturating_sub(self.pos)).unwrap_or(usize::MAX);
                    data.extend_from_slice(&chunk[..n.min(wanted)]);
                    if self.pos + n as u64 >= *end {
                        let (data, _) = self.pax.take().unwrap_or_default();
                        check_pax(&data)?;
                    }
                }
                self.pos += n as u64;
                chunk = &chunk[n..];
                continue;
            }
            let n = chunk.len().min(self.header.len() - self.header_fill);
            self.header[self.header_fill..self.header_fill + n].copy_from_slice(&chunk[..n]);
            self.header_fill += n;
            self.pos += n as u64;
            chunk = &chunk[n..];
            if self.header_fill == self.header.len() {
                self.header_fill = 0;
                self.next_header = self.pos + padded(header_data_len(&self.header)?)?;
                if self.header[156] == b'x' {
                    let end = self.pos + header_data_len(&self.header)?;
                    if end == self.pos {
                        check_pax(&[])?;
                    } else {
                        self.pax = Some((Vec::new(), end));
                    }
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(reason) = &self.refused {
            return Err(io::Error::other(reason.clone()));
        }
        let n = self.inner.read(buf)?;
        if let Err(reason) = self.watch(&buf[..n]) {
            self.refused = Some(reason.clone());
            return Err(io::Error::other(reason));
        }
        Ok(n)
    }
}

/// Forward skips only, made by reading, so every skipped byte is still
/// watched: with it the `tar` crate skips through `seek` (`entries_with_seek`)
/// instead of zeroing a 32 KiB buffer for every member it passes, which was
/// 9% of a 300-crate warm hit's instructions. Skips are a member's padding or
/// data left unread; a large one reads through a buffer as large as tar's.
impl<R: Read> Seek for TarGuard<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let forward = match pos {
            SeekFrom::Current(amt) => u64::try_from(amt).ok(),
            SeekFrom::Start(_) | SeekFrom::End(_) => None,
        };
        let Some(mut left) = forward else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a tar stream only skips forward",
            ));
        };
        let mut small = [0u8; BLOCK as usize];
        let mut large = Vec::new();
        while left > 0 {
            let buf: &mut [u8] = if left <= BLOCK {
                &mut small
            } else {
                if large.is_empty() {
                    large =
                        vec![0u8; SKIP_BUFFER.min(usize::try_from(left).unwrap_or(SKIP_BUFFER))];
                }
                &mut large
            };
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = self.read(&mut buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "unexpected EOF during skip",
                ));
            }
            left -= n as u64;
        }
        Ok(self.pos)
    }
}

/// The buffer of a long skip: the `tar` crate's own size.
const SKIP_BUFFER: usize = 32 * 1024;

/// How many data bytes follow a header, after checking the limits of its kind.
fn header_data_len(header: &[u8; BLOCK as usize]) -> Result<u64, String> {
    if header.iter().all(|&b| b == 0) {
        // End-of-archive marker: no data follows.
        return Ok(0);
    }
    let size = parse_size(&header[124..136])?;
    let limit = match header[156] {
        b'L' => Some(("a GNU long-name record", LONG_NAME_MAX)),
        b'K' => Some(("a GNU long-link record", LONG_NAME_MAX)),
        b'x' => Some(("a pax record", PAX_MAX)),
        b'g' => {
            return Err("the archive holds a pax global header, which entries never use".into());
        }
        b'S' => {
            return Err("the archive holds a GNU sparse member, which entries never use".into());
        }
        _ => None,
    };
    if let Some((what, max)) = limit
        && size > max
    {
        return Err(format!(
            "the archive holds {what} of {size} bytes, over the limit of {max}"
        ));
    }
    Ok(size)
}

fn padded(size: u64) -> Result<u64, String> {
    size.checked_add(BLOCK - 1)
        .map(|s| s & !(BLOCK - 1))
        .ok_or_else(|| "a member size overflows".to_string())
}

/// The size field as the `tar` crate reads it: octal text, or base-256 when the
/// high bit of the first byte is set.
fn parse_size(field: &[u8]) -> Result<u64, String> {
    if field[0] & 0x80 != 0 {
        // Base-256: the last 8 bytes, big-endian (as the `tar` crate does).
        let tail = &field[field.len() - 8..];
        return Ok(tail.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)));
    }
    let text = match field.iter().position(|&b| b == 0) {
        Some(end) => &field[..end],
        None => field,
    };
    std::str::from_utf8(text)
        .ok()
        .and_then(|text| u64::from_str_radix(text.trim(), 8).ok())
        .ok_or_else(|| "a member header has an unreadable size".to_string())
}

/// Refuses pax records with anything but an `mtime`: a `size` record would move
/// where the `tar` crate looks for the next header, and a `path` one would give a
/// member a second name.
fn check_pax(mut data: &[u8]) -> Result<(), String> {
    let bad = || "the archive holds a malformed pax record".to_string();
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(bad)?;
        if len <= space || len > data.len() || data[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &data[space + 1..len - 1];
        let key = record
            .iter()
            .position(|&b| b == b'=')
            .map(|eq| &record[..eq])
            .ok_or_else(bad)?;
        if key != PAX_KEY_ALLOWED.as_bytes() {
            return Err(format!(
                "the archive holds a pax record for {}, which entries never use",
                crate::error::quote_name(key)
            ));
        }
        data = &data[len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the bytes taken from the source, to prove what was never read.
    struct Counting<'a> {
        data: &'a [u8],
        taken: &'a std::cell::Cell<usize>,
    }

    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.data.read(buf)?;
            self.taken.set(self.taken.get() + n);
            Ok(n)
        }
    }

    fn header(name: &str, kind: tar::EntryType, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(0o644);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        header
    }

    fn stream(blocks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for block in blocks {
            out.extend_from_slice(block);
            let pad = (512 - block.len() % 512) % 512;
            out.extend(std::iter::repeat_n(0u8, pad));
        }
        out.extend_from_slice(&[0; 1024]);
        out
    }

    fn entries(bytes: &[u8]) -> io::Result<Vec<String>> {
        let mut archive = tar::Archive::new(TarGuard::new(bytes));
        let mut names = Vec::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            names.push(String::from_utf8_lossy(&entry.path_bytes()).into_owned());
            io::copy(&mut entry, &mut io::sink())?;
        }
        Ok(names)
    }

    #[test]
    fn a_huge_long_name_is_refused_from_its_header() {
        // The header claims 256 MiB; the data is not even there. The refusal
        // comes when the header is read, with no more than a block or two taken.
        let claim = header("././@LongLink", tar::EntryType::GNULongName, 256 << 20);
        let mut bytes = claim.as_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(b'a', 64 * 1024));
        let taken = std::cell::Cell::new(0);
        let source = Counting {
            data: &bytes,
            taken: &taken,
        };
        let mut archive = tar::Archive::new(TarGuard::new(source));
        let err = archive
            .entries()
            .unwrap()
            .next()
            .unwrap()
            .err()
            .expect("refused");
        assert!(
            err.to_string()
                .contains("long-name record of 268435456 bytes, over the limit of 4096"),
            "{err}"
        );
        assert!(taken.get() <= 64 * 1024, "read {} bytes", taken.get());
    }

    #[test]
    fn accepts_what_store_writes() {
        // A long name, a long link target and a pax mtime: all within limits.
        let long = format!("outputs/{}", "d/".repeat(150));
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_pax_extensions([("mtime", &b"1.5"[..])])
            .unwrap();
        let mut file = tar::Header::new_gnu();
        file.set_size(3);
        file.set_mode(0o644);
        builder
            .append_data(&mut file, format!("{long}file"), &b"abc"[..])
            .unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder
            .append_link(&mut link, "outputs/l", format!("{}x", "y/".repeat(100)))
            .unwrap();
        let bytes = builder.into_inner().unwrap();
        assert_eq!(
            entries(&bytes).unwrap(),
            vec![format!("{long}file"), "outputs/l".to_string()]
        );
    }

    #[test]
    fn refuses_what_would_desynchronise_the_parse() {
        let pax = |records: &[u8]| {
            let h = header("pax", tar::EntryType::XHeader, records.len() as u64);
            let file = header("outputs/a", tar::EntryType::Regular, 0);
            stream(&[h.as_bytes(), records, file.as_bytes()])
        };
        let cases: &[(Vec<u8>, &str)] = &[
            (pax(b"12 size=900\n"), "pax record for size"),
            (pax(b"17 path=/etc/pwd\n"), "pax record for path"),
            (pax(b"99 mtime=1\n"), "malformed pax record"),
            (pax(b"nonsense"), "malformed pax record"),
            (
                stream(&[header("g", tar::EntryType::XGlobalHeader, 0).as_bytes()]),
                "pax global header",
            ),
            (
                stream(&[header("s", tar::EntryType::GNUSparse, 0).as_bytes()]),
                "GNU sparse member",
            ),
            (
                stream(&[header("p", tar::EntryType::XHeader, PAX_MAX + 1).as_bytes()]),
                "pax record of 8193 bytes",
            ),
            (
                stream(&[header("k", tar::EntryType::GNULongLink, LONG_NAME_MAX + 1).as_bytes()]),
                "long-link record of 4097 bytes",
            ),
        ];
        for (bytes, expected) in cases {
            let err = entries(bytes).expect_err(expected);
            assert!(err.to_string().contains(expected), "{err} vs {expected}");
        }
        assert!(entries(&pax(b"13 mtime=1.5\n")).is_ok());
    }

    #[test]
    fn sizes_as_the_tar_crate_reads_them() {
        let mut field = [0u8; 12];
        field[..8].copy_from_slice(b"0000017\0");
        assert_eq!(parse_size(&field), Ok(0o17));
        let mut binary = [0u8; 12];
        binary[0] = 0x80;
        binary[11] = 5;
        binary[4] = 1;
        assert_eq!(parse_size(&binary), Ok((1 << 56) + 5));
        assert!(parse_size(b"zzzzzzzzzzz\0").is_err());
    }

    /// Member names, skipping every member's data unread: the skips go
    /// through the guard's `Seek`.
    fn names_skipping_data(bytes: &[u8]) -> io::Result<Vec<String>> {
        let mut archive = tar::Archive::new(TarGuard::new(bytes));
        let mut names = Vec::new();
        for entry in archive.entries_with_seek()? {
            names.push(String::from_utf8_lossy(&entry?.path_bytes()).into_owned());
        }
        Ok(names)
    }

    #[test]
    fn skipping_through_seek_sees_the_members_reading_sees() {
        let small = vec![b's'; 700];
        let large = vec![b'l'; 100_000];
        let bytes = stream(&[
            header("small", tar::EntryType::Regular, small.len() as u64).as_bytes(),
            &small,
            header("large", tar::EntryType::Regular, large.len() as u64).as_bytes(),
            &large,
            header("empty", tar::EntryType::Regular, 0).as_bytes(),
        ]);
        assert_eq!(
            names_skipping_data(&bytes).unwrap(),
            entries(&bytes).unwrap()
        );
        assert_eq!(
            names_skipping_data(&bytes).unwrap(),
            ["small", "large", "empty"]
        );
        // Cut inside the large member: the skip reports the early end.
        let cut = &bytes[..512 + 1024 + 512 + 50_000];
        let err = names_skipping_data(cut).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
    }

    #[test]
    fn a_skipped_member_is_still_watched() {
        // A member whose data is skipped, then a header that must be refused:
        // skipping by seek must not lose the guard's place in the stream.
        let data = vec![b'd'; 40_000];
        let bytes = stream(&[
            header("skipped", tar::EntryType::Regular, data.len() as u64).as_bytes(),
            &data,
            header("././@LongLink", tar::EntryType::GNULongName, 1 << 20).as_bytes(),
        ]);
        let err = names_skipping_data(&bytes).unwrap_err();
        assert!(err.to_string().contains("over the limit of 4096"), "{err}");
    }

    #[test]
    fn seeking_anywhere_but_forward_is_refused() {
        let bytes = [0u8; 1024];
        let mut guard = TarGuard::new(&bytes[..]);
        assert_eq!(guard.seek(SeekFrom::Current(100)).unwrap(), 100);
        for pos in [SeekFrom::Current(-1), SeekFrom::Start(0), SeekFrom::End(0)] {
            let err = guard.seek(pos).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{pos:?}");
        }
        assert_eq!(
            guard.stream_position().unwrap(),
            100,
            "asking the position moves nothing"
        );
    }
}

//! zstd decoding with this thread's decompression context. Creating one
//! allocates and clears ~160 KiB (and its input buffer another 128 KiB, a
//! fresh mapping each time); a warm run reads the head of one entry per task,
//! so it pays that once per thread instead of once per entry.

use std::cell::RefCell;
use std::io::{self, BufReader, Read};

use zstd::zstd_safe::DCtx;

/// The compressed bytes read per call: entry heads are small, and a smaller
/// buffer is one that malloc keeps instead of mapping it anew each time.
const INPUT_BUFFER: usize = 32 * 1024;

thread_local! {
    static CONTEXT: RefCell<Option<DCtx<'static>>> = const { RefCell::new(None) };
}

/// Runs `read` on a zstd decoder of `body`. The context is reset before each
/// use (zstd's `with_context` does), so nothing of an earlier stream leaks in.
pub(crate) fn with_decoder<T>(
    body: impl Read,
    read: impl FnOnce(&mut dyn Read) -> T,
) -> io::Result<T> {
    CONTEXT.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            // Re-entered (a reader inside a reader): a context of its own.
            return Ok(read(&mut zstd::Decoder::new(body)?));
        };
        let context = match slot.as_mut() {
            Some(context) => context,
            None => slot.insert(DCtx::try_create().ok_or_else(|| {
                io::Error::new(io::ErrorKind::OutOfMemory, "cannot create a zstd context")
            })?),
        };
        let buffered = BufReader::with_capacity(INPUT_BUFFER, body);
        Ok(read(&mut zstd::Decoder::with_context(buffered, context)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compress(data: &[u8]) -> Vec<u8> {
        zstd::encode_all(data, 3).unwrap()
    }

    fn decode(body: &[u8]) -> io::Result<Vec<u8>> {
        with_decoder(body, |reader| {
            let mut out = Vec::new();
            reader.read_to_end(&mut out).map(|_| out)
        })?
    }

    #[test]
    fn one_context_decodes_stream_after_stream_even_after_a_broken_one() {
        let big: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        assert_eq!(decode(&compress(b"first")).unwrap(), b"first");
        // A truncated stream mid-frame leaves state in the context...
        let whole = compress(&big);
        assert!(decode(&whole[..whole.len() / 2]).is_err());
        // ...which the next stream does not see.
        assert_eq!(decode(&compress(b"second")).unwrap(), b"second");
        assert_eq!(decode(&whole).unwrap(), big);
    }

    #[test]
    fn a_decoder_inside_a_decoder_gets_a_context_of_its_own() {
        let inner = compress(b"inner");
        let outer = compress(b"outer");
        let (a, b) = with_decoder(&outer[..], |reader| {
            let mut first = Vec::new();
            reader.read_to_end(&mut first).unwrap();
            (first, decode(&inner).unwrap())
        })
        .unwrap();
        assert_eq!((a.as_slice(), b.as_slice()), (&b"outer"[..], &b"inner"[..]));
    }
}

//! zstd decoding with this thread's decompression context and input buffer.
//! Creating a context allocates and clears ~160 KiB, and a fresh `BufReader`
//! zeroes its whole buffer on its first fill; a warm run reads the head of one
//! entry per task, so it pays both once per thread instead of once per entry.

use std::cell::RefCell;
use std::io::{self, BufRead, Read};

use zstd::zstd_safe::DCtx;

/// The compressed bytes read per call: entry heads are small, and a smaller
/// buffer is one that malloc keeps instead of mapping it anew each time.
const INPUT_BUFFER: usize = 32 * 1024;

/// A thread's decoding state, kept between entries.
struct Reused {
    context: DCtx<'static>,
    input: Box<[u8]>,
}

thread_local! {
    static REUSED: RefCell<Option<Reused>> = const { RefCell::new(None) };
}

/// Runs `read` on a zstd decoder of `body`. The context is reset before each
/// use (zstd's `with_context` does), so nothing of an earlier stream leaks in.
pub(crate) fn with_decoder<T>(
    body: impl Read,
    read: impl FnOnce(&mut dyn Read) -> T,
) -> io::Result<T> {
    REUSED.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            // Re-entered (a reader inside a reader): a context of its own.
            return Ok(read(&mut zstd::Decoder::new(body)?));
        };
        let reused = match slot.as_mut() {
            Some(reused) => reused,
            None => slot.insert(Reused {
                context: DCtx::try_create().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::OutOfMemory, "cannot create a zstd context")
                })?,
                input: vec![0u8; INPUT_BUFFER].into_boxed_slice(),
            }),
        };
        let buffered = BorrowedBuffer::new(body, &mut reused.input);
        Ok(read(&mut zstd::Decoder::with_context(
            buffered,
            &mut reused.context,
        )))
    })
}

/// A `BufRead` over a buffer it borrows: what `BufReader` does, without
/// allocating and zeroing a buffer per stream. Bytes left in the buffer when
/// the stream ends are never seen by the next stream, which starts empty.
struct BorrowedBuffer<'b, R> {
    inner: R,
    buf: &'b mut [u8],
    pos: usize,
    filled: usize,
}

impl<'b, R: Read> BorrowedBuffer<'b, R> {
    fn new(inner: R, buf: &'b mut [u8]) -> Self {
        BorrowedBuffer {
            inner,
            buf,
            pos: 0,
            filled: 0,
        }
    }
}

impl<R: Read> Read for BorrowedBuffer<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for BorrowedBuffer<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            self.filled = loop {
                match self.inner.read(self.buf) {
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.filled);
    }
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

    /// Hands out at most `step` bytes per read, and is interrupted once.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        interrupted: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = out.len().min(self.step).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn the_borrowed_buffer_reads_what_it_is_given_in_any_steps() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        for (buffer, step, read_size) in [(16, 3, 7), (7, 16, 5), (1024, 1000, 4096), (5, 5, 1)] {
            let mut buf = vec![0u8; buffer];
            let source = Trickle {
                data: &data,
                step,
                interrupted: false,
            };
            let mut reader = BorrowedBuffer::new(source, &mut buf);
            let mut out = Vec::new();
            let mut chunk = vec![0u8; read_size];
            loop {
                let n = reader.read(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..n]);
            }
            assert_eq!(
                out, data,
                "buffer {buffer}, step {step}, reads of {read_size}"
            );
        }
    }

    #[test]
    fn a_stream_never_sees_the_bytes_an_earlier_one_left_in_the_buffer() {
        // The first stream is followed by garbage that lands in the reused
        // buffer; the second, shorter stream must not decode any of it.
        let mut first = compress(&vec![b'a'; 50_000]);
        first.extend_from_slice(&[0xEE; 4096]);
        let read_frame = |body: &[u8]| {
            with_decoder(body, |reader| {
                let mut out = Vec::new();
                reader.read_to_end(&mut out).map(|_| out)
            })
            .unwrap()
        };
        assert!(read_frame(&first).is_err(), "trailing garbage is an error");
        assert_eq!(read_frame(&compress(b"short")).unwrap(), b"short");
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

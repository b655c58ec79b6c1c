//! Reading the little-endian binary files our runs write for each other
//! (the stat cache, the head index): every read is checked against what is
//! left, so a cut or lying file is `None`, never a panic.

/// A cursor over bytes another run wrote.
pub struct ByteReader<'a> {
    bytes: &'a [u8],
}

impl<'a> ByteReader<'a> {
    pub fn new(bytes: &'a [u8]) -> ByteReader<'a> {
        ByteReader { bytes }
    }

    /// The next `n` bytes, if there are that many.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.bytes.split_at_checked(n)?;
        self.bytes = tail;
        Some(head)
    }

    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// How many bytes are left: what a claimed count is bounded by.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_refuses_past_the_end() {
        let mut reader = ByteReader::new(&[1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(reader.u32(), Some(1));
        assert_eq!(reader.u64(), Some(2));
        assert_eq!(reader.remaining(), 1);
        assert_eq!(reader.u32(), None, "one byte left is not a u32");
        assert_eq!(
            reader.take(1),
            Some(&[9][..]),
            "a refused read consumes nothing"
        );
        assert_eq!(reader.take(1), None);
        assert_eq!(reader.take(0), Some(&[][..]));
    }
}

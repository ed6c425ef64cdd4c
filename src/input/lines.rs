//! Physical line numbers of records, counted the way an editor counts them.
//!
//! `csv`'s own `Position::line` points at the end of the previous record (so it is one short
//! after a CRLF and wrong after skipped blank lines) and does not count a lone CR (old Mac
//! Excel's line ending). So the reader is wrapped in [`LineTracker`], which notes where every
//! CR and LF lies in the stream; the byte range `csv` reports for a record is then mapped to
//! the line its first byte is on.

use std::collections::VecDeque;
use std::io::{self, Read};

/// Counts line breaks the way editors do: LF, CR LF and a lone CR each end one line.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LineCounter {
    /// Line breaks seen so far.
    pub breaks: u64,
    /// The last byte fed was a CR, so an LF right after it ends no further line.
    prev_cr: bool,
}

impl LineCounter {
    pub fn feed(&mut self, bytes: &[u8]) {
        let Some(&last) = bytes.last() else { return };
        let lfs = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let crs = bytes.iter().filter(|&&b| b == b'\r').count() as u64;
        // Only files with CRs need the slower look at what follows each one.
        let crlfs = if crs == 0 && !self.prev_cr {
            0
        } else {
            bytes.windows(2).filter(|pair| pair == b"\r\n").count() as u64
                + u64::from(self.prev_cr && bytes[0] == b'\n')
        };
        self.breaks += crs + lfs - crlfs;
        self.prev_cr = last == b'\r';
    }
}

/// A reader that remembers where the line breaks are in what it has handed out.
pub(crate) struct LineTracker<R> {
    inner: R,
    /// Bytes handed out so far.
    offset: u64,
    prev_cr: bool,
    /// Offset of every CR and LF handed out and not yet accounted to a record, and whether it
    /// starts a new line (the LF of a CR LF does not).
    breaks: VecDeque<(u64, bool)>,
    /// Line breaks accounted so far.
    lines: u64,
    /// Where the last record accounted ends.
    accounted: u64,
    /// How far reading may run ahead of the last record accounted: a record this long has a
    /// quote that is never closed, and reading it whole would hold the rest of the file.
    limit: u64,
    /// Reading stopped at `limit`.
    overflowed: bool,
}

impl<R> LineTracker<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        LineTracker {
            inner,
            offset: 0,
            prev_cr: false,
            breaks: VecDeque::new(),
            lines: 0,
            accounted: 0,
            limit,
            overflowed: false,
        }
    }

    /// Reading stopped because one record ran on for more than the limit.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Accounts the bytes `start..end` that `csv` consumed for one record (blank lines before
    /// it and its terminator included). Returns the lines its first and last byte are on.
    pub fn record(&mut self, start: u64, end: u64) -> (u64, u64) {
        // CR and LF bytes right at the start are blank lines, or the LF of the previous
        // record's CR LF, which `csv` skips before the record begins.
        let mut first = start;
        while let Some(&(at, new_line)) = self.breaks.front() {
            if at > first {
                break;
            }
            self.breaks.pop_front();
            self.lines += u64::from(new_line);
            if at == first {
                first += 1;
            }
        }
        let start_line = self.lines + 1;
        self.accounted = end;
        let mut inside = 0;
        while let Some(&(at, new_line)) = self.breaks.front() {
            if at >= end {
                break;
            }
            self.breaks.pop_front();
            self.lines += u64::from(new_line);
            // The break that ends the record is not inside it.
            if new_line && at + 1 < end {
                inside += 1;
            }
        }
        (start_line, start_line + inside)
    }

    /// The line after the last record accounted (for errors met while reading the next one).
    pub fn next_line(&self) -> u64 {
        self.lines + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.offset - self.accounted > self.limit {
            self.overflowed = true;
            return Err(io::Error::other("a record runs on without end"));
        }
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        // Most blocks hold no line break; this test of a whole block vectorises.
        const BLOCK: usize = 32;
        for (index, block) in bytes.chunks(BLOCK).enumerate() {
            if !block.iter().fold(false, |any, &b| any | (b == b'\n') | (b == b'\r')) {
                continue;
            }
            for (i, &b) in block.iter().enumerate() {
                if b != b'\n' && b != b'\r' {
                    continue;
                }
                let at = index * BLOCK + i;
                let after_cr = if at == 0 { self.prev_cr } else { bytes[at - 1] == b'\r' };
                let new_line = b == b'\r' || !after_cr;
                self.breaks.push_back((self.offset + at as u64, new_line));
            }
        }
        if let Some(&last) = bytes.last() {
            self.prev_cr = last == b'\r';
        }
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `data` with `csv` through a tracker, returning each record's first field and lines.
    fn lines_of(data: &[u8]) -> Vec<(String, u64, u64)> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(7) // tiny, so breaks straddle buffer refills
            .from_reader(LineTracker::new(data, u64::MAX));
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let start = record.position().unwrap().byte();
            let end = reader.position().byte();
            let (first, last) = reader.get_mut().record(start, end);
            out.push((String::from_utf8_lossy(&record[0]).into_owned(), first, last));
        }
        out
    }

    #[test]
    fn records_start_on_the_line_an_editor_shows() {
        type Lines<'a> = &'a [(&'a str, u64, u64)];
        let table: &[(&[u8], Lines)] = &[
            (b"a,b\nc,d\n", &[("a", 1, 1), ("c", 2, 2)]),
            (b"a,b\r\nc,d\r\n", &[("a", 1, 1), ("c", 2, 2)]),
            (b"a,b\rc,d\r", &[("a", 1, 1), ("c", 2, 2)]),
            (b"a,b\n\n\ne,f\n", &[("a", 1, 1), ("e", 4, 4)]),
            (b"a,b\r\n\r\n\r\ne,f", &[("a", 1, 1), ("e", 4, 4)]),
            (b"\n\na\n", &[("a", 3, 3)]),
            (b"a,\"x\ny\nz\"\nc,d\n", &[("a", 1, 3), ("c", 4, 4)]),
            (b"a,\"x\r\ny\"\r\nc,d", &[("a", 1, 2), ("c", 3, 3)]),
            (b"a,\"x\n\n\ny\"\n\nc,d\n", &[("a", 1, 4), ("c", 6, 6)]),
        ];
        for (data, expected) in table {
            let got = lines_of(data);
            let expected: Vec<_> = expected.iter().map(|&(f, a, b)| (f.to_string(), a, b)).collect();
            assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn reading_stops_when_one_record_runs_on_too_long() {
        let data = format!("a,b\nc,\"{}", "x\n".repeat(1000));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .buffer_capacity(16)
            .from_reader(LineTracker::new(data.as_bytes(), 100));
        let mut record = csv::ByteRecord::new();
        assert!(reader.read_byte_record(&mut record).unwrap());
        let end = reader.position().byte();
        assert_eq!(reader.get_mut().record(0, end), (1, 1));
        let error = reader.read_byte_record(&mut record).unwrap_err();
        assert!(matches!(error.kind(), csv::ErrorKind::Io(_)));
        assert!(reader.get_ref().overflowed());
        assert_eq!(reader.get_ref().next_line(), 2);
    }

    #[test]
    fn the_counter_agrees_across_chunks() {
        let data = b"a\r\nb\rc\nd\r\r\ne";
        for split in 0..data.len() {
            let mut counter = LineCounter::default();
            counter.feed(&data[..split]);
            counter.feed(&data[split..]);
            assert_eq!(counter.breaks, 5, "split at {split}");
        }
    }
}

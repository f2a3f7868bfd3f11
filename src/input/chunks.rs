//! Cuts a plain-text input into newline-aligned chunks that begin where a post must
//! begin, so that each chunk can be segmented on its own, in parallel with the others.

use std::io::{self, Read};

use memchr::{memchr_iter, memrchr};

/// A run of whole lines of one input.
#[derive(Clone)]
pub struct Chunk {
    /// The chunk's bytes up to `len`. After them, bytes of earlier reads: the whole
    /// buffer stays initialised, so that it can be read into again without zeroing it.
    buffer: Vec<u8>,
    len: usize,
    /// Number (1-based) of the chunk's first line, counted as `for_each_line` counts.
    pub first_line: u64,
    /// True when a segmenter can start afresh on this chunk: it is the start of the
    /// input or begins at a cut. False when it goes on with the post left open at the end
    /// of the previous chunk (no cut was found before the chunk grew too big).
    pub fresh: bool,
}

impl Chunk {
    /// A whole input read into `buffer`, as one chunk starting at line 1.
    pub fn whole(buffer: Vec<u8>) -> Chunk {
        Chunk {
            len: buffer.len(),
            buffer,
            first_line: 1,
            fresh: true,
        }
    }

    /// The lines of the chunk.
    pub fn bytes(&self) -> &[u8] {
        self.buffer.get(..self.len).unwrap_or_default()
    }

    /// The buffer the chunk was read into, to be handed back to
    /// [`ChunkReader::recycling`].
    pub fn into_buffer(self) -> Vec<u8> {
        self.buffer
    }
}

impl PartialEq for Chunk {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
            && self.first_line == other.first_line
            && self.fresh == other.fresh
    }
}

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunk")
            .field("bytes", &String::from_utf8_lossy(self.bytes()))
            .field("first_line", &self.first_line)
            .field("fresh", &self.fresh)
            .finish()
    }
}

/// Bytes at the end of what has been read in which a cut is looked for, the smaller
/// window first: a chunk then ends near the end of what was read, and only the bytes
/// after the cut are copied into the next chunk. The cut is the first one in a window,
/// so with one window of 64 KiB about a quarter of every 256 KiB block was copied twice;
/// most posts are shorter than the small window, and the large one catches the rest.
const CUT_WINDOWS: [usize; 2] = [8 << 10, 64 << 10];

/// Bytes read per block when looking for a cut: about one parallel task's worth of text.
/// Measured on a 1 GB dump with 2 threads: 256 KiB is as fast as 1 MiB (a little faster:
/// a chunk and its posts stay in cache) with about half the peak memory.
const CHUNK_BLOCK_BYTES: usize = 256 << 10;

/// A chunk in which no cut turns up (a long text without headers) is handed on at this
/// size and continued by the same segmenter, so memory stays bounded.
const MAX_CHUNK_BYTES: usize = 16 << 20;

/// Block and maximum chunk sizes. The integration tests shrink them through
/// `TGCLEAN_CHUNK_BYTES` and `TGCLEAN_MAX_CHUNK_BYTES` to check that chunking never
/// changes the output; nothing else should set them.
pub fn chunk_sizes() -> (usize, usize) {
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (
        var("TGCLEAN_CHUNK_BYTES", CHUNK_BLOCK_BYTES),
        var("TGCLEAN_MAX_CHUNK_BYTES", MAX_CHUNK_BYTES),
    )
}

/// Reads chunks from `reader`. `cut` names the offset of a line (never 0) inside a
/// newline-aligned block where a post starts whatever came before it, if it finds one.
///
/// A block is read with `read` calls into the buffer itself, as large as the block. A
/// `BufReader` no larger than a block then passes them straight to the file (once its
/// buffer is empty) instead of copying every byte through its buffer.
pub struct ChunkReader<R, F> {
    reader: R,
    cut: F,
    /// The chunk being read into, in `pending[..filled]`: it begins at a cut (or is a
    /// continuation) and may end with part of a line. All of `pending` is initialised.
    pending: Vec<u8>,
    filled: usize,
    pending_fresh: bool,
    next_line: u64,
    eof: bool,
    block_bytes: usize,
    max_chunk_bytes: usize,
    /// Buffers of chunks already used, handed back to be read into again: fresh memory
    /// costs a page fault and the kernel's zeroing per page.
    spare: Option<std::sync::mpsc::Receiver<Vec<u8>>>,
}

/// Reads into `buf` until it is full or the input ends. Returns the bytes read, and the
/// error that stopped it early, if any.
fn read_block(reader: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut read = 0;
    while let Some(rest) = buf.get_mut(read..).filter(|r| !r.is_empty()) {
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (read, Some(e)),
        }
    }
    (read, None)
}

impl<R: Read, F: FnMut(&[u8]) -> Option<usize>> ChunkReader<R, F> {
    /// Blocks of `block_bytes` are read and their last lines searched for a cut; a chunk
    /// in which no cut turns up is handed on, as not fresh, once it reaches
    /// `max_chunk_bytes`.
    pub fn new(reader: R, cut: F, block_bytes: usize, max_chunk_bytes: usize) -> Self {
        ChunkReader {
            reader,
            cut,
            pending: Vec::new(),
            filled: 0,
            pending_fresh: true,
            next_line: 1,
            eof: false,
            block_bytes: block_bytes.max(1),
            max_chunk_bytes: max_chunk_bytes.max(1),
            spare: None,
        }
    }

    /// Numbers the lines from `line` on: the reader starts inside an input, at a cut.
    pub fn starting_at_line(mut self, line: u64) -> Self {
        self.next_line = line.max(1);
        self
    }

    /// Reads into the buffers that come back on `spare` when there are any.
    pub fn recycling(mut self, spare: std::sync::mpsc::Receiver<Vec<u8>>) -> Self {
        self.spare = Some(spare);
        self
    }

    /// The queue of buffers given back, to read the next input into them.
    pub fn into_spare(self) -> Option<std::sync::mpsc::Receiver<Vec<u8>>> {
        self.spare
    }

    /// Lines handed out so far.
    pub fn lines_read(&self) -> u64 {
        self.next_line - 1
    }

    /// Hands `buffer[..len]` out as the next chunk, numbering its lines.
    fn emit(&mut self, buffer: Vec<u8>, len: usize, fresh: bool) -> Chunk {
        let chunk = Chunk {
            buffer,
            len,
            first_line: self.next_line,
            fresh,
        };
        self.next_line += count_lines(chunk.bytes());
        chunk
    }

    /// Hands out `pending` up to `at`, keeping the rest as the start of the next chunk.
    fn split_pending(&mut self, at: usize, next_fresh: bool) -> Chunk {
        let kept = self.pending.get(at..self.filled).unwrap_or_default();
        // Room for the kept bytes and a block, so that the next block is read without
        // growing the buffer: growing it copies the whole old allocation.
        let room = kept.len() + self.block_bytes;
        let mut rest = self
            .spare
            .as_ref()
            .and_then(|spare| spare.try_recv().ok())
            .filter(|b| b.len() >= room)
            .unwrap_or_else(|| vec![0; room.max(self.block_bytes + CUT_WINDOWS[1])]);
        if let Some(start) = rest.get_mut(..kept.len()) {
            start.copy_from_slice(kept);
        }
        let kept_len = kept.len();
        let done = std::mem::replace(&mut self.pending, rest);
        self.filled = kept_len;
        let fresh = std::mem::replace(&mut self.pending_fresh, next_fresh);
        self.emit(done, at, fresh)
    }

    /// The next chunk, `None` at the end of the input. On a read error the bytes read
    /// before it are still returned, as chunks after the error.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        loop {
            if self.eof {
                if self.filled == 0 {
                    return Ok(None);
                }
                let buffer = std::mem::take(&mut self.pending);
                let len = std::mem::take(&mut self.filled);
                let fresh = self.pending_fresh;
                return Ok(Some(self.emit(buffer, len, fresh)));
            }
            let before = self.filled;
            let want = before + self.block_bytes;
            if self.pending.len() < want {
                // Only a chunk without cuts (or the first) grows; zeroed once.
                self.pending.resize(want, 0);
            }
            let (read, error) = read_block(
                &mut self.reader,
                self.pending.get_mut(before..want).unwrap_or_default(),
            );
            // What was read before an error stays in `pending`, handed out after it.
            self.filled += read;
            if let Some(e) = error {
                self.eof = true;
                return Err(e);
            }
            if read == 0 {
                self.eof = true;
                continue;
            }
            let filled = self.pending.get(..self.filled).unwrap_or_default();
            // Only whole lines are searched, and a chunk only ends after a line feed.
            let Some(end) = filled
                .get(before..)
                .and_then(|new| memrchr(b'\n', new))
                .map(|i| before + i + 1)
            else {
                continue;
            };
            for window in CUT_WINDOWS {
                let from = line_start_at_or_after(filled, end.saturating_sub(window));
                if let Some(c) = filled
                    .get(from..end)
                    .and_then(|window| (self.cut)(window))
                    .map(|c| from + c)
                    .filter(|&at| at > 0 && at < end)
                {
                    return Ok(Some(self.split_pending(c, true)));
                }
                if from == 0 {
                    // This window already held everything read.
                    break;
                }
            }
            if self.filled >= self.max_chunk_bytes {
                return Ok(Some(self.split_pending(end, false)));
            }
        }
    }
}

/// The first line start of `bytes` at `at` or after it.
fn line_start_at_or_after(bytes: &[u8], at: usize) -> usize {
    if at == 0 {
        return 0;
    }
    memchr::memchr(b'\n', &bytes[at - 1..]).map_or(bytes.len(), |i| at + i)
}

/// Lines in `bytes` as `for_each_line` numbers them: a line ends at LF, CRLF or a lone
/// CR, and a last line without terminator counts too.
pub fn count_lines(bytes: &[u8]) -> u64 {
    if bytes.is_empty() {
        return 0;
    }
    let lf = memchr_iter(b'\n', bytes).count() as u64;
    let mut lone_cr = 0u64;
    for i in memchr_iter(b'\r', bytes) {
        let next = bytes.get(i + 1);
        // A CR before LF, or ending the input, is dropped rather than splitting.
        if next.is_some() && next != Some(&b'\n') {
            lone_cr += 1;
        }
    }
    let unterminated = u64::from(bytes.last() != Some(&b'\n'));
    lf + lone_cr + unterminated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_by_reader(bytes: &[u8]) -> u64 {
        crate::input::for_each_line("t", &mut &bytes[..], |_, _| Ok(()))
            .unwrap()
            .lines
    }

    #[test]
    fn line_counts_agree_with_the_line_reader() {
        for text in [
            "",
            "a",
            "a\n",
            "a\nb",
            "a\r\nb\r\n",
            "a\rb\rc",
            "a\r\rb\n",
            "a\r",
            "\n\n\n",
            "x\r\n\ry\n",
        ] {
            assert_eq!(
                count_lines(text.as_bytes()),
                lines_by_reader(text.as_bytes()),
                "{text:?}"
            );
        }
    }

    /// Cuts before every line that starts with `#`, like a header would.
    fn cut_at_hash(block: &[u8]) -> Option<usize> {
        memchr_iter(b'\n', block)
            .map(|i| i + 1)
            .find(|&i| block.get(i) == Some(&b'#'))
    }

    fn chunks(text: &str, block: usize, max: usize) -> Vec<Chunk> {
        let mut r = ChunkReader::new(text.as_bytes(), cut_at_hash, block, max);
        let mut out = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            out.push(c);
        }
        out
    }

    #[test]
    fn chunks_start_at_cuts_and_cover_the_input() {
        let text = "#a\nx\ny\n#b\nz\n#c\nw\nv\nu\n#d\nlast";
        for block in [1, 3, 5, 8, 100] {
            let got = chunks(text, block, 1 << 20);
            let joined: Vec<u8> = got.iter().flat_map(|c| c.bytes().to_vec()).collect();
            assert_eq!(joined, text.as_bytes(), "block {block}");
            assert!(got.iter().all(|c| c.fresh));
            let mut line = 1;
            for c in &got {
                assert_eq!(c.first_line, line);
                line += count_lines(c.bytes());
                assert_eq!(c.bytes().first(), Some(&b'#'), "block {block}: {c:?}");
            }
        }
        // Big blocks: one chunk per cut found, the rest rides along.
        let got = chunks(text, 100, 1 << 20);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].first_line, 4);
    }

    #[test]
    fn cuts_are_found_near_the_end_of_each_block() {
        const BLOCK: usize = 256 << 10;
        // Posts of 1 KiB: a chunk is all but the last few kilobytes of its block, so
        // little is copied into the next one. (The last two chunks hold what is left
        // when the input ends.)
        let post = "#p\n".to_owned() + &"x".repeat(1020) + "\n";
        let text = post.repeat(1000);
        let got = chunks(&text, BLOCK, 1 << 20);
        assert!(got.len() >= 4);
        for c in &got[..got.len() - 2] {
            assert!(c.bytes().len() > BLOCK - (8 << 10), "{}", c.bytes().len());
            assert_eq!(c.bytes().first(), Some(&b'#'));
        }
        // Posts of 40 KiB: the small window mostly holds no cut, the large one does.
        let post = "#p\n".to_owned() + &"y\n".repeat(20 << 10);
        let text = post.repeat(40);
        let got = chunks(&text, BLOCK, 1 << 20);
        assert!(got.len() >= 4);
        for c in &got[..got.len() - 2] {
            let len = c.bytes().len();
            assert!(
                len > BLOCK - (64 << 10) && len < BLOCK + (64 << 10),
                "{len}"
            );
            assert_eq!(c.bytes().len() % post.len(), 0);
        }
        let joined: Vec<u8> = got.iter().flat_map(|c| c.bytes().to_vec()).collect();
        assert_eq!(joined, text.as_bytes());
    }

    #[test]
    fn recycled_buffers_give_the_same_chunks_with_room_for_a_block() {
        // Buffers come back with stale bytes in them, or too small to read a block into
        // (those are not used: growing a buffer copies all of its old allocation).
        let text = "#a\nx\ny\n#b\nz\n#c\nw\nv\nu\n#d\nlast".repeat(20);
        let want = chunks(&text, 7, 1 << 20);
        let (spare, spare_rx) = std::sync::mpsc::channel();
        let mut r = ChunkReader::new(text.as_bytes(), cut_at_hash, 7, 1 << 20).recycling(spare_rx);
        let mut got = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            // The buffer read into next holds what was kept and a block (at the end of
            // the input nothing more is read).
            assert!(
                r.eof || r.pending.len() >= r.filled + 7,
                "kept {} bytes in room for {}",
                r.filled,
                r.pending.len()
            );
            got.push(c.clone());
            let mut used = c.into_buffer();
            used.extend_from_slice(b"stale");
            spare.send(used).unwrap();
            spare.send(Vec::with_capacity(2)).unwrap();
        }
        assert_eq!(got, want);
    }

    #[test]
    fn a_buf_reader_no_larger_than_a_block_reads_straight_into_the_chunks() {
        /// Gives out `text` and remembers where each read that gave bytes wrote them.
        struct Recording<'t> {
            text: &'t [u8],
            targets: std::rc::Rc<std::cell::RefCell<Vec<usize>>>,
        }
        impl Read for Recording<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.text.read(buf)?;
                if n > 0 {
                    self.targets.borrow_mut().push(buf.as_ptr() as usize);
                }
                Ok(n)
            }
        }
        const BLOCK: usize = 64;
        let text = "#a\nx\ny\n#b\nz\n#c\nw\nv\nu\n#d\nlast\n".repeat(40);
        let targets = std::rc::Rc::default();
        let file = Recording {
            text: text.as_bytes(),
            targets: std::rc::Rc::clone(&targets),
        };
        let reader = io::BufReader::with_capacity(BLOCK, file);
        let mut r = ChunkReader::new(reader, cut_at_hash, BLOCK, 1 << 20);
        let mut got = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            got.push(c);
        }
        assert_eq!(got, chunks(&text, BLOCK, 1 << 20));
        // Every read went into a chunk's own buffer, none into the BufReader's.
        let buffers: Vec<std::ops::Range<usize>> = got
            .iter()
            .map(|c| {
                let start = c.buffer.as_ptr() as usize;
                start..start + c.buffer.len()
            })
            .collect();
        let targets = targets.borrow();
        assert!(targets.len() >= text.len() / BLOCK);
        for &t in targets.iter() {
            assert!(buffers.iter().any(|b| b.contains(&t)), "read into {t:#x}");
        }
    }

    #[test]
    fn a_chunk_without_cuts_is_handed_on_when_too_big() {
        let text = "#a\n".to_owned() + &"line\n".repeat(100);
        let got = chunks(&text, 16, 64);
        assert!(got.len() > 3);
        assert!(got[0].fresh);
        assert!(got[1..].iter().all(|c| !c.fresh));
        let joined: Vec<u8> = got.iter().flat_map(|c| c.bytes().to_vec()).collect();
        assert_eq!(joined, text.as_bytes());
    }

    #[test]
    fn a_read_error_keeps_what_was_read() {
        struct Failing(Vec<u8>);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::Error::other("disk gone"));
                }
                let n = buf.len().min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0.drain(..n);
                Ok(n)
            }
        }
        let mut r = ChunkReader::new(
            Failing(b"#a\nx\n#b\ny\npart".to_vec()),
            cut_at_hash,
            4,
            1 << 20,
        );
        let mut got = Vec::new();
        let err = loop {
            match r.next_chunk() {
                Ok(Some(c)) => got.extend_from_slice(c.bytes()),
                Ok(None) => panic!("the error must be reported"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.to_string(), "disk gone");
        while let Some(c) = r.next_chunk().unwrap() {
            got.extend_from_slice(c.bytes());
        }
        assert_eq!(got, b"#a\nx\n#b\ny\npart");
    }
}

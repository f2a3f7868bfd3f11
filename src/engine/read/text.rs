//! The plain-text route of the reader: a reader thread cuts the input into chunks that
//! start where a post must start, the workers segment them in parallel, and the posts
//! come back in input order.

use std::io::{BufRead, Read};

use rayon::prelude::*;

use super::{PostSink, ShardReader};
use crate::config::Format;
use crate::error::Error;
use crate::input::{self, chunk_sizes};
use crate::text::normalise;
use crate::text::post::Post;
use crate::text::post::build_post;
use crate::text::segment::{self, PostSegmenter};

/// Chunks segmented in parallel at once, per worker thread: enough that one slow chunk
/// does not leave the other workers idle, few enough that batches in flight stay small.
const CHUNKS_PER_THREAD: usize = 2;

/// Batches left segmenting while this thread hands on the one before them. With one,
/// the workers ran dry whenever this thread was judging or cutting the next chunks: on
/// 120,000 generated posts it waited on them 1.7 s of a 5.2 s run; with two, 0.3 s, and
/// the whole run took 3–5 % less.
const SEGMENTING_IN_FLIGHT: usize = 2;

/// What one chunk of text gave.
pub(super) struct ChunkPosts {
    posts: Vec<Post>,
    counts: input::FileCounts,
    splits: Vec<u64>,
    /// The segmenter, still holding the chunk's last post open, when the next chunk
    /// continues it.
    open: Option<PostSegmenter>,
}

/// Segments one chunk (lines → display text → posts) and computes its posts' keys. The
/// last post is closed unless `keep_open`.
fn segment_chunk(
    name: &str,
    chunk: &input::Chunk,
    mut segmenter: PostSegmenter,
    keep_open: bool,
) -> ChunkPosts {
    let mut raws = Vec::new();
    let first = chunk.first_line;
    // Reading from memory cannot fail, and `push` never returns an error.
    let counts = input::for_each_line_in(name, chunk.bytes(), |n, line| {
        segmenter.push(first - 1 + n, &normalise::display_text(line), &mut raws);
        Ok(())
    })
    .unwrap_or_default();
    if !keep_open {
        segmenter.finish(&mut raws);
    }
    let splits = std::mem::take(&mut segmenter.splits);
    ChunkPosts {
        posts: raws.into_iter().map(build_post).collect(),
        counts,
        splits,
        open: keep_open.then_some(segmenter),
    }
}

/// The state of one plain-text input between chunks.
struct TextChunks<'n> {
    name: &'n str,
    /// Fresh chunks waiting to be segmented in parallel.
    pending: Vec<input::Chunk>,
    /// The segmenter of a post that goes on in the next chunk.
    open: Option<PostSegmenter>,
    /// Lines where over-long posts were split.
    splits: Vec<u64>,
    /// Where segmented chunks' buffers go back to the reader, to be read into again.
    spare: std::sync::mpsc::Sender<Vec<u8>>,
}

impl<S: PostSink> ShardReader<'_, S> {
    /// Plain text: a reader thread cuts the input into chunks that start where a post
    /// must start ([`segment::find_cut`]); the workers segment chunks and compute keys in
    /// parallel; this thread hands the posts on in input order.
    ///
    /// A file of `whole_len` bytes (given when it is one of several inputs) no bigger
    /// than [`super::INLINE_READ_BLOCKS`] blocks goes to one worker whole
    /// ([`Self::read_small_text`]). Of any other input, the first
    /// [`super::INLINE_READ_BLOCKS`] blocks are cut on this thread and a reader thread is started
    /// only for the rest: one started cold, with nothing read ahead, would be waited on
    /// at every small compressed file or standard input.
    pub(super) fn read_text(
        &mut self,
        reader: Box<dyn BufRead + Send>,
        first_line: u64,
        whole_len: Option<u64>,
    ) -> Result<(), Error> {
        let (block, max) = chunk_sizes();
        let inline_bytes = block.saturating_mul(super::INLINE_READ_BLOCKS);
        if super::read_whole(whole_len) {
            return self.read_small_text(reader);
        }
        self.format = Format::Text;
        let name = self.name.clone();
        let name = name.as_str();
        // Buffers go back and forth between the reader and the workers across inputs:
        // fresh ones would be faulted in anew for each of many small files.
        let (spare, spare_rx) = match self.spare_buffers.take() {
            Some(both) => both,
            None => std::sync::mpsc::channel(),
        };
        let mut text = TextChunks {
            name,
            pending: Vec::new(),
            open: None,
            splits: Vec::new(),
            spare: spare.clone(),
        };
        let mut chunks = input::ChunkReader::new(reader, segment::find_cut, block, max)
            .starting_at_line(first_line)
            .recycling(spare_rx);
        let read_error_at = |chunks: &input::ChunkReader<_, _>, source| Error::Read {
            path: name.to_owned(),
            line: chunks.lines_read() + 1,
            source,
        };
        let mut read_error = None;
        let mut processed = Ok(());
        // The start of the input is cut on this thread.
        let mut inline = 0;
        let mut finished = false;
        while inline < inline_bytes && processed.is_ok() {
            match chunks.next_chunk() {
                Ok(Some(chunk)) => {
                    inline += chunk.bytes().len();
                    processed = self.take_chunk(&mut text, chunk);
                }
                Ok(None) => finished = true,
                // What was read before the error still comes after it.
                Err(e) => read_error = Some(read_error_at(&chunks, e)),
            }
            if finished {
                break;
            }
        }
        let spare_rx = if finished || processed.is_err() {
            if processed.is_ok() {
                processed = self.end_text(&mut text);
            }
            chunks.into_spare()
        } else {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<input::Chunk, Error>>(
                CHUNKS_PER_THREAD * self.config.threads.max(1),
            );
            std::thread::scope(|scope| {
                // Named, so that profiles show the reading apart from the rest.
                let producer = std::thread::Builder::new()
                    .name("tgclean-reader".into())
                    .spawn_scoped(scope, move || {
                        loop {
                            let next = match chunks.next_chunk() {
                                Ok(Some(chunk)) => Ok(chunk),
                                Ok(None) => return chunks.into_spare(),
                                Err(e) => Err(read_error_at(&chunks, e)),
                            };
                            if tx.send(next).is_err() {
                                return None;
                            }
                        }
                    })
                    .map_err(|e| Error::Config(format!("cannot start the reader thread: {e}")))?;
                for next in &rx {
                    processed = match next {
                        Ok(chunk) => self.take_chunk(&mut text, chunk),
                        Err(e) => {
                            read_error = Some(e);
                            Ok(())
                        }
                    };
                    if processed.is_err() {
                        break;
                    }
                }
                if processed.is_ok() {
                    processed = self.end_text(&mut text);
                }
                // Dropping the queue stops a reader that is still going (after an error here).
                drop(rx);
                match producer.join() {
                    Ok(spare_rx) => Ok(spare_rx),
                    Err(_) => {
                        read_error =
                            Some(Error::Config(format!("{name}: the reader thread failed")));
                        Ok(None)
                    }
                }
            })?
        };
        self.spare_buffers = spare_rx.map(|rx| (spare, rx));
        self.text_read(text, processed, read_error)
    }

    /// A small text input of several (see [`super::INLINE_READ_BLOCKS`]): read and segmented
    /// whole by one worker (another input may be on the other workers), its posts handed
    /// on in order with the batches around it.
    /// Splitting it into chunks would buy no parallelism that the inputs after it do not
    /// give, and reading it on this thread would hold up the judging.
    pub(super) fn read_small_text(
        &mut self,
        mut reader: Box<dyn BufRead + Send>,
    ) -> Result<(), Error> {
        self.format = Format::Text;
        let name: std::sync::Arc<str> = self.name.as_str().into();
        let job_name = std::sync::Arc::clone(&name);
        let segmenter = self.text_segmenter(true);
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.pool.spawn(move || {
            let mut bytes = Vec::new();
            let read_error = reader.read_to_end(&mut bytes).err();
            let chunk = input::Chunk::whole(bytes);
            let done = segment_chunk(&job_name, &chunk, segmenter, false);
            let read_error = read_error.map(|source| Error::Read {
                path: job_name.to_string(),
                line: done.counts.lines + 1,
                source,
            });
            // The receiver is gone only when the run has stopped.
            let _ = tx.send((done, read_error));
        });
        self.working.push_back(super::Working {
            batch: super::Batch::Whole(rx),
            file: self.file,
            name,
            format: Format::Text,
        });
        self.take_worked(SEGMENTING_IN_FLIGHT).map(|_| ())
    }

    /// At the end of an input: either chunks wait, or a post left open by the last chunk
    /// does. The last batches may still be segmenting when the next input starts: they
    /// are handed on with this input's name.
    fn end_text(&mut self, text: &mut TextChunks<'_>) -> Result<(), Error> {
        if text.open.is_some() {
            self.take_worked(0)?;
            self.close_open_post(text)
        } else {
            self.flush_chunks(text, false)
        }
    }

    /// What reading an input came to: the posts split for their length reported, then
    /// the failure to hand posts on, or else the read error, if any.
    fn text_read(
        &mut self,
        mut text: TextChunks<'_>,
        processed: Result<(), Error>,
        read_error: Option<Error>,
    ) -> Result<(), Error> {
        processed?;
        self.report_splits(text.name, std::mem::take(&mut text.splits));
        match read_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Counts the posts split at `lines` of `name` for being too long, and says where.
    fn report_splits(&mut self, name: &str, lines: Vec<u64>) {
        for line in lines {
            self.stats.split_posts += 1;
            if self.report {
                eprintln!(
                    "tgclean: {name}:{line}: post longer than {} bytes, split here (--max-post-bytes)",
                    self.config.max_post_bytes
                );
            }
        }
    }

    /// A segmenter for a chunk: one that starts an input, or one that starts at a cut.
    fn text_segmenter(&self, input_start: bool) -> PostSegmenter {
        let segmenter = if input_start {
            PostSegmenter::new()
        } else {
            PostSegmenter::after_cut()
        };
        segmenter
            .explaining(self.config.explain.is_some())
            .sketching(self.sketch_posts)
            .max_post_bytes(self.config.max_post_bytes)
    }

    /// Queues a fresh chunk for parallel segmentation, or continues the open post with a
    /// chunk that is not fresh.
    fn take_chunk(&mut self, text: &mut TextChunks<'_>, chunk: input::Chunk) -> Result<(), Error> {
        if chunk.fresh {
            self.close_open_post(text)?;
            text.pending.push(chunk);
            if text.pending.len() >= CHUNKS_PER_THREAD * self.config.threads.max(1) {
                self.flush_chunks(text, false)?;
            }
            return Ok(());
        }
        if text.open.is_none() {
            self.flush_chunks(text, true)?;
            // The last of those chunks leaves open the post this one continues.
            let open = self.take_worked(0)?;
            text.open = text.open.take().or(open);
        }
        let segmenter = match text.open.take() {
            Some(s) => s,
            None => self.text_segmenter(chunk.first_line == 1),
        };
        let done = segment_chunk(text.name, &chunk, segmenter, true);
        let (posts, open) = self.count_chunks(text.name, vec![done]);
        text.open = open;
        self.hand_on(posts)
    }

    /// Closes the post a continued chunk left open, if any, and hands it on.
    fn close_open_post(&mut self, text: &mut TextChunks<'_>) -> Result<(), Error> {
        let Some(mut open) = text.open.take() else {
            return Ok(());
        };
        let mut raws = Vec::new();
        open.finish(&mut raws);
        text.splits.append(&mut open.splits);
        self.hand_on(raws.into_iter().map(build_post).collect())
    }

    /// Hands the queued chunks to the workers to segment in parallel, and hands on the
    /// batches segmented before them, in order, down to [`SEGMENTING_IN_FLIGHT`]. With
    /// `keep_last_open`, the last chunk's open post is kept for the chunk that continues
    /// it.
    fn flush_chunks(
        &mut self,
        text: &mut TextChunks<'_>,
        keep_last_open: bool,
    ) -> Result<(), Error> {
        if text.pending.is_empty() {
            return Ok(());
        }
        let chunks = std::mem::take(&mut text.pending);
        let last = chunks.len() - 1;
        let segmenters: Vec<PostSegmenter> = chunks
            .iter()
            .map(|c| self.text_segmenter(c.first_line == 1))
            .collect();
        let name = text.name.to_owned();
        let spare = text.spare.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.pool.spawn(move || {
            let done: Vec<ChunkPosts> = chunks
                .par_iter()
                .zip(segmenters)
                .enumerate()
                .map(|(i, (chunk, seg))| {
                    segment_chunk(&name, chunk, seg, keep_last_open && i == last)
                })
                .collect();
            for chunk in chunks {
                // A reader that has finished no longer takes them.
                let _ = spare.send(chunk.into_buffer());
            }
            // The receiver is gone only when the run has stopped.
            let _ = tx.send(done);
        });
        self.working.push_back(super::Working {
            batch: super::Batch::Chunks(rx),
            file: self.file,
            name: text.name.into(),
            format: Format::Text,
        });
        self.take_worked(SEGMENTING_IN_FLIGHT).map(|_| ())
    }

    /// Counts what the chunks of input `name` read and reports the lines where they
    /// split posts; their posts in order, and the post the last one left open.
    pub(super) fn count_chunks(
        &mut self,
        name: &str,
        done: Vec<ChunkPosts>,
    ) -> (Vec<Post>, Option<PostSegmenter>) {
        // Sized once: appended to from empty, the list was copied again at each doubling
        // (a post is 488 bytes), on this thread, which every batch goes through.
        let mut posts = Vec::with_capacity(done.iter().map(|d| d.posts.len()).sum());
        let mut open = None;
        let mut splits = Vec::new();
        for mut d in done {
            posts.append(&mut d.posts);
            self.stats.bytes += d.counts.bytes;
            self.stats.invalid_utf8 += d.counts.invalid_utf8;
            splits.append(&mut d.splits);
            if d.open.is_some() {
                open = d.open;
            }
        }
        self.report_splits(name, splits);
        (posts, open)
    }
}

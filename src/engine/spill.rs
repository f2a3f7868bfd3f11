//! Keeps the posts of a run's first pass, batch by batch, so that the second pass
//! replays them instead of reading and parsing every input again.
//!
//! A rule decided over the whole run (channel boilerplate) needs every post seen before
//! the first one is written. Parsing is most of a run's cost, so a second parse would
//! nearly double it. The built posts are held in memory up to a budget
//! (`--pass-memory`); the batches after it are encoded on the workers into an unnamed
//! temporary file and decoded on the workers when replayed. Held posts cost nothing to
//! keep; the file costs about half of a parse on the machine measured (writing and
//! reading the page cache, encoding, UTF-8 checks), which is still less than parsing
//! again. The file is opened with `O_TMPFILE` where the system has it (through
//! `tempfile::tempfile`), so it has no name and goes away with the process, even a
//! killed one.
//!
//! The frame is the batch's length (`u64`, little-endian) then the postcard form of
//! `(input index, format, posts)`. It never outlives the process, so it has no version.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use super::decide::PostSketcher;
use super::read::{InputAt, PostSink, worker_failed};
use crate::config::Format;
use crate::error::Error;
use crate::input::InputSource;
use crate::text::post::Post;

/// Write and read buffer of the spill file.
const SPILL_BUFFER: usize = 1 << 20;

/// Batches encoded or decoded on the workers at once, per worker: the serial thread
/// writes or judges one while the others are worked on.
const IN_FLIGHT_PER_THREAD: usize = 2;

fn spill_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Config(format!("temporary file of the first pass: {what}: {e}"))
}

type Batch = (u32, Format, Vec<Post>);

/// The posts of a first pass, written in input order; the batches are encoded and
/// decoded on the worker threads.
pub struct Spill<'p> {
    pool: &'p rayon::ThreadPool,
    /// The first batches, while they fit in the budget.
    held: VecDeque<Batch>,
    /// What is left of the budget.
    budget: usize,
    /// Once a batch did not fit, it and every later one go here.
    file: Option<BufWriter<File>>,
    /// Batches being encoded, in input order.
    encoding: VecDeque<Receiver<Result<Vec<u8>, Error>>>,
    in_flight: usize,
    /// Bytes written, for the summary of what the run cost.
    pub bytes: u64,
}

impl<'p> Spill<'p> {
    /// An empty spill holding up to `budget` bytes of posts in memory and the rest in a
    /// file in the system's temporary directory (`TMPDIR`), encoding and decoding on
    /// `pool`.
    pub fn new(pool: &'p rayon::ThreadPool, budget: usize) -> Spill<'p> {
        Spill {
            pool,
            held: VecDeque::new(),
            budget,
            file: None,
            encoding: VecDeque::new(),
            in_flight: IN_FLIGHT_PER_THREAD * pool.current_num_threads().max(1),
            bytes: 0,
        }
    }

    /// Appends one batch of posts read from `at`.
    pub fn push(&mut self, at: InputAt<'_>, posts: Vec<Post>) -> Result<(), Error> {
        let (index, format) = (at.index, at.format);
        if self.file.is_none() {
            let size = posts.iter().map(held_size).sum::<usize>();
            if size <= self.budget {
                self.budget -= size;
                self.held.push_back((index, format, posts));
                return Ok(());
            }
            let file = tempfile::tempfile().map_err(|e| spill_error("cannot create it", e))?;
            self.file = Some(BufWriter::with_capacity(SPILL_BUFFER, file));
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.pool.spawn(move || {
            let encoded = postcard::to_allocvec(&(index, format, &posts))
                .map_err(|e| spill_error("cannot encode a batch", e));
            // The posts are freed here, off the serial thread.
            drop(posts);
            // The receiver is gone only when the run has stopped.
            let _ = tx.send(encoded);
        });
        self.encoding.push_back(rx);
        self.write_encoded(self.in_flight)
    }

    /// Writes encoded batches in order until at most `keep` are left in flight.
    fn write_encoded(&mut self, keep: usize) -> Result<(), Error> {
        while self.encoding.len() > keep {
            let Some(batch) = self.encoding.pop_front() else {
                break;
            };
            let encoded = batch.recv().map_err(|_| worker_failed("spill"))??;
            let len = encoded.len() as u64;
            let Some(file) = self.file.as_mut() else {
                return Err(spill_error("cannot write it", "it was not created"));
            };
            file.write_all(&len.to_le_bytes())
                .and_then(|()| file.write_all(&encoded))
                .map_err(|e| spill_error("cannot write it", e))?;
            self.bytes += 8 + len;
        }
        Ok(())
    }

    /// Hands every batch back to `sink`, in the order they were pushed, naming each
    /// batch's input from `sources`. With a `sketcher`, each post gets its near-duplicate
    /// sketch on a worker first (what the first pass learned is known now).
    pub fn replay(
        mut self,
        sources: &[InputSource],
        sink: &mut impl PostSink,
        sketcher: Option<PostSketcher>,
    ) -> Result<(), Error> {
        self.write_encoded(0)?;
        let mut reader = match self.file.take() {
            Some(file) => {
                let mut file = file
                    .into_inner()
                    .map_err(|e| spill_error("cannot write it", e.error()))?;
                file.seek(SeekFrom::Start(0))
                    .map_err(|e| spill_error("cannot read it back", e))?;
                Some(BufReader::with_capacity(SPILL_BUFFER, file))
            }
            None => None,
        };
        let names: Arc<Vec<String>> = Arc::new(sources.iter().map(|s| s.name.clone()).collect());
        let mut working: VecDeque<Receiver<Result<Batch, Error>>> = VecDeque::new();
        loop {
            while working.len() < self.in_flight {
                // Held batches first, then the file's, each decoded and sketched on a
                // worker.
                let job: Box<dyn FnOnce() -> Result<Batch, Error> + Send> =
                    if let Some(batch) = self.held.pop_front() {
                        if sketcher.is_none() {
                            let (tx, rx) = std::sync::mpsc::sync_channel(1);
                            let _ = tx.send(Ok(batch));
                            working.push_back(rx);
                            continue;
                        }
                        Box::new(move || Ok(batch))
                    } else if let Some(file) = reader.as_mut() {
                        match read_frame(file)? {
                            Some(frame) => Box::new(move || {
                                postcard::from_bytes::<Batch>(&frame)
                                    .map_err(|e| spill_error("a batch is damaged", e))
                            }),
                            None => {
                                reader = None;
                                continue;
                            }
                        }
                    } else {
                        break;
                    };
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                let sketcher = sketcher.clone();
                let names = Arc::clone(&names);
                self.pool.spawn(move || {
                    let batch = job().map(|mut batch| {
                        if let Some(sketcher) = &sketcher {
                            let name = names.get(batch.0 as usize).map_or("", String::as_str);
                            for post in &mut batch.2 {
                                sketcher.sketch(post, name);
                            }
                        }
                        batch
                    });
                    let _ = tx.send(batch);
                });
                working.push_back(rx);
            }
            let Some(next) = working.pop_front() else {
                return Ok(());
            };
            let batch = next.recv().map_err(|_| worker_failed("spill"))??;
            hand_on(sink, sources, batch)?;
        }
    }
}

/// Hands one batch to `sink`, naming its input from `sources`.
fn hand_on(sink: &mut impl PostSink, sources: &[InputSource], batch: Batch) -> Result<(), Error> {
    // A replay of a large run takes a while: Ctrl-C is honoured between batches.
    super::interrupt::check()?;
    let (index, format, posts) = batch;
    let name = sources
        .get(index as usize)
        .map_or("", |source| source.name.as_str());
    sink.posts(
        InputAt {
            index,
            name,
            format,
            read_bytes: 0,
        },
        posts,
    )
}

/// The memory a held post takes: its own size and each of its heap blocks, with the
/// allocator's overhead per block.
fn held_size(post: &Post) -> usize {
    const PER_BLOCK: usize = 16;
    let block = |capacity: usize| {
        if capacity == 0 {
            0
        } else {
            capacity + PER_BLOCK
        }
    };
    let string = |s: &String| block(s.capacity());
    let strings = |v: &Vec<String>| {
        block(v.capacity() * std::mem::size_of::<String>()) + v.iter().map(string).sum::<usize>()
    };
    std::mem::size_of::<Post>()
        + string(&post.text)
        + block(post.paragraphs.capacity() * std::mem::size_of::<crate::text::post::Paragraph>())
        + [
            &post.channel,
            &post.forwarded_from,
            &post.place,
            &post.title,
        ]
        .into_iter()
        .flatten()
        .map(string)
        .sum::<usize>()
        + strings(&post.hashtags)
        + strings(&post.mentions)
        + strings(&post.links)
        + block(post.reactions.capacity() * std::mem::size_of::<(String, u64)>())
        + post.reactions.iter().map(|(r, _)| string(r)).sum::<usize>()
        + block(post.explain.capacity() * std::mem::size_of::<crate::text::reason::Explained>())
        + post.explain.iter().map(|e| string(&e.text)).sum::<usize>()
}

/// The next frame's bytes, or `None` at the end of the file.
fn read_frame(reader: &mut impl Read) -> Result<Option<Vec<u8>>, Error> {
    let mut len = [0u8; 8];
    match reader.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(spill_error("cannot read it back", e)),
    }
    let len = usize::try_from(u64::from_le_bytes(len))
        .map_err(|e| spill_error("a batch is too long", e))?;
    let mut frame = vec![0u8; len];
    reader
        .read_exact(&mut frame)
        .map_err(|e| spill_error("cannot read it back", e))?;
    Ok(Some(frame))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::segment::{ParagraphKind, RawPost};

    /// Collects what is replayed.
    #[derive(Default)]
    struct Collect(Vec<(u32, Format, Vec<Post>)>);

    impl PostSink for Collect {
        fn posts(&mut self, at: InputAt<'_>, posts: Vec<Post>) -> Result<(), Error> {
            self.0.push((at.index, at.format, posts));
            Ok(())
        }
    }

    fn post(texts: &[&str]) -> Post {
        let mut raw = RawPost::default();
        for t in texts {
            raw.push_paragraph(ParagraphKind::Bullet, Some(3), Some("🔹"), None, t);
        }
        raw.date = crate::text::grammar::Date::new(2024, 2, 29);
        raw.channel = Some("chan".into());
        raw.reactions = vec![("👍".into(), 12)];
        crate::text::post::build_post(raw)
    }

    fn replayed(
        budget: usize,
        batches: &[(u32, Format, Vec<Post>)],
    ) -> Vec<(u32, Format, Vec<Post>)> {
        let pool = crate::engine::read::worker_pool(2).unwrap();
        let mut spill = Spill::new(&pool, budget);
        for (index, format, posts) in batches {
            let at = InputAt {
                index: *index,
                name: "x",
                format: *format,
                read_bytes: 0,
            };
            spill.push(at, posts.clone()).unwrap();
        }
        let mut got = Collect::default();
        spill.replay(&[], &mut got, None).unwrap();
        got.0
    }

    fn three_batches() -> Vec<(u32, Format, Vec<Post>)> {
        vec![
            (
                0,
                Format::Text,
                vec![
                    post(&["Hello world", "Second paragraph"]),
                    post(&["Другой"]),
                ],
            ),
            (
                1,
                Format::TgJson,
                vec![post(&[&"A long third post #tag ".repeat(100)])],
            ),
            (1, Format::TgJson, vec![post(&["Fourth"]), post(&["Fifth"])]),
        ]
    }

    #[test]
    fn batches_held_in_memory_come_back_whole_and_in_order() {
        let batches = three_batches();
        assert_eq!(replayed(usize::MAX, &batches), batches);
    }

    #[test]
    fn batches_in_the_file_come_back_whole_and_in_order() {
        let batches = three_batches();
        assert_eq!(replayed(0, &batches), batches);
    }

    #[test]
    fn batches_over_the_budget_follow_the_held_ones() {
        let batches = three_batches();
        // The first batch fits, the second does not; the third is small enough to fit
        // what is left, but must go to the file after the second to keep the order.
        let first: usize = batches[0].2.iter().map(held_size).sum();
        let third: usize = batches[2].2.iter().map(held_size).sum();
        let budget = first + third;
        assert!(batches[1].2.iter().map(held_size).sum::<usize>() > third);
        assert_eq!(replayed(budget, &batches), batches);
    }

    #[test]
    fn an_empty_spill_replays_nothing() {
        assert!(replayed(0, &[]).is_empty());
    }
}

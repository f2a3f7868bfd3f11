//! Plans a sharded run: finds the inputs and cuts their global order into contiguous
//! shards of about equal bytes — whole files, and large plain-text files cut where a post
//! must start, so that each shard reads the same posts the whole run would.

use std::io::{BufReader, Read, Write};

use serde::{Deserialize, Serialize};

use crate::config::{Config, Format};
use crate::error::Error;
use crate::formats::{self, Route};
use crate::input::{self, ChunkReader, InputSource, chunk_sizes};
use crate::text::segment;

/// A byte range of an uncompressed text file that starts where a post must start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextRange {
    /// First byte of the range.
    pub start: u64,
    /// One past its last byte.
    pub end: u64,
    /// Number (1-based) of the line at `start`.
    pub first_line: u64,
}

/// One input of a shard, whole or a range of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// Index into [`Plan::sources`].
    pub source: u32,
    /// `None`: the whole input.
    pub range: Option<TextRange>,
}

/// A contiguous range of the global input order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Position in the global order (0-based).
    pub index: u32,
    /// Its inputs, whole or in part, in input order.
    pub pieces: Vec<Piece>,
}

/// The inputs of a run and their shards.
#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    /// Every input, in the global order.
    pub sources: Vec<InputSource>,
    /// Problems met while finding the inputs (`path: what`), reported before any shard.
    pub errors: Vec<String>,
    /// Files passed over while finding the inputs (`path: why`), noted before any shard.
    pub skipped: Vec<String>,
    /// Media and export assets passed over silently.
    pub media: u64,
    /// The shards, in the global order.
    pub shards: Vec<Shard>,
    /// Standard input, spooled to files so that it can be read twice (the first `-`
    /// gets what stdin held, a later one nothing, as a second read of stdin would).
    #[serde(skip)]
    _spools: Vec<tempfile::TempPath>,
}

/// How big an input is, and whether the plan may cut it.
struct Sized {
    bytes: u64,
    cuttable: bool,
    /// Documents (HTML pages) may continue the page before: never start a shard at one.
    html: bool,
}

fn size_of(source: &InputSource, format: Format) -> Sized {
    let bytes = source.file_len().unwrap_or(0);
    let mut sized = Sized {
        bytes,
        cuttable: false,
        html: false,
    };
    let Some(path) = &source.path else {
        return sized;
    };
    let Ok(file) = std::fs::File::open(path) else {
        return sized;
    };
    let mut head = Vec::with_capacity(8192);
    if file.take(8192).read_to_end(&mut head).is_err() {
        return sized;
    }
    let compressed = head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    let read_as = match format {
        Format::Auto => formats::sniffed_format(input::sniff(&head)),
        forced => Some(forced),
    };
    let route = read_as.map(formats::route);
    // A document may continue the page before it; text lines can be cut at post starts.
    sized.html = matches!(route, Some(Route::Document(_)));
    sized.cuttable = !compressed && matches!(route, Some(Route::Lines));
    sized
}

/// Ranges of a text file that start at the first cut at or after each of `wanted` (byte
/// offsets, ascending), found as the reader itself finds them.
fn cut_text(source: &InputSource, bytes: u64, wanted: &[u64], target: u64) -> Vec<TextRange> {
    let whole = || {
        vec![TextRange {
            start: 0,
            end: bytes,
            first_line: 1,
        }]
    };
    let Some(Ok(file)) = source.path.as_ref().map(std::fs::File::open) else {
        return whole();
    };
    // Any cut the reader could find is a valid one, whatever the block it was found in:
    // blocks of a quarter shard let even small shards be cut near where they should.
    let (block, max) = chunk_sizes();
    let block = block.min(usize::try_from(target / 4).unwrap_or(usize::MAX).max(256));
    let mut chunks = ChunkReader::new(BufReader::new(file), segment::find_cut, block, max);
    let mut starts = vec![(0u64, 1u64)];
    let mut offset = 0u64;
    let mut next = wanted.iter().copied().peekable();
    while let Ok(Some(chunk)) = chunks.next_chunk() {
        if chunk.fresh && offset > 0 && next.peek().is_some_and(|&w| w <= offset) {
            starts.push((offset, chunk.first_line));
            while next.peek().is_some_and(|&w| w <= offset) {
                next.next();
            }
        }
        offset += chunk.bytes().len() as u64;
    }
    let mut ranges = Vec::with_capacity(starts.len());
    for (i, &(start, first_line)) in starts.iter().enumerate() {
        // The last range runs to the end of the file even when reading it stopped early:
        // the reader then meets the same error the whole run would.
        let end = starts.get(i + 1).map_or(offset.max(bytes), |s| s.0);
        ranges.push(TextRange {
            start,
            end,
            first_line,
        });
    }
    ranges
}

/// Finds the inputs of `config` and cuts them into at most `shards` shards of about
/// equal bytes. Standard input (and a FIFO or device named as an input) is spooled to a
/// temporary file that lives as long as the plan, so that it can be read twice.
///
/// ```no_run
/// let config = tgclean::Config {
///     inputs: vec![tgclean::InputSpec::Path("dump.txt".into())],
///     ..tgclean::Config::default()
/// };
/// let plan = tgclean::engine::plan(&config, 8)?;
/// assert!(plan.shards.len() <= 8);
/// # Ok::<(), tgclean::Error>(())
/// ```
pub fn plan(config: &Config, shards: usize) -> Result<Plan, Error> {
    let found = input::discover(&config.inputs, &config.own_files());
    let (mut sources, errors) = (found.sources, found.errors);
    let mut spools = Vec::new();
    let mut stdin_spooled = false;
    for source in &mut sources {
        // Standard input, and a FIFO or device named as an input, can be read only once.
        let once = match &source.path {
            None => true,
            Some(p) => std::fs::metadata(p).is_ok_and(|m| !m.is_file()),
        };
        if !once {
            continue;
        }
        let mut tmp = tempfile::NamedTempFile::new().map_err(|e| spool_error(&source.name, &e))?;
        // Registered before it is filled: a signal while the copy blocks removes it.
        crate::output::temps::register(tmp.path());
        match &source.path {
            None if !stdin_spooled => {
                stdin_spooled = true;
                let mut stdin = std::io::stdin().lock();
                std::io::copy(&mut stdin, &mut tmp).map_err(|e| spool_error("-", &e))?;
            }
            // A second `-` reads nothing, as a second read of stdin would.
            None => {}
            Some(p) => match std::fs::File::open(p) {
                Ok(mut f) => {
                    std::io::copy(&mut f, &mut tmp).map_err(|e| spool_error(&source.name, &e))?;
                }
                // Left as it is: reading it reports the error in its place.
                Err(_) => continue,
            },
        }
        tmp.flush().map_err(|e| spool_error(&source.name, &e))?;
        let path = tmp.into_temp_path();
        source.path = Some(path.to_path_buf());
        spools.push(path);
    }
    let sized: Vec<Sized> = sources.iter().map(|s| size_of(s, config.format)).collect();
    let total: u64 = sized.iter().map(|s| s.bytes).sum();
    let shards = shards.max(1) as u64;
    let target = total.div_ceil(shards).max(1);
    let mut plan_shards: Vec<Shard> = Vec::new();
    let mut current: Vec<Piece> = Vec::new();
    let mut filled = 0u64;
    let close = |current: &mut Vec<Piece>, filled: &mut u64, plan_shards: &mut Vec<Shard>| {
        if !current.is_empty() {
            plan_shards.push(Shard {
                index: plan_shards.len() as u32,
                pieces: std::mem::take(current),
            });
        }
        *filled = 0;
    };
    for (i, s) in sized.iter().enumerate() {
        let index = i as u32;
        let room_left = (plan_shards.len() as u64) + 1 < shards;
        if filled >= target && room_left && !s.html {
            close(&mut current, &mut filled, &mut plan_shards);
        }
        let room_left = (plan_shards.len() as u64) + 1 < shards;
        if s.cuttable && room_left && filled + s.bytes > target {
            let mut wanted = Vec::new();
            let mut at = target - filled;
            while at < s.bytes && (plan_shards.len() + wanted.len()) as u64 + 1 < shards {
                wanted.push(at);
                at += target;
            }
            let ranges = cut_text(&sources[i], s.bytes, &wanted, target);
            let last = ranges.len() - 1;
            for (r, range) in ranges.into_iter().enumerate() {
                if r > 0 {
                    close(&mut current, &mut filled, &mut plan_shards);
                }
                current.push(Piece {
                    source: index,
                    range: Some(range),
                });
                filled += range.end - range.start;
                if r == last {
                    break;
                }
            }
            continue;
        }
        current.push(Piece {
            source: index,
            range: None,
        });
        filled += s.bytes;
    }
    close(&mut current, &mut filled, &mut plan_shards);
    Ok(Plan {
        sources,
        errors: errors.iter().map(Error::report).collect(),
        skipped: found.skipped,
        media: found.media,
        shards: plan_shards,
        _spools: spools,
    })
}

fn spool_error(name: &str, e: &std::io::Error) -> Error {
    Error::Read {
        path: name.into(),
        line: 1,
        source: std::io::Error::new(e.kind(), format!("spooling the input: {e}")),
    }
}

impl Plan {
    /// Input bytes of the whole plan, as stored.
    pub fn bytes(&self) -> u64 {
        self.sources.iter().filter_map(InputSource::file_len).sum()
    }
}

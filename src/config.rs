//! The validated settings of a `clean` run, independent of how they were given.

use std::path::PathBuf;

use crate::dedup::DedupMode;

/// Input format. Only plain text is read so far; `Auto` sniffs content and refuses
/// (with an error naming the file) what looks like JSON or HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Auto,
    Text,
}

/// One input as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    Stdin,
    Path(PathBuf),
}

/// Where the run summary goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsTarget {
    Stderr,
    File(PathBuf),
}

/// Default for `--min-dedup-chars` (SPEC §1).
pub const DEFAULT_MIN_DEDUP_CHARS: usize = 24;

/// Everything `run` needs to know. Built by the binary from its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub inputs: Vec<InputSpec>,
    /// `None` writes to stdout.
    pub output: Option<PathBuf>,
    pub format: Format,
    pub dedup: DedupMode,
    pub keep_duplicates: bool,
    pub min_dedup_chars: usize,
    pub stats: Option<StatsTarget>,
    /// Worker threads, at least 1.
    pub threads: usize,
    pub quiet: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            inputs: vec![InputSpec::Stdin],
            output: None,
            format: Format::Auto,
            dedup: DedupMode::Paragraph,
            keep_duplicates: false,
            min_dedup_chars: DEFAULT_MIN_DEDUP_CHARS,
            stats: None,
            threads: 1,
            quiet: false,
        }
    }
}

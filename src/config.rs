//! The validated settings of a `clean` run, independent of how they were given.

use std::path::PathBuf;

use crate::dedup::DedupMode;

/// Input format (SPEC §2). `Auto` sniffs each file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Auto,
    Text,
    TgJson,
    TgHtml,
    TmeHtml,
    Jsonl,
}

impl Format {
    /// The name used on the command line and in `source.format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Text => "text",
            Format::TgJson => "tg-json",
            Format::TgHtml => "tg-html",
            Format::TmeHtml => "tme-html",
            Format::Jsonl => "jsonl",
        }
    }
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
    /// The persistent seen-set, read before and rewritten after a successful run.
    pub state: Option<PathBuf>,
    pub format: Format,
    /// For `jsonl`: the field holding the text, instead of `text`/`message`/`content`.
    pub text_field: Option<String>,
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
            state: None,
            format: Format::Auto,
            text_field: None,
            dedup: DedupMode::Paragraph,
            keep_duplicates: false,
            min_dedup_chars: DEFAULT_MIN_DEDUP_CHARS,
            stats: None,
            threads: 1,
            quiet: false,
        }
    }
}

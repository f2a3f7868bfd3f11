//! The validated settings of a `clean` run, independent of how they were given.

use std::path::PathBuf;

use crate::dedup::DedupMode;
use crate::text::lang::LangDetector;

/// Input format (SPEC §2). `Auto` sniffs each file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Format {
    #[default]
    Auto,
    Text,
    TgJson,
    TgHtml,
    TmeHtml,
    TgDataset,
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
            Format::TgDataset => "tgdataset",
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

/// Default for `--max-post-bytes`: 16 MiB.
pub const DEFAULT_MAX_POST_BYTES: usize = 16 << 20;

/// Default memory for the posts held between the two passes of a whole-run rule, in
/// MiB (`--pass-memory`); beyond it they go to a temporary file.
pub const DEFAULT_PASS_MEMORY_MIB: usize = 1024;

pub use crate::dedup::DEFAULT_MIN_DEDUP_CHARS;
pub use crate::dedup::boilerplate::BoilerplateRule;

/// Everything `run` needs to know. Built by the binary from its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub inputs: Vec<InputSpec>,
    /// `None` writes to stdout.
    pub output: Option<PathBuf>,
    /// The persistent seen-set, read before and rewritten after a successful run.
    pub state: Option<PathBuf>,
    /// How long to wait for another run's lock on the state; `None` waits as long as it
    /// takes.
    pub lock_timeout: Option<std::time::Duration>,
    /// One JSON line per dropped paragraph or post goes here.
    pub explain: Option<PathBuf>,
    /// A plain-text post longer than this is split (and reported); 0 = no limit.
    pub max_post_bytes: usize,
    /// Bytes of built posts held in memory between the two passes of a whole-run rule;
    /// the rest go to an unnamed temporary file.
    pub pass_memory: usize,
    /// Exit 3 when no record was written.
    pub fail_if_empty: bool,
    /// Exit 4 when more than this share of the posts read were duplicates.
    pub max_duplicate_ratio: Option<f64>,
    pub format: Format,
    /// For `jsonl`: the field holding the text, instead of `text`/`message`/`content`.
    pub text_field: Option<String>,
    /// How `lang` is detected.
    pub lang: LangDetector,
    pub dedup: DedupMode,
    pub keep_duplicates: bool,
    pub min_dedup_chars: usize,
    /// The record fields written (`--fields`).
    pub fields: crate::output::record::FieldSet,
    /// The channel boilerplate rule (SPEC §7); `None` = `--boilerplate off`.
    pub boilerplate: Option<BoilerplateRule>,
    /// The near-duplicate threshold (SPEC §8); `None` = `--near-dup off`.
    pub near_dup: Option<f64>,
    pub stats: Option<StatsTarget>,
    /// Worker threads, at least 1.
    pub threads: usize,
    pub quiet: bool,
    /// Kept up to date as the run goes, for a caller that shows progress.
    pub progress: Option<crate::progress::ProgressHandle>,
    /// Route SIGINT and SIGTERM to the run (the command line, and by default a library
    /// caller). A host with signal handling of its own (Python) turns it off and stops a
    /// run with [`crate::engine::interrupt::request`].
    pub handle_signals: bool,
}

/// Exit codes of `clean` (documented in the README and `--help`).
pub mod exit {
    pub const OK: u8 = 0;
    pub const INPUT_ERRORS: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const EMPTY: u8 = 3;
    pub const TOO_MANY_DUPLICATES: u8 = 4;
    pub const INTERRUPTED: u8 = 130;
}

impl Config {
    /// The files this run writes, which it never reads as inputs.
    pub fn own_files(&self) -> crate::input::OwnFiles {
        let stats = match &self.stats {
            Some(StatsTarget::File(p)) => Some(p),
            _ => None,
        };
        crate::input::OwnFiles::new(
            [&self.output, &self.state, &self.explain]
                .into_iter()
                .flatten()
                .chain(stats)
                .map(|p| p.as_path()),
        )
    }

    /// The exit code of a finished run: input errors first, then the CI guards.
    /// The threshold near-duplicate posts are judged at, when the rule is on: it is off
    /// with `--near-dup off` and with `--dedup off` (which keeps every post).
    pub fn near_dup(&self) -> Option<f64> {
        self.near_dup.filter(|_| self.dedup != DedupMode::Off)
    }

    /// The record fields written: those asked for, with `similarity` (and schema 2)
    /// only when near-duplicates are looked for.
    pub fn record_fields(&self) -> crate::output::record::FieldSet {
        self.fields.with_similarity(self.near_dup().is_some())
    }

    pub fn exit_code(&self, stats: &crate::output::stats::RunStats) -> u8 {
        if !stats.errors.is_empty() {
            return exit::INPUT_ERRORS;
        }
        if let Some(max) = self.max_duplicate_ratio
            && stats.posts_read > 0
            && stats.duplicate_posts as f64 / stats.posts_read as f64 > max
        {
            return exit::TOO_MANY_DUPLICATES;
        }
        if self.fail_if_empty && stats.records_written == 0 {
            return exit::EMPTY;
        }
        exit::OK
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            inputs: vec![InputSpec::Stdin],
            output: None,
            state: None,
            lock_timeout: None,
            explain: None,
            max_post_bytes: DEFAULT_MAX_POST_BYTES,
            pass_memory: DEFAULT_PASS_MEMORY_MIB << 20,
            fail_if_empty: false,
            max_duplicate_ratio: None,
            format: Format::Auto,
            text_field: None,
            lang: LangDetector::Fast,
            dedup: DedupMode::Paragraph,
            keep_duplicates: false,
            min_dedup_chars: DEFAULT_MIN_DEDUP_CHARS,
            boilerplate: Some(BoilerplateRule::default()),
            near_dup: Some(crate::dedup::near::DEFAULT_THRESHOLD),
            fields: crate::output::record::FieldSet::ALL,
            stats: None,
            threads: 1,
            quiet: false,
            progress: None,
            handle_signals: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::stats::RunStats;

    #[test]
    fn exit_codes_rank_errors_then_duplicates_then_empty() {
        let strict = Config {
            fail_if_empty: true,
            max_duplicate_ratio: Some(0.5),
            ..Config::default()
        };
        let stats = |posts, dups, written, errors: usize| RunStats {
            posts_read: posts,
            duplicate_posts: dups,
            records_written: written,
            errors: vec!["x".into(); errors],
            ..RunStats::default()
        };
        assert_eq!(strict.exit_code(&stats(10, 2, 8, 0)), exit::OK);
        assert_eq!(
            strict.exit_code(&stats(10, 5, 5, 0)),
            exit::OK,
            "exactly the ratio"
        );
        assert_eq!(
            strict.exit_code(&stats(10, 6, 4, 0)),
            exit::TOO_MANY_DUPLICATES
        );
        assert_eq!(
            strict.exit_code(&stats(10, 10, 0, 0)),
            exit::TOO_MANY_DUPLICATES
        );
        assert_eq!(strict.exit_code(&stats(0, 0, 0, 0)), exit::EMPTY);
        assert_eq!(strict.exit_code(&stats(10, 10, 0, 1)), exit::INPUT_ERRORS);
        assert_eq!(Config::default().exit_code(&stats(0, 0, 0, 0)), exit::OK);
    }
}

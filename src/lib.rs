//! tgclean turns Telegram channel dumps, news articles and transcripts into clean,
//! deduplicated JSON Lines.
//!
//! The stages, each in its own module: [`input`] finds and streams inputs, [`formats`]
//! read exports into [`message`]s, [`grammar`]
//! classifies lines, [`segment`] groups them into posts, [`normalise`] makes display text
//! and keys, [`post`] finishes a post, [`dedup`] removes what was seen, [`record`] is the
//! output line and [`output`] writes it. [`engine`] wires them together in three phases
//! (scan, decide, emit); [`clean`] is the one-call run.

mod block_fold;
pub mod check;
pub mod config;
pub mod dedup;
pub mod engine;
pub mod error;
pub mod formats;
pub mod grammar;
pub mod input;
pub mod json;
pub mod key_memo;
pub mod lang;
pub mod message;
pub mod normalise;
pub mod output;
pub mod post;
pub mod record;
pub mod segment;
pub mod state;
pub mod stats;
mod swar;

pub use config::{Config, Format, InputSpec, StatsTarget};
pub use dedup::DedupMode;
pub use engine::clean;
pub use error::Error;
pub use stats::RunStats;

/// Result of `tgclean check`.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub files: u64,
    pub records: u64,
    /// `path:line: what`, in file and line order.
    pub problems: Vec<String>,
}

/// Validates JSON Lines files (`-` = stdin) against the record schema, and reports post
/// ids and paragraph keys (at least `min_dedup_chars` long) written twice across them.
pub fn check(paths: &[InputSpec], min_dedup_chars: usize) -> Result<CheckReport, Error> {
    let mut checker = check::RecordChecker::new()
        .map_err(Error::Config)?
        .with_min_dedup_chars(min_dedup_chars);
    let (sources, errors) = input::discover(paths);
    let mut report = CheckReport {
        problems: errors.iter().map(Error::report).collect(),
        ..CheckReport::default()
    };
    for source in sources {
        report.files += 1;
        match source.open() {
            Ok(reader) => {
                let (problems, records) = checker.check_reader(&source.name, reader);
                report.records += records;
                report.problems.extend(problems);
            }
            Err(e) => report.problems.push(e.report()),
        }
    }
    Ok(report)
}

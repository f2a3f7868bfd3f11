//! tgclean turns Telegram channel dumps, news articles and transcripts into clean,
//! deduplicated JSON Lines.
//!
//! One folder per stage, data flowing one way: [`input`] finds and streams inputs,
//! [`formats`] read exports into messages, [`text`] classifies lines, groups them into
//! posts and computes keys, [`dedup`] holds the seen-set and its state file, [`output`]
//! serialises and writes records. [`engine`] wires them together in three phases (scan,
//! decide, emit); [`clean`] is the one-call run.

pub mod config;
pub mod dedup;
#[warn(missing_docs)]
pub mod engine;
pub mod error;
pub mod formats;
pub mod input;
pub mod output;
pub mod progress;
pub mod text;

pub use config::{Config, Format, InputSpec, StatsTarget};
pub use dedup::DedupMode;
pub use engine::clean;
pub use error::Error;
pub use output::stats::RunStats;

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
    let mut checker = output::check::RecordChecker::new()
        .map_err(Error::Config)?
        .with_min_dedup_chars(min_dedup_chars);
    let input::Discovered {
        sources, errors, ..
    } = input::discover(paths, &input::OwnFiles::default());
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

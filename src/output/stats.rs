//! The run summary (SPEC §6) and its one-line form for stderr.

use serde::{Deserialize, Serialize};

use crate::text::post::DropCounts;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ParagraphStats {
    pub read: u64,
    pub written: u64,
    pub dropped: DropCounts,
}

/// Messages of structured inputs that gave no post, by why.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SkippedMessages {
    pub service: u64,
    pub media_only: u64,
}

/// Counts of one run. `paragraphs.written + Σ paragraphs.dropped = paragraphs.read`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunStats {
    pub inputs: u64,
    pub bytes: u64,
    pub posts_read: u64,
    pub records_written: u64,
    pub paragraphs: ParagraphStats,
    pub duplicate_posts: u64,
    /// Posts dropped (or, with `--keep-duplicates`, marked) as near-duplicates of an
    /// earlier kept post (SPEC §8).
    pub near_duplicate_posts: u64,
    /// Posts whose every paragraph was channel boilerplate: not written.
    pub boilerplate_posts: u64,
    pub skipped_messages: SkippedMessages,
    /// Files inside input folders passed over: FIFOs, sockets, devices, and the run's
    /// own output, state, explain and stats files with their locks and temporaries.
    pub skipped_files: u64,
    /// Posts split for passing `--max-post-bytes`.
    pub split_posts: u64,
    pub invalid_utf8: u64,
    pub errors: Vec<String>,
    pub seconds: f64,
    pub mb_per_s: f64,
}

impl RunStats {
    /// Sets the timing fields from the elapsed wall time.
    pub fn set_elapsed(&mut self, seconds: f64) {
        self.seconds = (seconds * 1000.0).round() / 1000.0;
        self.mb_per_s = if seconds > 0.0 {
            ((self.bytes as f64 / 1e6 / seconds) * 10.0).round() / 10.0
        } else {
            0.0
        };
    }

    /// Adds the counts of `other` (a shard's, or the other half of a run's) to these;
    /// its errors come after these.
    pub fn merge(&mut self, other: &RunStats) {
        self.inputs += other.inputs;
        self.bytes += other.bytes;
        self.posts_read += other.posts_read;
        self.records_written += other.records_written;
        self.paragraphs.read += other.paragraphs.read;
        self.paragraphs.written += other.paragraphs.written;
        self.paragraphs.dropped.merge(&other.paragraphs.dropped);
        self.duplicate_posts += other.duplicate_posts;
        self.near_duplicate_posts += other.near_duplicate_posts;
        self.boilerplate_posts += other.boilerplate_posts;
        self.skipped_messages.service += other.skipped_messages.service;
        self.skipped_messages.media_only += other.skipped_messages.media_only;
        self.skipped_files += other.skipped_files;
        self.split_posts += other.split_posts;
        self.invalid_utf8 += other.invalid_utf8;
        self.errors.extend(other.errors.iter().cloned());
    }

    /// The one-line summary printed on stderr.
    pub fn summary_line(&self) -> String {
        format!(
            "tgclean: {} input(s), {:.1} MB, {} posts -> {} records ({} duplicate posts); \
             paragraphs {} read, {} written, {} dropped; {} skipped file(s); {} error(s); \
             {:.2} s, {:.1} MB/s",
            self.inputs,
            self.bytes as f64 / 1e6,
            self.posts_read,
            self.records_written,
            self.duplicate_posts,
            self.paragraphs.read,
            self.paragraphs.written,
            self.paragraphs.dropped.total(),
            self.skipped_files,
            self.errors.len(),
            self.seconds,
            self.mb_per_s,
        )
    }
}

//! The command line as clap sees it, and its conversion into a validated `Config`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use tgclean::config::BoilerplateRule;
use tgclean::config::{DEFAULT_MAX_POST_BYTES, DEFAULT_MIN_DEDUP_CHARS, DEFAULT_PASS_MEMORY_MIB};
use tgclean::text::lang::LangDetector;
use tgclean::{Config, DedupMode, Format, InputSpec, StatsTarget};

const EXIT_CODES: &str = "\
Exit codes:
  0    success (also when stdout is closed early, e.g. by `head`)
  1    the run finished but some input could not be read or parsed (each reported on
       stderr as `path:line: what`; everything else was processed and committed); or
       output, state or explain file could not be written, or --state was refused
       (nothing committed, old files untouched)
  2    usage error
  3    --fail-if-empty and no record was written
  4    --max-duplicate-ratio R and more than R of the posts read were duplicates
  130  interrupted (SIGINT/SIGTERM): nothing was committed, old files untouched
When several apply, the lowest of 1, 4, 3 wins.";

#[derive(Debug, Parser)]
#[command(
    name = "tgclean",
    version,
    about = "Clean scraped Telegram channel dumps, articles and transcripts into deduplicated JSON Lines"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Clean inputs into JSON Lines records (one per post).
    #[command(after_help = EXIT_CODES)]
    Clean(Box<CleanArgs>),
    /// Print the JSON Schema of one output record.
    Schema,
    /// Validate JSON Lines files against the record schema and find post ids and
    /// paragraph keys written twice across them (exit 1 on any problem).
    Check {
        /// Files to check (`-` = stdin).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Repeated paragraphs whose key is shorter than N are not reported (as in `clean`).
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MIN_DEDUP_CHARS)]
        min_dedup_chars: usize,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Sniff each file's content.
    Auto,
    /// Plain-text copies of channels, articles and transcripts.
    Text,
    /// Telegram Desktop JSON export (result.json).
    TgJson,
    /// Telegram Desktop HTML export (messages.html, messages2.html, …).
    TgHtml,
    /// The public web preview t.me/s/<channel>.
    TmeHtml,
    /// TGDataset files: one JSON object keyed by channel id.
    Tgdataset,
    /// Scraper JSON Lines or a JSON array of objects.
    Jsonl,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LangArg {
    /// Script census, distinctive letters, whichlang.
    Fast,
    /// The whatlang trigram detector.
    Whatlang,
    /// No language detection.
    Off,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DedupArg {
    /// Drop paragraphs seen earlier; drop posts with nothing new.
    Paragraph,
    /// Drop only posts identical to an earlier post.
    Post,
    /// No deduplication across posts.
    Off,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BoilerplateArg {
    /// Lines that recur across the posts of one origin are dropped from every post.
    Channel,
    /// No channel boilerplate rule.
    Off,
}

#[derive(Debug, clap::Args)]
pub struct CleanArgs {
    /// Files, directories (recursed, sorted) or `-` for stdin; none reads stdin.
    pub inputs: Vec<PathBuf>,
    /// Write records here (atomically: temp file + rename); default stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Persistent seen-set: read before the run, rewritten atomically after a successful one.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Give up (exit 1) when another run has held the state's lock for SECS seconds;
    /// default: wait. Runs sharing a state take turns.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub lock_timeout: Option<f64>,
    /// Write one JSON line per dropped paragraph or post: reason, source, text, and for
    /// duplicates the record that kept the first copy.
    #[arg(long, value_name = "FILE")]
    pub explain: Option<PathBuf>,
    /// A plain-text post longer than N bytes is split into several (reported on stderr
    /// and counted as `split_posts`); 0 = no limit.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_POST_BYTES)]
    pub max_post_bytes: usize,
    /// With a rule decided over the whole run (channel boilerplate), the posts built in
    /// the first pass are held for the second: up to MIB mebibytes in memory, the rest in
    /// an unnamed temporary file in TMPDIR. 0 = all in the file.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_PASS_MEMORY_MIB)]
    pub pass_memory: usize,
    /// Exit 3 when no record was written.
    #[arg(long)]
    pub fail_if_empty: bool,
    /// Exit 4 when more than R (0..1) of the posts read were duplicates: a sign the
    /// scraper looped.
    #[arg(long, value_name = "R", value_parser = parse_ratio)]
    pub max_duplicate_ratio: Option<f64>,
    /// Input format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// For jsonl input: the field holding the text (default: text, message or content).
    #[arg(long, value_name = "NAME")]
    pub text_field: Option<String>,
    /// Language detector for `lang`: fast (script census, distinctive letters and
    /// whichlang; a few µs per post), whatlang (more Latin-script languages, ~60 µs per
    /// post) or off (`lang` is null).
    #[arg(long, value_enum, default_value = "fast")]
    pub lang: LangArg,
    /// Deduplication mode.
    #[arg(long, value_enum, default_value = "paragraph")]
    pub dedup: DedupArg,
    /// Emit whole-post duplicates with `duplicate_of` set instead of dropping them.
    #[arg(long)]
    pub keep_duplicates: bool,
    /// Paragraphs whose key is shorter than N characters are never deduplicated across posts.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MIN_DEDUP_CHARS)]
    pub min_dedup_chars: usize,
    /// Channel boilerplate: a paragraph whose template (its key without links, mentions
    /// and e-mails) occurs in at least --boilerplate-min-posts posts of its origin (forward
    /// source, else channel, else file) and in at least --boilerplate-min-share of them is
    /// dropped from every post of that origin, the first included.
    #[arg(long, value_enum, default_value = "channel")]
    pub boilerplate: BoilerplateArg,
    /// Distinct posts of an origin a template must occur in to be its boilerplate (at
    /// least 2).
    #[arg(long, value_name = "N", default_value_t = tgclean::dedup::boilerplate::DEFAULT_MIN_POSTS,
          value_parser = clap::value_parser!(u32).range(2..))]
    pub boilerplate_min_posts: u32,
    /// Share (0..1) of an origin's distinct posts a template must occur in to be its
    /// boilerplate.
    #[arg(long, value_name = "R", default_value_t = tgclean::dedup::boilerplate::DEFAULT_MIN_SHARE,
          value_parser = parse_ratio)]
    pub boilerplate_min_share: f64,
    /// Near-duplicate posts: a post of at least 30 words whose word-3-gram Jaccard
    /// similarity (after channel boilerplate) to an earlier kept post is at least J is
    /// dropped (written with `duplicate_of` and `similarity` under --keep-duplicates).
    /// `off`: exact rules only, and records of schema 1.
    #[arg(long, value_name = "J|off", default_value = "0.8", value_parser = parse_near_dup)]
    pub near_dup: NearDupArg,
    /// Write only these record fields (comma-separated, in schema order; `id` always):
    /// e.g. `id,channel,date,text,lang`. Fields left out are not built at all.
    #[arg(long, value_name = "LIST", value_parser = tgclean::output::record::FieldSet::parse)]
    pub fields: Option<tgclean::output::record::FieldSet>,
    /// Write the run summary as JSON to FILE (`-` = stderr).
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// Worker threads (default: all cores); output is identical for every value.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Do not print the one-line summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..1e9).contains(&x) => Ok(x),
        _ => Err(format!("{s:?} is not a number of seconds")),
    }
}

/// `--near-dup`: a threshold, or off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearDupArg(pub Option<f64>);

fn parse_near_dup(s: &str) -> Result<NearDupArg, String> {
    if s == "off" {
        return Ok(NearDupArg(None));
    }
    match s.parse::<f64>() {
        Ok(j) if j > 0.0 && j <= 1.0 => Ok(NearDupArg(Some(j))),
        _ => Err(format!(
            "{s:?} is not a similarity threshold (a number above 0, at most 1) or `off`"
        )),
    }
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("{s:?} is not a ratio between 0 and 1")),
    }
}

/// An input path as given: `-` means stdin.
pub fn input_spec(path: PathBuf) -> InputSpec {
    if path.as_os_str() == "-" {
        InputSpec::Stdin
    } else {
        InputSpec::Path(path)
    }
}

impl CleanArgs {
    /// The validated configuration of this `clean` invocation.
    pub fn into_config(self) -> Config {
        let inputs = if self.inputs.is_empty() {
            vec![InputSpec::Stdin]
        } else {
            self.inputs.into_iter().map(input_spec).collect()
        };
        let threads = self.threads.map(usize::from).unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        Config {
            inputs,
            output: self.output,
            state: self.state,
            lock_timeout: self.lock_timeout.map(std::time::Duration::from_secs_f64),
            explain: self.explain,
            max_post_bytes: self.max_post_bytes,
            pass_memory: self.pass_memory.saturating_mul(1 << 20),
            fail_if_empty: self.fail_if_empty,
            max_duplicate_ratio: self.max_duplicate_ratio,
            format: match self.format {
                FormatArg::Auto => Format::Auto,
                FormatArg::Text => Format::Text,
                FormatArg::TgJson => Format::TgJson,
                FormatArg::TgHtml => Format::TgHtml,
                FormatArg::TmeHtml => Format::TmeHtml,
                FormatArg::Tgdataset => Format::TgDataset,
                FormatArg::Jsonl => Format::Jsonl,
            },
            text_field: self.text_field,
            lang: match self.lang {
                LangArg::Fast => LangDetector::Fast,
                LangArg::Whatlang => LangDetector::Whatlang,
                LangArg::Off => LangDetector::Off,
            },
            dedup: match self.dedup {
                DedupArg::Paragraph => DedupMode::Paragraph,
                DedupArg::Post => DedupMode::Post,
                DedupArg::Off => DedupMode::Off,
            },
            keep_duplicates: self.keep_duplicates,
            min_dedup_chars: self.min_dedup_chars,
            fields: self.fields.unwrap_or_default(),
            boilerplate: match self.boilerplate {
                BoilerplateArg::Channel => Some(BoilerplateRule {
                    min_posts: self.boilerplate_min_posts,
                    min_share: self.boilerplate_min_share,
                }),
                BoilerplateArg::Off => None,
            },
            near_dup: self.near_dup.0,
            stats: self.stats.map(|p| {
                if p.as_os_str() == "-" {
                    StatsTarget::Stderr
                } else {
                    StatsTarget::File(p)
                }
            }),
            threads,
            quiet: self.quiet,
            progress: None,
            handle_signals: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_and_stdin() {
        let cli = Cli::try_parse_from(["tgclean", "clean", "-", "a.txt", "--stats", "-"]).unwrap();
        let Command::Clean(args) = cli.command else {
            panic!("expected clean");
        };
        let config = (*args).into_config();
        assert_eq!(
            config.inputs,
            vec![InputSpec::Stdin, InputSpec::Path("a.txt".into())]
        );
        assert_eq!(config.min_dedup_chars, 24);
        assert_eq!(config.dedup, DedupMode::Paragraph);
        assert_eq!(config.stats, Some(StatsTarget::Stderr));
        assert!(config.threads >= 1);
    }

    #[test]
    fn near_dup_takes_a_threshold_or_off() {
        let parse = |v: &str| {
            Cli::try_parse_from(["tgclean", "clean", "--near-dup", v]).map(|cli| {
                match cli.command {
                    Command::Clean(args) => (*args).into_config().near_dup,
                    _ => panic!("expected clean"),
                }
            })
        };
        assert_eq!(parse("0.9").unwrap(), Some(0.9));
        assert_eq!(parse("off").unwrap(), None);
        assert!(parse("0").is_err());
        assert!(parse("1.5").is_err());
        assert!(parse("most").is_err());
        let Command::Clean(args) = Cli::try_parse_from(["tgclean", "clean"]).unwrap().command
        else {
            panic!("expected clean");
        };
        assert_eq!((*args).into_config().near_dup, Some(0.8));
    }

    #[test]
    fn zero_threads_is_a_usage_error() {
        assert!(Cli::try_parse_from(["tgclean", "clean", "--threads", "0"]).is_err());
    }
}

//! Sharded runs (SPEC §9): plan, scan every shard, decide over all scans, emit each
//! shard — for any shard count the same records, explain lines, state and totals as the
//! one-process run.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::Value;
use tgclean::{Config, DedupMode, InputSpec};

/// Everything a run leaves: records, explain lines, state bytes, and the summary
/// without its timings.
#[derive(Debug, PartialEq)]
struct Outcome {
    records: Vec<u8>,
    explain: Vec<u8>,
    state: Vec<u8>,
    stats: Value,
}

fn outcome(dir: &Path, stats: tgclean::RunStats) -> Outcome {
    let mut stats = serde_json::to_value(&stats).unwrap();
    let obj = stats.as_object_mut().unwrap();
    obj.remove("seconds");
    obj.remove("mb_per_s");
    Outcome {
        records: fs::read(dir.join("out.jsonl")).unwrap(),
        explain: fs::read(dir.join("explain.jsonl")).unwrap(),
        state: fs::read(dir.join("s.state")).unwrap_or_default(),
        stats,
    }
}

fn config(inputs: &[PathBuf], dir: &Path, state: bool, configure: &dyn Fn(&mut Config)) -> Config {
    let mut config = Config {
        inputs: inputs.iter().cloned().map(InputSpec::Path).collect(),
        output: Some(dir.join("out.jsonl")),
        explain: Some(dir.join("explain.jsonl")),
        state: state.then(|| dir.join("s.state")),
        threads: 2,
        quiet: true,
        ..Config::default()
    };
    configure(&mut config);
    config
}

/// The one-process run's outcome, then each sharded run's, asserted equal. With
/// `initial_state`, both runs keep a state, starting from those bytes (none if empty).
fn assert_same_for_shards(
    inputs: &[PathBuf],
    shard_counts: &[usize],
    initial_state: Option<&[u8]>,
    configure: &dyn Fn(&mut Config),
) -> Outcome {
    let run = |shards: Option<Driver>| {
        let dir = tempfile::tempdir().unwrap();
        if let Some(s) = initial_state.filter(|s| !s.is_empty()) {
            fs::write(dir.path().join("s.state"), s).unwrap();
        }
        let config = config(inputs, dir.path(), initial_state.is_some(), configure);
        let stats = match shards {
            None => tgclean::clean(&config).unwrap(),
            Some(Driver::Engine(n)) => tgclean::engine::clean_sharded(&config, n).unwrap(),
            Some(Driver::Cluster(n)) => driven(config, n, dir.path()),
        };
        outcome(dir.path(), stats)
    };
    let single = run(None);
    let drivers = shard_counts
        .iter()
        .flat_map(|&n| [Driver::Engine(n), Driver::Cluster(n)]);
    for driver in drivers {
        let sharded = run(Some(driver));
        let n = format!("{driver:?}");
        assert_eq!(
            String::from_utf8_lossy(&sharded.records),
            String::from_utf8_lossy(&single.records),
            "records with {n} shards"
        );
        assert_eq!(
            String::from_utf8_lossy(&sharded.explain),
            String::from_utf8_lossy(&single.explain),
            "explain lines with {n} shards"
        );
        assert_eq!(sharded.stats, single.stats, "stats with {n} shards");
        assert_eq!(
            state_keys(&sharded.state),
            state_keys(&single.state),
            "state with {n} shards"
        );
    }
    single
}

/// Who runs the phases of a sharded run, over how many shards.
#[derive(Debug, Clone, Copy)]
enum Driver {
    /// [`tgclean::engine::clean_sharded`] in this process.
    Engine(usize),
    /// A cluster's way ([`tgclean::engine::DrivenRun`]): every value crosses its binary
    /// form, the repeats are counted apart, each shard is emitted into a part file.
    Cluster(usize),
}

/// Runs `config` as a cluster's driver and tasks would, in this process.
fn driven(config: Config, shards: usize, dir: &Path) -> tgclean::RunStats {
    use tgclean::engine::wire;
    let run = tgclean::engine::DrivenRun::start(config.clone(), shards).unwrap();
    let plan = wire::decode_plan(&wire::encode_plan(run.plan()).unwrap()).unwrap();
    let scans: Vec<_> = plan
        .shards
        .iter()
        .map(|s| {
            let scan = tgclean::engine::scan(&config, &plan, s).unwrap();
            wire::decode_scan(&wire::encode_scan(&scan).unwrap()).unwrap()
        })
        .collect();
    let repeats = tgclean::dedup::Repeats::among(
        scans
            .iter()
            .flat_map(|s| &s.posts)
            .map(|p| (&p.id, p.paragraphs.iter().map(|q| &q.key))),
    );
    let state = config
        .state
        .as_deref()
        .map(|p| tgclean::engine::load_state(p).unwrap());
    let decisions = tgclean::engine::decide_expecting(&config, &scans, state, Some(&repeats));
    let mut parts = Vec::new();
    let mut explain_parts = Vec::new();
    let mut stats = Vec::new();
    for (shard, decided) in plan.shards.iter().zip(decisions.shards) {
        let decided = wire::decode_decisions(&wire::encode_decisions(&decided).unwrap()).unwrap();
        let part = dir.join(format!("part-{}", shard.index));
        let explain_part = dir.join(format!("explain-{}", shard.index));
        let explain = config.explain.as_ref().map(|_| explain_part.as_path());
        let s = tgclean::engine::emit_part(&config, &plan, shard, decided, &part, explain).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        stats.push(serde_json::from_str(&json).unwrap());
        parts.push(part);
        explain_parts.push(explain_part);
    }
    run.finish(&parts, &explain_parts, &stats, Some(decisions.state))
        .unwrap()
}

/// The keys and post ids of a state file, each generation sorted, and the kept posts'
/// near-duplicate sketches in order; the output path in it differs from run to run.
type StateContent = ([Vec<[u8; 16]>; 4], Vec<tgclean::dedup::near::NearEntry>);

fn state_keys(bytes: &[u8]) -> Option<StateContent> {
    if bytes.is_empty() {
        return None;
    }
    let mut s = tgclean::dedup::state::decode(bytes).unwrap();
    for v in [
        &mut s.base_keys,
        &mut s.delta_keys,
        &mut s.base_posts,
        &mut s.delta_posts,
    ] {
        v.sort_unstable();
    }
    let near = [s.near_base, s.near_delta].concat();
    Some((
        [s.base_keys, s.delta_keys, s.base_posts, s.delta_posts],
        near,
    ))
}

fn write_files(dir: &Path, texts: &[String]) -> Vec<PathBuf> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let p = dir.join(format!("dump{i}.txt"));
            fs::write(&p, t).unwrap();
            p
        })
        .collect()
}

#[test]
fn a_large_text_file_is_cut_into_shards_at_post_starts() {
    let dir = tempfile::tempdir().unwrap();
    let seed = fs::read_to_string("seeds/004_938382bba7e78ea9.txt").unwrap();
    let path = write_files(dir.path(), &[seed.repeat(3)]).remove(0);
    let config = Config {
        inputs: vec![InputSpec::Path(path.clone())],
        ..Config::default()
    };
    let plan = tgclean::engine::plan(&config, 4).unwrap();
    assert!(plan.shards.len() > 1, "the file was cut: {plan:?}");
    let ranges: Vec<_> = plan
        .shards
        .iter()
        .flat_map(|s| s.pieces.iter().map(|p| p.range.unwrap()))
        .collect();
    assert_eq!(ranges[0].start, 0);
    assert_eq!(
        ranges.last().unwrap().end,
        fs::metadata(&path).unwrap().len()
    );
    let bytes = fs::read(&path).unwrap();
    for pair in ranges.windows(2) {
        assert_eq!(pair[0].end, pair[1].start, "ranges are contiguous");
        let before = &bytes[..pair[1].start as usize];
        assert_eq!(before.last(), Some(&b'\n'), "a cut starts a line");
        let lines = before.iter().filter(|b| **b == b'\n').count() as u64;
        assert_eq!(pair[1].first_line, lines + 1);
    }
    assert_same_for_shards(&[path], &[2, 3, 4, 7], None, &|_| {});
}

#[test]
fn seeds_give_the_same_bytes_for_any_shard_count() {
    let seeds: PathBuf = "seeds".into();
    let single = assert_same_for_shards(std::slice::from_ref(&seeds), &[1, 2, 3, 8], None, &|_| {});
    assert!(!single.records.is_empty());
    assert_same_for_shards(std::slice::from_ref(&seeds), &[3], None, &|c| {
        c.keep_duplicates = true
    });
    assert_same_for_shards(&[seeds], &[5], None, &|c| c.dedup = DedupMode::Post);
}

#[test]
fn a_state_is_read_and_written_the_same_by_sharded_runs() {
    let dir = tempfile::tempdir().unwrap();
    let seed = fs::read_to_string("seeds/004_938382bba7e78ea9.txt").unwrap();
    let inputs = write_files(dir.path(), std::slice::from_ref(&seed));
    let first = assert_same_for_shards(&inputs, &[3], Some(b""), &|_| {});
    assert!(!first.records.is_empty());
    // A second run over the same input after the first one's state writes nothing new.
    let state_dir = tempfile::tempdir().unwrap();
    let c = config(&inputs, state_dir.path(), true, &|_| {});
    tgclean::clean(&c).unwrap();
    let state = fs::read(state_dir.path().join("s.state")).unwrap();
    let again = assert_same_for_shards(&inputs, &[1, 4], Some(&state), &|_| {});
    assert!(
        again.records.is_empty(),
        "everything was seen in the first run"
    );
}

#[test]
fn realdata_gives_the_same_bytes_for_any_shard_count() {
    let real = Path::new("../shared/realdata");
    if !real.is_dir() {
        eprintln!("../shared/realdata is absent: skipped");
        return;
    }
    let single = assert_same_for_shards(&[real.to_path_buf()], &[1, 3, 8], None, &|_| {});
    assert!(!single.records.is_empty());
}

#[test]
fn scans_and_decisions_survive_their_binary_form() {
    let config = Config {
        inputs: vec![InputSpec::Path("seeds".into())],
        ..Config::default()
    };
    let plan = tgclean::engine::plan(&config, 3).unwrap();
    let plan_bytes = tgclean::engine::wire::encode_plan(&plan).unwrap();
    let plan_back = tgclean::engine::wire::decode_plan(&plan_bytes).unwrap();
    assert_eq!(plan_back.shards, plan.shards);
    let scans: Vec<_> = plan
        .shards
        .iter()
        .map(|s| tgclean::engine::scan(&config, &plan, s).unwrap())
        .collect();
    for scan in &scans {
        let bytes = tgclean::engine::wire::encode_scan(scan).unwrap();
        assert_eq!(&tgclean::engine::wire::decode_scan(&bytes).unwrap(), scan);
        let mut newer = bytes.clone();
        newer[4] += 1;
        let err = tgclean::engine::wire::decode_scan(&newer).unwrap_err();
        assert!(err.to_string().contains("layout version"), "{err}");
    }
    let decisions = tgclean::engine::decide(&config, &scans, None);
    for d in &decisions.shards {
        let bytes = tgclean::engine::wire::encode_decisions(d).unwrap();
        assert_eq!(&tgclean::engine::wire::decode_decisions(&bytes).unwrap(), d);
    }
}

#[test]
fn near_duplicates_are_judged_the_same_for_any_shard_count() {
    let inputs: Vec<PathBuf> = ["near-dup", "near-dup-keep"]
        .iter()
        .map(|f| PathBuf::from(format!("fixtures/{f}/input.txt")))
        .collect();
    let single = assert_same_for_shards(&inputs, &[1, 2, 3, 5], Some(b""), &|_| {});
    let stats = &single.stats;
    // The fixture's five near-duplicates, in each copy of it (a near-duplicate's own id is
    // not remembered, so its second copy is judged a near-duplicate again); the second
    // copy's eight kept posts are exact duplicates.
    assert_eq!(stats["near_duplicate_posts"], 5 + 5, "{stats}");
    assert_eq!(stats["duplicate_posts"], 8, "{stats}");
    assert_same_for_shards(&inputs, &[4], None, &|c| c.keep_duplicates = true);
    // One thread or two: the same bytes, explain lines, state and totals.
    let one_thread = assert_same_for_shards(&inputs, &[2], Some(b""), &|c| c.threads = 1);
    assert_eq!(one_thread.records, single.records);
    assert_eq!(one_thread.explain, single.explain);
    assert_eq!(one_thread.stats, single.stats);
    assert_eq!(state_keys(&one_thread.state), state_keys(&single.state));
}

/// Long paragraphs (15 to 25 words) that posts are made of, so that posts share many
/// of them and near-duplicates (and chains of them) are common.
fn long_paragraph() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(
            &[
                "rate",
                "bank",
                "city",
                "news",
                "vote",
                "today",
                "said",
                "new",
                "report",
                "минфин",
                "прогноз",
                "рубль",
                "42",
                "7",
            ][..],
        ),
        15..25,
    )
    .prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Posts made of a few shared paragraphs, each maybe with a word changed: the
    /// near-duplicate rule gives the bytes of one process for any shard count.
    #[test]
    fn near_duplicates_give_the_bytes_of_one_process(
        pool in prop::collection::vec(long_paragraph(), 3..6),
        posts in prop::collection::vec(
            (prop::collection::vec(0usize..6, 2..4), any::<Option<u8>>()), 1..30),
        shards in 1usize..6,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for (i, (parts, edit)) in posts.iter().enumerate() {
            text.push_str(&format!("Forwarded from Channel {}\n", i % 3));
            for &p in parts {
                let mut para = pool[p % pool.len()].clone();
                if let Some(e) = edit {
                    para = para.replacen("rate", &format!("rate{e}"), 1);
                }
                text.push_str(&para);
                text.push('\n');
            }
        }
        let inputs = write_files(dir.path(), &[text]);
        assert_same_for_shards(&inputs, &[shards], None, &|_| {});
    }

    #[test]
    fn any_shard_cut_gives_the_bytes_of_one_process(
        files in prop::collection::vec(prop::collection::vec(crate::props::line(), 0..80), 1..4),
        shards in 1usize..7,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let texts: Vec<String> = files.iter().map(|lines| lines.join("\n")).collect();
        let inputs = write_files(dir.path(), &texts);
        assert_same_for_shards(&inputs, &[shards], None, &|_| {});
    }
}

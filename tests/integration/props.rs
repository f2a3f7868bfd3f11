//! Properties of whole runs on random dumps: the accounting balances and, in the default
//! mode, no paragraph key is ever written twice.

use std::collections::HashSet;
use std::fs;

use proptest::prelude::*;
use serde_json::Value;
use tgclean::{Config, DedupMode, InputSpec};

/// One line of a random dump, drawn from every kind the grammar knows, with a small
/// vocabulary so that repeats (within and across posts) are frequent.
pub fn line() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "minister",
        "talks",
        "Minsk",
        "OSCE",
        "cooperation",
        "Союзное",
        "государство",
        "57",
        "2023",
        "“quoted”",
        "security",
        "NATO",
    ]);
    let sentence = prop::collection::vec(word, 1..9).prop_map(|w| w.join(" "));
    prop_oneof![
        4 => sentence.clone(),
        1 => sentence.clone().prop_map(|s| format!("💬 {s}")),
        1 => sentence.clone().prop_map(|s| format!("🇷🇺🇦🇿 {s}")),
        1 => sentence.clone().prop_map(|s| s.to_uppercase()),
        1 => sentence.clone().prop_map(|s| s.replace(' ', "\u{00A0} ")),
        1 => sentence.prop_map(|s| format!("00:1{}{s}", s.len() % 10)),
        1 => prop::sample::select(vec![
            "Forwarded from Russian MFA 🇷🇺".to_owned(),
            "Forwarded from TASS".to_owned(),
            "❤1👍1".to_owned(),
            "👍 12 🔥 3".to_owned(),
            "Read in full".to_owned(),
            "#OSCE #NATO".to_owned(),
            "📍 Minsk, January 19, 2023".to_owned(),
            "Be the first to comment".to_owned(),
            "Key points:".to_owned(),
            "".to_owned(),
            "🤝".to_owned(),
        ]),
    ]
}

fn run_on(dump: &str, dedup: DedupMode) -> (Vec<Value>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dump.txt");
    let output = dir.path().join("out.jsonl");
    fs::write(&input, dump).unwrap();
    let config = Config {
        inputs: vec![InputSpec::Path(input)],
        output: Some(output.clone()),
        dedup,
        threads: 2,
        quiet: true,
        ..Config::default()
    };
    let stats = tgclean::clean(&config).unwrap();
    let records = fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (records, serde_json::to_value(&stats).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn written_plus_dropped_is_read(lines in prop::collection::vec(line(), 0..120)) {
        let dump = lines.join("\n");
        for mode in [DedupMode::Paragraph, DedupMode::Post, DedupMode::Off] {
            let (records, stats) = run_on(&dump, mode);
            let p = &stats["paragraphs"];
            let dropped: u64 = p["dropped"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
            prop_assert_eq!(p["written"].as_u64().unwrap() + dropped, p["read"].as_u64().unwrap());
            let written: usize = records.iter().map(|r| r["paragraphs"].as_array().unwrap().len()).sum();
            prop_assert_eq!(written as u64, p["written"].as_u64().unwrap());
            // Each record accounts for its own paragraphs too.
            let per_record_dropped: u64 = records
                .iter()
                .flat_map(|r| r["dropped"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()))
                .sum();
            prop_assert!(per_record_dropped <= dropped);
        }
    }

    #[test]
    fn no_key_is_written_twice_in_paragraph_mode(lines in prop::collection::vec(line(), 0..120)) {
        let (records, _) = run_on(&lines.join("\n"), DedupMode::Paragraph);
        let mut seen_long = HashSet::new();
        let mut ids = HashSet::new();
        for r in &records {
            prop_assert!(ids.insert(r["id"].as_str().unwrap().to_owned()), "post id written twice");
            let mut in_post = HashSet::new();
            for p in r["paragraphs"].as_array().unwrap() {
                let key = p["key"].as_str().unwrap().to_owned();
                prop_assert!(in_post.insert(key.clone()), "key twice in one post");
                // Keys of paragraphs below --min-dedup-chars may recur across posts by design;
                // the text's letters and digits approximate the key length here.
                let key_chars = p["text"].as_str().unwrap().chars().filter(|c| c.is_alphanumeric()).count();
                if key_chars >= 24 {
                    prop_assert!(seen_long.insert(key), "long key written twice across posts");
                }
            }
        }
    }
}

/// The bytes and summary (timings left out) of a run over `input` (written as
/// `dump.jsonl` in `dir`, read as JSON Lines) with `threads` threads.
fn jsonl_run(dir: &std::path::Path, input: &[u8], threads: usize) -> (Vec<u8>, Value) {
    format_run(dir, input, tgclean::Format::Jsonl, threads)
}

/// The same for any format.
fn format_run(
    dir: &std::path::Path,
    input: &[u8],
    format: tgclean::Format,
    threads: usize,
) -> (Vec<u8>, Value) {
    let path = dir.join("dump.json");
    let output = dir.join(format!("out-{threads}.jsonl"));
    fs::write(&path, input).unwrap();
    let config = Config {
        inputs: vec![InputSpec::Path(path)],
        output: Some(output.clone()),
        format,
        threads,
        quiet: true,
        ..Config::default()
    };
    let mut stats = serde_json::to_value(tgclean::clean(&config).unwrap()).unwrap();
    let obj = stats.as_object_mut().unwrap();
    obj.remove("seconds");
    obj.remove("mb_per_s");
    (fs::read(&output).unwrap(), stats)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// JSON Lines are parsed on the reading thread with one thread and framed there and
    /// parsed on the workers with more: the same records, problems and counts, whatever
    /// the line endings, blank lines, bad lines or invalid UTF-8.
    #[test]
    fn json_lines_give_the_same_bytes_framed_or_streamed(
        records in prop::collection::vec(
            (line(), 0u8..8, prop::sample::select(&["\n", "\r\n", "\r"][..])), 0..60),
    ) {
        let mut input = Vec::new();
        for (i, (text, kind, end)) in records.iter().enumerate() {
            match kind {
                0 => input.extend_from_slice(b"  "),
                1 => input.extend_from_slice(b"not json"),
                2 => input.extend_from_slice(b"\xC2\xA0"),
                3 => {
                    input.extend_from_slice(format!("{{\"id\": {i}, \"text\": \"bad ").as_bytes());
                    input.extend_from_slice(b"\xFF\"}");
                }
                4 => input.extend_from_slice(format!("[{i}]").as_bytes()),
                _ => input.extend_from_slice(
                    serde_json::json!({"id": i, "text": text, "channel": "c"}).to_string().as_bytes(),
                ),
            }
            input.extend_from_slice(end.as_bytes());
        }
        let dir = tempfile::tempdir().unwrap();
        let streamed = jsonl_run(dir.path(), &input, 1);
        let framed = jsonl_run(dir.path(), &input, 2);
        prop_assert_eq!(String::from_utf8_lossy(&framed.0), String::from_utf8_lossy(&streamed.0));
        prop_assert_eq!(framed.1, streamed.1);
    }

    /// TGDataset is framed and parsed on the reading thread with one thread, and parsed
    /// on the workers with more: the same records, problems and counts, with bad
    /// messages, media-only entries and channel names after their messages.
    #[test]
    fn tgdataset_gives_the_same_bytes_framed_or_streamed(
        channels in prop::collection::vec(
            prop::collection::vec((line(), 0u8..6), 0..30), 0..5),
    ) {
        let mut input = String::from("{");
        for (c, messages) in channels.iter().enumerate() {
            let texts: Vec<String> = messages.iter().enumerate().map(|(i, (text, kind))| match kind {
                0 => format!("\"{i}\": {{\"message\": \"\"}}"),
                1 => format!("\"{i}\": {{\"message\": [1]}}"),
                2 => format!("\"{i}\": {}", serde_json::json!({"message": text, "is_forwarded": true, "forwarded_from_id": 7})),
                _ => format!("\"{i}\":\n{}", serde_json::json!({"message": text, "date": 1.6e9 + i as f64})),
            }).collect();
            let sep = if c > 0 { "," } else { "" };
            input.push_str(&format!(
                "{sep}\n\"{c}\": {{\"text_messages\": {{{}}}, \"generic_media\": {{\"1\": {{}}, \"99\": {{}}}}, \"title\": \"Channel {c}\"}}",
                texts.join(",\n")
            ));
        }
        input.push_str("}\n");
        let dir = tempfile::tempdir().unwrap();
        let streamed = format_run(dir.path(), input.as_bytes(), tgclean::Format::TgDataset, 1);
        let framed = format_run(dir.path(), input.as_bytes(), tgclean::Format::TgDataset, 2);
        prop_assert_eq!(String::from_utf8_lossy(&framed.0), String::from_utf8_lossy(&streamed.0));
        prop_assert_eq!(framed.1, streamed.1);
    }
}

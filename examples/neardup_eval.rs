//! Labelled evaluation of near-duplicate posts (SPEC §8) on real texts: the RIA Novosti
//! and BBC Russian posts of `../shared/realdata`, each of 50+ words, and one edited copy
//! of every one of them (a new emoji title line, a footer added or swapped, a link
//! changed or added, or 1–3 % of the words replaced), run through `tgclean::clean` with
//! `--keep-duplicates` as a user would. Prints recall (copies named as near-duplicates
//! of their original), the false positives (originals taken for near-duplicates of one
//! another), every one of them with both texts to read, and throughput.
//!
//! ```text
//! cargo run --release --example neardup_eval [-- REALDATA_DIR] [--boilerplate off] [--near-dup J]
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;

const FILES: [&str; 2] = [
    "telethon-json-nktkln/1001101170442_messages.json",
    "telethon-json-nktkln/1001003921752_messages.json",
];
/// Message ids of the copies start here.
const COPY_ID: i64 = 1_000_000_000;

const TITLES: [&str; 6] = [
    "⚡️ Срочно",
    "🔥 Главное к этому часу",
    "❗️ Молния: важные новости дня",
    "📰 Коротко о главном",
    "🇷🇺 Новости России",
    "🔴 Оперативно",
];
const FOOTERS: [&str; 5] = [
    "👉 Подписывайтесь на наш канал: @news_aggregator",
    "Больше новостей в нашем канале — t.me/allnews_today",
    "🔔 Читайте нас в Дзене и ВКонтакте",
    "Прислать новость: @newsbot_feedback",
    "📱 Наше приложение: https://example.org/app",
];
/// Words put in for replaced ones.
const REPLACEMENTS: [&str; 8] = [
    "вчера",
    "сегодня",
    "около",
    "более",
    "почти",
    "заявил",
    "сообщили",
    "района",
];

/// A small deterministic generator (splitmix64), so that every run makes the same set.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn words(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// The edits, by name.
const EDITS: [&str; 5] = ["title", "footer", "link", "words", "footer-swap"];

/// An edited copy of `text` with edit `kind`.
fn edit(text: &str, kind: usize, rng: &mut Rng) -> String {
    match EDITS[kind] {
        "title" => format!("{}\n{text}", TITLES[rng.below(TITLES.len())]),
        "footer" => format!("{text}\n\n{}", FOOTERS[rng.below(FOOTERS.len())]),
        "footer-swap" => {
            // The last paragraph swapped for another footer when it is short (a
            // footer of the original), else a footer added.
            let mut lines: Vec<&str> = text.lines().collect();
            if let Some(last) = lines.last()
                && words(last) <= 12
                && lines.len() > 1
            {
                lines.pop();
            }
            format!(
                "{}\n\n{}",
                lines.join("\n"),
                FOOTERS[rng.below(FOOTERS.len())]
            )
        }
        "link" => {
            let new = format!("https://example.org/news/{}", rng.next() % 100_000);
            match text
                .split_whitespace()
                .find(|w| w.contains("http://") || w.contains("https://"))
            {
                Some(old) => text.replacen(old, &new, 1),
                None => format!("{text}\nПодробнее: {new}"),
            }
        }
        _ => {
            // 1 to 3 % of the words (rounded, at least one) replaced, each by another
            // word; a token holding a line break is left alone, so paragraphs stay.
            let tokens: Vec<&str> = text.split(' ').collect();
            let percent = 1 + rng.below(3);
            let n = ((words(text) * percent + 50) / 100).max(1);
            let mut out: Vec<String> = tokens.iter().map(|t| (*t).to_owned()).collect();
            let mut replaced = std::collections::HashSet::new();
            while replaced.len() < n && replaced.len() < out.len() {
                let i = rng.below(out.len());
                if out[i].contains('\n') || !out[i].chars().any(char::is_alphanumeric) {
                    continue;
                }
                if replaced.insert(i) {
                    out[i] = REPLACEMENTS[rng.below(REPLACEMENTS.len())].to_owned();
                }
            }
            out.join(" ")
        }
    }
}

struct Original {
    id: i64,
    channel: String,
    text: String,
}

fn load(dir: &std::path::Path) -> Vec<Original> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for f in FILES {
        let path = dir.join(f);
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("neardup_eval: {} not found, skipped", path.display());
            continue;
        };
        let Ok(Value::Array(posts)) = serde_json::from_slice::<Value>(&bytes) else {
            eprintln!(
                "neardup_eval: {} is not a JSON array, skipped",
                path.display()
            );
            continue;
        };
        for p in posts {
            let text = p["text"].as_str().unwrap_or_default().trim().to_owned();
            let (Some(id), Some(channel)) = (p["message_id"].as_i64(), p["channel"].as_str())
            else {
                continue;
            };
            if words(&text) >= 50 && seen.insert(text.clone()) {
                out.push(Original {
                    id,
                    channel: channel.to_owned(),
                    text,
                });
            }
        }
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut dir = PathBuf::from("../shared/realdata");
    let mut boilerplate = true;
    let mut threshold = tgclean::dedup::near::DEFAULT_THRESHOLD;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--boilerplate" => boilerplate = args.next().as_deref() != Some("off"),
            "--near-dup" => {
                threshold = args
                    .next()
                    .and_then(|j| j.parse().ok())
                    .unwrap_or(threshold)
            }
            _ => dir = PathBuf::from(a),
        }
    }
    let originals = load(&dir);
    if originals.is_empty() {
        eprintln!(
            "neardup_eval: no real posts under {}: nothing to evaluate",
            dir.display()
        );
        return Ok(());
    }
    let mut rng = Rng(20_261_129);
    let mut lines = String::new();
    let mut edit_of: HashMap<i64, (usize, i64)> = HashMap::new();
    for o in &originals {
        let line = serde_json::json!({"message_id": o.id, "channel": o.channel, "text": o.text});
        writeln!(lines, "{line}")?;
    }
    // The copies come after every original, reposted by one aggregator channel.
    for (i, o) in originals.iter().enumerate() {
        let kind = i % EDITS.len();
        let id = COPY_ID + i as i64;
        let text = edit(&o.text, kind, &mut rng);
        edit_of.insert(id, (kind, o.id));
        let line = serde_json::json!({"message_id": id, "channel": "Агрегатор", "text": text});
        writeln!(lines, "{line}")?;
    }
    let work = std::env::temp_dir().join(format!("neardup-eval-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let input = work.join("posts.jsonl");
    let output = work.join("out.jsonl");
    std::fs::write(&input, &lines)?;
    let config = tgclean::Config {
        inputs: vec![tgclean::InputSpec::Path(input.clone())],
        output: Some(output.clone()),
        keep_duplicates: true,
        near_dup: Some(threshold),
        boilerplate: boilerplate.then(Default::default),
        threads: 2,
        quiet: true,
        ..tgclean::Config::default()
    };
    let started = Instant::now();
    let stats = tgclean::clean(&config)?;
    let seconds = started.elapsed().as_secs_f64();
    let records: Vec<Value> = std::fs::read_to_string(&output)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    std::fs::remove_dir_all(&work)?;

    let id_of: HashMap<i64, &str> = records
        .iter()
        .filter_map(|r| Some((r["source"]["message_id"].as_i64()?, r["id"].as_str()?)))
        .collect();
    let text_of: HashMap<&str, &str> = records
        .iter()
        .filter_map(|r| Some((r["id"].as_str()?, r["text"].as_str()?)))
        .collect();
    let repeats: HashMap<&str, &str> = records
        .iter()
        .filter_map(|r| Some((r["id"].as_str()?, r["duplicate_of"].as_str()?)))
        .collect();
    let mut caught = [0usize; EDITS.len()];
    let mut total = [0usize; EDITS.len()];
    let mut missed = Vec::new();
    let mut false_positives = Vec::new();
    for r in &records {
        let Some(mid) = r["source"]["message_id"].as_i64() else {
            continue;
        };
        let near = r["similarity"].as_f64().filter(|_| r["similarity"] != 1);
        // A copy that became the very same post (its edit taken away as channel
        // boilerplate) is caught by the exact rule.
        let exact = r["similarity"] == 1;
        match edit_of.get(&mid) {
            Some(&(kind, original)) => {
                total[kind] += 1;
                // The original's id, or the post the original itself repeats (first
                // kept copy wins).
                let expected = id_of.get(&original).copied();
                let also = expected.and_then(|id| repeats.get(id).copied());
                let of = r["duplicate_of"].as_str();
                if (near.is_some() || exact) && of.is_some() && (of == expected || of == also) {
                    caught[kind] += 1;
                } else {
                    missed.push((EDITS[kind], mid, r["similarity"].clone()));
                }
            }
            None => {
                if let (Some(s), Some(of)) = (near, r["duplicate_of"].as_str()) {
                    false_positives.push((
                        mid,
                        s,
                        of.to_owned(),
                        r["text"].as_str().unwrap_or_default().to_owned(),
                    ));
                }
            }
        }
    }
    let copies: usize = total.iter().sum();
    let found: usize = caught.iter().sum();
    println!(
        "near-duplicate evaluation: {} real posts of 50+ words, {} edited copies; --near-dup {threshold}, boilerplate {}",
        originals.len(),
        copies,
        if boilerplate { "channel" } else { "off" }
    );
    for (k, name) in EDITS.iter().enumerate() {
        println!("  {name:<12} caught {:>4} of {:>4}", caught[k], total[k]);
    }
    let recall = found as f64 / copies.max(1) as f64;
    let precision = found as f64 / (found + false_positives.len()).max(1) as f64;
    println!(
        "recall {:.2}% ({found} of {copies}); originals flagged as near-duplicates of another original {} of {} ({:.3}%, each listed below: read them); precision if all were wrong {:.2}%",
        100.0 * recall,
        false_positives.len(),
        originals.len(),
        100.0 * false_positives.len() as f64 / originals.len() as f64,
        100.0 * precision
    );
    println!(
        "throughput: {} posts, {:.1} MB in {:.3} s: {:.0} posts/s, {:.1} MB/s (whole run, 2 threads)",
        stats.posts_read,
        stats.bytes as f64 / 1e6,
        seconds,
        stats.posts_read as f64 / seconds,
        stats.bytes as f64 / 1e6 / seconds
    );
    for (kind, mid, similarity) in &missed {
        println!("  missed: {kind} copy {mid} (similarity {similarity})");
    }
    for (mid, s, of, text) in &false_positives {
        println!(
            "\nFLAGGED ORIGINAL: original {mid}, similarity {s}, taken for {of}\n--- it:\n{text}\n--- kept:\n{}",
            text_of.get(of.as_str()).unwrap_or(&"?")
        );
    }
    Ok(())
}

//! Runs `tgclean` over the real public samples in `../shared/realdata/` when they are
//! there (they are not part of the repository), and checks what a user would check.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn realdata() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/realdata");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

/// Records of a run over one path, and the run summary.
fn clean(path: &PathBuf) -> (Vec<Value>, Value) {
    clean_with(path, &[])
}

fn clean_with(path: &PathBuf, extra: &[&str]) -> (Vec<Value>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(["clean", "--quiet", "--stats", "-"])
        .args(extra)
        .arg(path)
        .output()
        .expect("run tgclean");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stats = serde_json::from_slice(&out.stderr).expect("stats JSON on stderr");
    (records, stats)
}

fn by_file(records: &[Value]) -> HashMap<String, Vec<&Value>> {
    let mut map: HashMap<String, Vec<&Value>> = HashMap::new();
    for r in records {
        let file = r["source"]["file"].as_str().unwrap();
        let name = file.rsplit('/').next().unwrap().to_owned();
        map.entry(name).or_default().push(r);
    }
    map
}

/// Markup that would only be in a text if HTML leaked through (`<pre>` and `<results>`
/// occur as literal words in the sample chat, so they are not listed).
const MARKUP: [&str; 10] = [
    "<br",
    "<div",
    "<span",
    "<a ",
    "</a>",
    "<b>",
    "</b>",
    "<i ",
    "<tg-emoji",
    "<blockquote",
];

#[test]
fn every_sample_gives_clean_records() {
    let Some(dir) = realdata() else { return };
    let (records, stats) = clean(&dir);
    let files = by_file(&records);
    for name in [
        "1001003921752_messages.json",
        "1001101170442_messages.json",
        "1001000724666_messages.json",
        "tg_web_sample.html",
        "messages.html",
        "messages7.html",
        "public_channel.json",
        "saved.json",
    ] {
        assert!(files.contains_key(name), "no record from {name}");
    }
    let formats: HashMap<&str, &str> = [
        ("1001003921752_messages.json", "jsonl"),
        ("tg_web_sample.html", "tme-html"),
        ("messages7.html", "tg-html"),
        ("saved.json", "tg-json"),
    ]
    .into();
    for (name, format) in formats {
        assert!(
            files[name].iter().all(|r| r["source"]["format"] == format),
            "{name}"
        );
    }
    let bold = |t: &str| {
        t.match_indices("**")
            .any(|(i, _)| t[i + 2..].starts_with(|c: char| c.is_alphanumeric()))
    };
    // SOURCES.md, the folder's plain-text readme, legitimately quotes markup.
    for r in records.iter().filter(|r| r["source"]["format"] != "text") {
        let text = r["text"].as_str().unwrap();
        for m in MARKUP {
            assert!(!text.contains(m), "markup {m:?} in {text:?}");
        }
        assert!(!text.contains("](http"), "Markdown link in {text:?}");
        assert!(!bold(text), "Markdown bold in {text:?}");
        assert!(!text.contains("VIEW IN TELEGRAM"), "{text:?}");
        assert!(!text.contains("Please open Telegram"), "{text:?}");
        assert!(!text.contains("In reply to this message"), "{text:?}");
    }
    crate::balanced_dropped_total(&stats);
    assert!(stats["skipped_messages"]["service"].as_u64().unwrap() > 0);
    assert!(stats["skipped_messages"]["media_only"].as_u64().unwrap() > 0);
}

#[test]
fn forward_sources_reactions_and_views_are_found() {
    let Some(dir) = realdata() else { return };
    let (records, _) = clean(&dir);
    let files = by_file(&records);
    let forwarded = |name: &str| {
        files[name]
            .iter()
            .filter(|r| r["forwarded_from"].is_string())
            .count()
    };
    // saved.json forwards from "Other Person", "Ben" and "ForwardedFrom Person".
    assert!(forwarded("saved.json") >= 4, "{}", forwarded("saved.json"));
    // messages7.html has 21 forwarded blocks, a few of them media only or repeated.
    assert!(
        forwarded("messages7.html") >= 15,
        "{}",
        forwarded("messages7.html")
    );
    let tme = &files["tg_web_sample.html"];
    assert_eq!(tme.len(), 6);
    for r in tme {
        assert!(!r["reactions"].as_array().unwrap().is_empty(), "{r}");
        assert!(r["views"].as_u64().unwrap() >= 1000);
        assert_eq!(r["channel"], "Kumar & Solo");
        assert!(r["date"].as_str().unwrap().starts_with("2026-"));
    }
    assert_eq!(tme[0]["views"], 13_000);
    assert!(tme.iter().any(|r| {
        r["reactions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["emoji"].as_str().unwrap().starts_with("custom:"))
    }));
}

#[test]
fn exact_repeats_in_scraper_dumps_are_dropped() {
    let Some(dir) = realdata() else { return };
    // "Naked Science" holds 16 exact repeats of headline + URL posts.
    let (records, stats) = clean(&dir.join("telethon-json-nktkln/1001000724666_messages.json"));
    assert!(stats["duplicate_posts"].as_u64().unwrap() >= 16, "{stats}");
    // Posts left with no paragraph (an emoji alone) give no record either.
    assert!(
        records.len() as u64 + stats["duplicate_posts"].as_u64().unwrap()
            <= stats["posts_read"].as_u64().unwrap()
    );
    let mut ids = std::collections::HashSet::new();
    assert!(
        records
            .iter()
            .all(|r| ids.insert(r["id"].as_str().unwrap().to_owned()))
    );
}

/// The fast language detector must agree with whatlang on the real posts both label, and
/// where they differ on the Russian science channel, whatlang is the one that is wrong
/// (headlines called Bulgarian or Ukrainian): the fast detector must say Russian.
#[test]
fn fast_language_detector_agrees_with_whatlang() {
    let Some(dir) = realdata() else { return };
    let (fast, _) = clean_with(&dir, &["--lang", "fast"]);
    let (slow, _) = clean_with(&dir, &["--lang", "whatlang"]);
    assert_eq!(fast.len(), slow.len());
    let (mut both, mut agree) = (0, 0);
    for (f, s) in fast.iter().zip(&slow) {
        assert_eq!(f["id"], s["id"], "same records in the same order");
        if let (Some(a), Some(b)) = (f["lang"].as_str(), s["lang"].as_str()) {
            both += 1;
            agree += usize::from(a == b);
        }
    }
    assert!(both > 3000, "only {both} records labelled by both");
    let share = agree as f64 / both as f64;
    eprintln!("fast vs whatlang: {agree} of {both} agree ({share:.3})");
    assert!(share > 0.95, "agreement {share:.3}");
    let science = by_file(&fast)
        .remove("1001000724666_messages.json")
        .unwrap_or_default();
    let not_ru: Vec<_> = science
        .iter()
        .filter(|r| r["lang"].as_str().is_some_and(|l| l != "ru"))
        .map(|r| r["paragraphs"][0]["text"].as_str().unwrap_or(""))
        .collect();
    assert!(!science.is_empty() && not_ru.is_empty(), "{not_ru:?}");
}

/// The origin of a record (SPEC §7): forward source, else channel, else file.
fn origin(r: &Value) -> String {
    for field in [&r["forwarded_from"], &r["channel"]] {
        if let Some(s) = field.as_str() {
            return format!("c:{s}");
        }
    }
    format!("i:{}", r["source"]["file"].as_str().unwrap_or(""))
}

/// Template digest of a written paragraph, from its text and key.
fn template(p: &Value) -> [u8; 16] {
    let mut key = [0u8; 16];
    hex::decode_to_slice(p["key"].as_str().unwrap(), &mut key).unwrap();
    tgclean::text::template::template_digest(p["text"].as_str().unwrap(), &key)
}

#[test]
fn channel_boilerplate_is_gone_and_one_post_templates_stay() {
    let Some(dir) = realdata() else { return };
    // Every distinct post with all its paragraphs, to count templates per origin.
    let (all, _) = clean_with(&dir, &["--boilerplate", "off", "--dedup", "post"]);
    let mut posts: HashMap<String, usize> = HashMap::new();
    let mut counts: HashMap<(String, [u8; 16]), usize> = HashMap::new();
    for r in &all {
        let o = origin(r);
        *posts.entry(o.clone()).or_default() += 1;
        let mut seen = std::collections::HashSet::new();
        for p in r["paragraphs"].as_array().unwrap() {
            let t = template(p);
            if seen.insert(t) {
                *counts.entry((o.clone(), t)).or_default() += 1;
            }
        }
    }
    let (cleaned, stats) = clean_with(&dir, &["--dedup", "post"]);
    assert!(
        stats["paragraphs"]["dropped"]["channel_boilerplate"]
            .as_u64()
            .unwrap()
            > 0
    );
    let kept_keys: std::collections::HashSet<(String, String)> = cleaned
        .iter()
        .flat_map(|r| {
            let id = r["id"].as_str().unwrap().to_owned();
            r["paragraphs"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |p| (id.clone(), p["key"].as_str().unwrap().to_owned()))
        })
        .collect();
    for r in &cleaned {
        let o = origin(r);
        let n = posts[&o];
        for p in r["paragraphs"].as_array().unwrap() {
            let c = counts.get(&(o.clone(), template(p))).copied().unwrap_or(0);
            assert!(
                !(c >= 10 && c * 10 >= 3 * n),
                "{o}: a template in {c} of {n} posts is still written: {}",
                p["text"]
            );
        }
    }
    for r in &all {
        let o = origin(r);
        for p in r["paragraphs"].as_array().unwrap() {
            if counts[&(o.clone(), template(p))] == 1 {
                let key = (
                    r["id"].as_str().unwrap().to_owned(),
                    p["key"].as_str().unwrap().to_owned(),
                );
                assert!(
                    kept_keys.contains(&key),
                    "{o}: a paragraph whose template is in one post was dropped: {}",
                    p["text"]
                );
            }
        }
    }
}

//! Measures the language detectors on a labelled multilingual set: per language, how
//! many texts each labels right, wrong, or leaves null, and microseconds per text.
//!
//! `cargo run --release --example lang_eval`. The set (`samples.tsv` beside this file)
//! holds news-style texts in the 28 languages tgclean labels and in ten it does not
//! (labelled `-`: the right answer there is null). A wrong label counts against a
//! detector more than a null one: users filter on `lang`.

use std::collections::BTreeMap;
use std::time::Instant;

use tgclean::text::lang::LangDetector;

const SAMPLES: &str = include_str!("samples.tsv");

/// Times each detector over the whole set this many times.
const TIMING_ROUNDS: usize = 200;

fn whichlang_alone(text: &str) -> Option<&'static str> {
    use whichlang::Lang;
    Some(match whichlang::detect_language(text) {
        Lang::Ara => "ar",
        Lang::Cmn => "zh",
        Lang::Deu => "de",
        Lang::Eng => "en",
        Lang::Fra => "fr",
        Lang::Hin => "hi",
        Lang::Ita => "it",
        Lang::Jpn => "ja",
        Lang::Kor => "ko",
        Lang::Nld => "nl",
        Lang::Por => "pt",
        Lang::Rus => "ru",
        Lang::Spa => "es",
        Lang::Swe => "sv",
        Lang::Tur => "tr",
        Lang::Vie => "vi",
    })
}

#[derive(Default, Clone, Copy)]
struct Tally {
    right: u32,
    wrong: u32,
    null: u32,
}

fn main() {
    // With a file named, labels each of its lines instead (to look at one text).
    if let Some(path) = std::env::args().nth(1) {
        let text = std::fs::read_to_string(&path).expect("a readable UTF-8 file");
        for line in text.lines() {
            println!("{:?}\t{line}", LangDetector::Fast.detect_text(line));
        }
        return;
    }
    let samples: Vec<(&str, &str)> = SAMPLES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .collect();
    type Detect = Box<dyn Fn(&str) -> Option<&'static str>>;
    let detectors: Vec<(&str, Detect)> = vec![
        (
            "fast (default)",
            Box::new(|t| LangDetector::Fast.detect_text(t)),
        ),
        (
            "whatlang",
            Box::new(|t| LangDetector::Whatlang.detect_text(t)),
        ),
        ("whichlang alone", Box::new(whichlang_alone)),
    ];
    let mut per_lang: BTreeMap<&str, Vec<Tally>> = BTreeMap::new();
    let mut wrong_examples: Vec<String> = Vec::new();
    for (want, text) in &samples {
        let tallies = per_lang
            .entry(want)
            .or_insert_with(|| vec![Tally::default(); detectors.len()]);
        for (i, (name, detect)) in detectors.iter().enumerate() {
            let got = detect(text);
            let want = (*want != "-").then_some(*want);
            let t = &mut tallies[i];
            match got {
                None => {
                    t.null += 1;
                    if i == 0 && want.is_some() {
                        wrong_examples.push(format!("  {name}: {want:?} left null: {text}"));
                    }
                }
                g if g == want => t.right += 1,
                Some(g) => {
                    t.wrong += 1;
                    if i == 0 {
                        wrong_examples.push(format!("  {name}: {want:?} labelled {g}: {text}"));
                    }
                }
            }
        }
    }
    print!("| lang | n |");
    for (name, _) in &detectors {
        print!(" {name}: right / wrong / null |");
    }
    println!();
    print!("|---|---|");
    for _ in &detectors {
        print!("---|");
    }
    println!();
    let mut totals = vec![Tally::default(); detectors.len()];
    for (lang, tallies) in &per_lang {
        let n = tallies[0].right + tallies[0].wrong + tallies[0].null;
        print!("| {lang} | {n} |");
        for (i, t) in tallies.iter().enumerate() {
            print!(" {} / {} / {} |", t.right, t.wrong, t.null);
            totals[i].right += t.right;
            totals[i].wrong += t.wrong;
            totals[i].null += t.null;
        }
        println!();
    }
    print!("| all | {} |", samples.len());
    for t in &totals {
        print!(" {} / {} / {} |", t.right, t.wrong, t.null);
    }
    println!();
    println!();
    for (name, detect) in &detectors {
        let started = Instant::now();
        let mut labelled = 0usize;
        for _ in 0..TIMING_ROUNDS {
            for (_, text) in &samples {
                labelled += usize::from(detect(std::hint::black_box(text)).is_some());
            }
        }
        let per_text =
            started.elapsed().as_secs_f64() * 1e6 / (TIMING_ROUNDS * samples.len()) as f64;
        println!("{name}: {per_text:.2} µs per text ({labelled} labels)");
    }
    if !wrong_examples.is_empty() {
        println!("\nwrong and null labels of the default:");
        for w in &wrong_examples {
            println!("{w}");
        }
    }
}

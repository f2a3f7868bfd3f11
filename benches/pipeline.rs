//! Criterion benches of the hot stages on the seed documents: line classification,
//! display text + key + digest, the near-duplicate n-grams and sketch, and a whole
//! `clean` run over a repeated seed dump.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tgclean::dedup::near::PostSketch;
use tgclean::text::{grammar, normalise, shingle};
use tgclean::{Config, InputSpec};

fn seed_lines() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("seeds/")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    names
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .expect("seed")
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn stages(c: &mut Criterion) {
    let lines = seed_lines();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();

    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("grammar_classify", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(grammar::classify(black_box(l)));
            }
        })
    });
    g.bench_function("display_key_digest", |b| {
        b.iter(|| {
            for l in &lines {
                let display = normalise::display_text(black_box(l));
                let key = normalise::key_text(&display);
                black_box(normalise::digest(&key));
            }
        })
    });
    g.bench_function("ngram_hashes", |b| {
        let mut hashes = Vec::new();
        b.iter(|| {
            for l in &lines {
                hashes.clear();
                black_box(shingle::push_ngrams(black_box(l), &mut hashes));
            }
        })
    });
    // Posts of ten lines each, as the workers sketch them.
    g.bench_function("post_sketch", |b| {
        b.iter(|| {
            for post in lines.chunks(10) {
                black_box(PostSketch::of_texts(post.iter().map(String::as_str)));
            }
        })
    });
    g.finish();

    // A 10 MB dump: the seeds repeated with the copy number in each line, so most
    // paragraphs are new and dedup does real work.
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("dump.txt");
    let mut dump = String::new();
    let mut copy = 0;
    while dump.len() < 10_000_000 {
        copy += 1;
        for l in &lines {
            dump.push_str(l);
            if !l.is_empty() && copy % 3 != 0 {
                dump.push_str(&format!(" ({copy})"));
            }
            dump.push('\n');
        }
    }
    std::fs::write(&input, &dump).expect("write dump");
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(dump.len() as u64));
    g.sample_size(10);
    for threads in [1, 2] {
        let config = Config {
            inputs: vec![InputSpec::Path(input.clone())],
            output: Some(dir.path().join("out.jsonl")),
            threads,
            quiet: true,
            ..Config::default()
        };
        g.bench_function(format!("clean_10MB_threads_{threads}"), |b| {
            b.iter(|| tgclean::clean(black_box(&config)).expect("run"))
        });
    }
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);

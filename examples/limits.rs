//! Measures what this machine allows for the steps every byte of a dump goes through, so
//! that tgclean's whole-process MB/s can be read as a share of it:
//! `cargo run --release --example limits -- FILE [--mb 200]`.
//!
//! Each step runs over the first `--mb` megabytes of FILE held in memory (reading is
//! measured apart, from the page cache), on one thread and on two threads each taking
//! half the lines: read, UTF-8 validation, NFC quick check, case folding (full Unicode
//! folding by `caseless`, and std's `to_lowercase`), SHA-256 per line, JSON string
//! escaping. The steps are the library calls tgclean makes (its own fast paths for plain
//! text, ASCII and basic Cyrillic skip some of them, so it can beat a step's figure).
//! The last line adds up the steps no text skips (read, UTF-8 validation, SHA-256 per
//! line, JSON escaping) into the most a run writing full records could reach on two
//! threads doing nothing else: the figure the README's speeds are shown as a share of.

use std::io::Read;
use std::time::Instant;

use sha2::{Digest, Sha256};
use unicode_normalization::{IsNormalized, is_nfc_quick};

/// A step over some lines of the sample; returns a number so the work is not optimised
/// away.
type Step = fn(&[&str]) -> u64;

fn utf8(lines: &[&str]) -> u64 {
    lines
        .iter()
        .map(|l| u64::from(simdutf8::basic::from_utf8(l.as_bytes()).is_ok()))
        .sum()
}

fn nfc_quick(lines: &[&str]) -> u64 {
    lines
        .iter()
        .map(|l| u64::from(is_nfc_quick(l.chars()) == IsNormalized::Yes))
        .sum()
}

fn case_fold(lines: &[&str]) -> u64 {
    lines
        .iter()
        .map(|l| caseless::default_case_fold_str(l).len() as u64)
        .sum()
}

fn lowercase(lines: &[&str]) -> u64 {
    lines.iter().map(|l| l.to_lowercase().len() as u64).sum()
}

fn sha256(lines: &[&str]) -> u64 {
    lines
        .iter()
        .map(|l| u64::from(Sha256::digest(l.as_bytes())[0]))
        .sum()
}

fn json_escape(lines: &[&str]) -> u64 {
    let mut out = Vec::with_capacity(1 << 16);
    let mut total = 0;
    for l in lines {
        out.clear();
        if serde_json::to_writer(&mut out, l).is_ok() {
            total += out.len() as u64;
        }
    }
    total
}

/// MB/s of `step` over `lines` (of `bytes` bytes) on `threads` threads.
fn rate(step: Step, lines: &[&str], bytes: usize, threads: usize) -> f64 {
    let chunk = lines.len().div_ceil(threads).max(1);
    let started = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .map(|part| s.spawn(move || step(part)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    std::hint::black_box(total);
    bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: limits FILE [--mb 200]");
        std::process::exit(2);
    };
    let mb: usize = args
        .iter()
        .position(|a| a == "--mb")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let limit = mb * 1_000_000;

    // Read: the whole file once through 1 MiB reads (twice: the first warms the cache).
    let mut read_rate = 0.0;
    let mut sample = Vec::with_capacity(limit);
    for round in 0..2 {
        let mut file = std::fs::File::open(path)?;
        let mut buf = vec![0u8; 1 << 20];
        let (started, mut total) = (Instant::now(), 0usize);
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            if round == 0 && sample.len() < limit {
                sample.extend_from_slice(&buf[..n.min(limit - sample.len())]);
            }
            total += n;
        }
        read_rate = total as f64 / 1e6 / started.elapsed().as_secs_f64();
    }
    let text = String::from_utf8_lossy(&sample).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let bytes = text.len();
    println!(
        "sample: {:.0} MB, {} lines of {path}; {} cores",
        bytes as f64 / 1e6,
        lines.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("{:<22} {:>12} {:>12}", "step", "1 thread", "2 threads");
    println!(
        "{:<22} {:>7.0} MB/s {:>12}",
        "read (page cache)", read_rate, "-"
    );
    let steps: [(&str, Step); 6] = [
        ("UTF-8 validation", utf8),
        ("NFC quick check", nfc_quick),
        ("case folding (full)", case_fold),
        ("lowercase (std)", lowercase),
        ("SHA-256 per line", sha256),
        ("JSON escaping", json_escape),
    ];
    // Seconds per MB that every byte of a full record costs at least, on two threads:
    // the steps tgclean cannot skip for any text (NFC and case folding it mostly can).
    let mut floor = 1.0 / read_rate;
    for (name, step) in steps {
        let one = rate(step, &lines, bytes, 1);
        let two = rate(step, &lines, bytes, 2);
        println!("{name:<22} {one:>7.0} MB/s {two:>7.0} MB/s");
        if matches!(
            name,
            "UTF-8 validation" | "SHA-256 per line" | "JSON escaping"
        ) {
            floor += 1.0 / two;
        }
    }
    println!(
        "{:<22} {:>12} {:>7.0} MB/s  (read, UTF-8, SHA-256 per line and JSON escaping, one after another)",
        "floor of a full record",
        "-",
        1.0 / floor
    );
    Ok(())
}

//! How long loading a `--state` of 10 million keys takes: read, verify, and fill the
//! seen-set, as `tgclean clean --state` does before a run.

use criterion::{Criterion, criterion_group, criterion_main};
use tgclean::dedup::state::{SeenState, decode, encode};
use tgclean::dedup::{DedupMode, Deduper};

const KEYS: usize = 10_000_000;

fn state_bytes() -> Vec<u8> {
    let mut x: u64 = 7;
    let mut digest = || {
        let mut d = [0u8; 16];
        for half in d.chunks_mut(8) {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            half.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        d
    };
    let mut state = SeenState {
        base_keys: (0..KEYS).map(|_| digest()).collect(),
        ..SeenState::default()
    };
    encode(&mut state)
}

fn load(c: &mut Criterion) {
    let bytes = state_bytes();
    println!(
        "state file: {} bytes for {KEYS} keys = {:.2} bytes per key",
        bytes.len(),
        bytes.len() as f64 / KEYS as f64
    );
    let mut group = c.benchmark_group("state");
    group.sample_size(10);
    group.bench_function("decode_and_preload_10M_keys", |b| {
        b.iter(|| {
            let mut state = decode(&bytes).expect("valid state");
            state.accept_delta();
            let mut deduper = Deduper::new(DedupMode::Paragraph, 24);
            deduper.preload(&mut state);
            deduper.seen_keys()
        })
    });
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);

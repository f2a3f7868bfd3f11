//! Writes a `--state` file holding N pseudo-random paragraph keys and N/10 post ids, to
//! measure loading: `cargo run --release --example gen_state -- 10000000 [FILE]` (or
//! `--keys N`; FILE defaults to `gen-N.state`).

use tgclean::dedup::state::{SeenState, encode};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let positional: Vec<&String> = args
        .iter()
        .skip(1)
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || args[*i] != "--keys"))
        .map(|(_, a)| a)
        .collect();
    let keys: u64 = args
        .iter()
        .position(|a| a == "--keys")
        .and_then(|i| args.get(i + 1))
        .or_else(|| {
            positional
                .iter()
                .copied()
                .find(|a| a.parse::<u64>().is_ok())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let path = positional
        .iter()
        .find(|a| a.parse::<u64>().is_err())
        .map_or_else(|| format!("gen-{keys}.state"), |p| p.to_string());
    // splitmix64: distinct, uniformly spread 16-byte keys, like SHA-256 prefixes.
    let mut x: u64 = 0x1234_5678;
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut digest = || {
        let mut d = [0u8; 16];
        d[..8].copy_from_slice(&next().to_le_bytes());
        d[8..].copy_from_slice(&next().to_le_bytes());
        d
    };
    let mut state = SeenState {
        base_keys: (0..keys).map(|_| digest()).collect(),
        base_posts: (0..keys / 10).map(|_| digest()).collect(),
        ..SeenState::default()
    };
    let bytes = encode(&mut state);
    std::fs::write(&path, &bytes)?;
    eprintln!(
        "gen_state: {path}: {} keys + {} post ids, {} bytes, {:.2} bytes per entry",
        keys,
        keys / 10,
        bytes.len(),
        bytes.len() as f64 / (keys + keys / 10) as f64
    );
    Ok(())
}

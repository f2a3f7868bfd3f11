//! The integration test binary: the real `tgclean` executable on fixtures, the command
//! line's behaviour, and properties of whole runs.

mod blocking;
mod cli;
mod golden;
mod hostile;
mod props;
mod realdata;
mod shards;
mod state;

/// Σ of the run summary's `paragraphs.dropped`, after asserting the accounting balances:
/// `written + Σ dropped = read`.
pub fn balanced_dropped_total(stats: &serde_json::Value) -> u64 {
    let p = &stats["paragraphs"];
    let dropped: u64 = p["dropped"]
        .as_object()
        .expect("dropped is an object")
        .values()
        .map(|v| v.as_u64().expect("counts are integers"))
        .sum();
    assert_eq!(
        p["written"].as_u64().unwrap() + dropped,
        p["read"].as_u64().unwrap(),
        "written + dropped = read"
    );
    dropped
}

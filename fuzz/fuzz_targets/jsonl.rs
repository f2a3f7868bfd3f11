//! Fuzzes the scraper JSON Lines / JSON array reader with Telethon Markdown: no input may panic it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgclean::formats::CollectSink;

#[path = "common.rs"]
mod common;
use common::check;

fuzz_target!(|data: &[u8]| {
    let mut sink = CollectSink::default();
    let _ = tgclean::formats::jsonl::read("fuzz.jsonl", data, None, &mut sink);
    check(sink);
});

//! Fuzzes the Telegram Desktop JSON export reader (streamed, with escape repair): no input may panic it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgclean::formats::CollectSink;

#[path = "common.rs"]
mod common;
use common::check;

fuzz_target!(|data: &[u8]| {
    let mut sink = CollectSink::default();
    let _ = tgclean::formats::tg_json::read("fuzz.json", data, &mut sink);
    check(sink);
});

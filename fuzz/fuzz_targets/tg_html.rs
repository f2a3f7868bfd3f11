//! Fuzzes the Telegram Desktop HTML export reader: no input may panic it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgclean::formats::CollectSink;

#[path = "common.rs"]
mod common;
use common::check;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    if let Ok(mut reader) = tgclean::formats::tg_html::TgHtmlReader::new() {
        let mut sink = CollectSink::default();
        let _ = reader.read(&html, &mut sink);
        check(sink);
    }
});

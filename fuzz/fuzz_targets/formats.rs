//! Fuzzes every structured reader on the same bytes: the Telegram Desktop JSON export,
//! scraper JSON Lines / arrays, and both HTML readers. None may panic; every message they
//! yield must become a post whose accounting balances.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgclean::formats::{CollectSink, jsonl, tg_html::TgHtmlReader, tg_json, tme_html::TmeHtmlReader};
use tgclean::message::{Item, message_post};
use tgclean::post::build_post;

fn check(sink: CollectSink) {
    for item in sink.items {
        if let Item::Message(msg) = item {
            let raw = message_post(msg, true);
            let read = raw.read;
            let post = build_post(raw);
            assert_eq!(post.paragraphs.len() as u64 + post.dropped.total(), read);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut sink = CollectSink::default();
    let _ = tg_json::read("fuzz.json", data, &mut sink);
    check(sink);

    let mut sink = CollectSink::default();
    let _ = jsonl::read("fuzz.jsonl", data, None, &mut sink);
    check(sink);

    let html = String::from_utf8_lossy(data);
    if let Ok(mut reader) = TgHtmlReader::new() {
        let mut sink = CollectSink::default();
        let _ = reader.read(&html, &mut sink);
        check(sink);
    }
    if let Ok(reader) = TmeHtmlReader::new() {
        let mut sink = CollectSink::default();
        let _ = reader.read(&html, &mut sink);
        check(sink);
    }
});

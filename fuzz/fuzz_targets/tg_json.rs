//! Fuzzes the Telegram Desktop JSON export reader (streamed, with escape repair): no input may panic it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgclean::formats::CollectSink;
use tgclean::message::{Item, message_post};
use tgclean::post::build_post;

/// Every message a reader yields must become a post whose accounting balances.
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
    let _ = tgclean::formats::tg_json::read("fuzz.json", data, &mut sink);
    check(sink);
});

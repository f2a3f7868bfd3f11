//! Fuzzes the t.me/s web preview reader: no input may panic it, and a page read from its
//! tokens gives the posts its tree gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgclean::formats::CollectSink;

#[path = "common.rs"]
mod common;
use common::check;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    if let Ok(reader) = tgclean::formats::tme_html::TmeHtmlReader::new() {
        let mut sink = CollectSink::default();
        let _ = reader.read(&html, &mut sink);
        if let Ok(streamed) = tgclean::formats::tme_html::read_from_tokens(&html) {
            assert_eq!(streamed, sink.items);
        }
        check(sink);
    }
});

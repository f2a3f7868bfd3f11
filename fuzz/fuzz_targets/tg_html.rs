//! Fuzzes the Telegram Desktop HTML export reader: no input may panic it, and a page read
//! from its tokens gives the items (and continuation) its tree gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgclean::formats::CollectSink;
use tgclean::formats::tg_html::TgHtmlReader;

#[path = "common.rs"]
mod common;
use common::check;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let (Ok(mut tree_reader), Ok(mut token_reader)) = (TgHtmlReader::new(), TgHtmlReader::new())
    else {
        return;
    };
    let mut tree = CollectSink::default();
    let _ = tree_reader.read_from_tree(&html, &mut tree);
    let mut tokens = CollectSink::default();
    if let Ok(true) = token_reader.read_from_tokens(&html, &mut tokens) {
        assert_eq!(tokens.items, tree.items);
        assert_eq!(token_reader.continuation(), tree_reader.continuation());
    }
    check(tree);
});

//! What every reader target asserts about the messages it got.

use tgclean::formats::CollectSink;
use tgclean::formats::message::{Item, message_post};
use tgclean::text::post::build_post;

/// Every message a reader yields must become a post whose accounting balances.
pub fn check(sink: CollectSink) {
    for item in sink.items {
        if let Item::Message(msg) = item {
            let raw = message_post(msg, true);
            let read = raw.read;
            let post = build_post(raw);
            assert_eq!(post.paragraphs.len() as u64 + post.dropped.total(), read);
        }
    }
}

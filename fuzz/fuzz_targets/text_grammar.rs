//! Fuzzes the plain-text path from bytes to posts: line splitting, display text,
//! classification, segmentation and post building must never panic, and the
//! accounting must balance for every input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgclean::input::for_each_line;
use tgclean::normalise::display_text;
use tgclean::post::build_post;
use tgclean::segment::PostSegmenter;

fuzz_target!(|data: &[u8]| {
    let mut segmenter = PostSegmenter::new();
    let mut posts = Vec::new();
    let mut reader = data;
    let read = for_each_line("fuzz", &mut reader, |n, line| {
        let display = display_text(line);
        // Display text is a fixed point: normalising twice changes nothing.
        assert_eq!(display_text(&display), display);
        segmenter.push(n, &display, &mut posts);
        Ok(())
    });
    assert!(read.is_ok());
    segmenter.finish(&mut posts);
    for raw in posts {
        let read = raw.read;
        let post = build_post(raw);
        assert_eq!(post.paragraphs.len() as u64 + post.dropped.total(), read);
    }
});

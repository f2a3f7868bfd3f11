//! Fuzzes the plain-text path from bytes to posts: line splitting, display text,
//! classification, segmentation and post building must never panic, and the
//! accounting must balance for every input. Cutting the input where `find_cut` says a
//! post must start, and segmenting both sides apart, must give the same posts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgclean::input::for_each_line;
use tgclean::text::normalise::display_text;
use tgclean::text::post::build_post;
use tgclean::input::count_lines;
use tgclean::text::segment::{PostSegmenter, RawPost, find_cut};

fn segment(mut segmenter: PostSegmenter, data: &[u8], first: u64) -> Vec<RawPost> {
    let mut posts = Vec::new();
    let mut reader = data;
    let read = for_each_line("fuzz", &mut reader, |n, line| {
        let display = display_text(line);
        // Display text is a fixed point: normalising twice changes nothing.
        assert_eq!(display_text(&display), display);
        segmenter.push(first - 1 + n, &display, &mut posts);
        Ok(())
    });
    assert!(read.is_ok());
    segmenter.finish(&mut posts);
    posts
}

fuzz_target!(|data: &[u8]| {
    let posts = segment(PostSegmenter::new(), data, 1);
    if let Some(cut) = find_cut(data) {
        let mut parts = segment(PostSegmenter::new(), &data[..cut], 1);
        let first = 1 + count_lines(&data[..cut]);
        parts.extend(segment(PostSegmenter::after_cut(), &data[cut..], first));
        assert_eq!(parts, posts, "cut at {cut}");
    }
    for raw in posts {
        let read = raw.read;
        let post = build_post(raw);
        assert_eq!(post.paragraphs.len() as u64 + post.dropped.total(), read);
    }
});

//! Finishes a segmented post: paragraph keys, within-post dedup, the post id, inline
//! hashtags, mentions and links, and the language. Pure, so it can run on any thread.

use sha2::{Digest as _, Sha256};

use crate::text::grammar::{self, Date};
use crate::text::key_memo::{KeyMemo, KeyOf};
use crate::text::normalise::{DIGEST_LEN, Digest16};
pub use crate::text::reason::{DropCounts, Explained, Reason};
use crate::text::segment::{ParagraphKind, RawPost, Span, span_text};

/// A paragraph with its key: what dedup compares and what records carry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Paragraph {
    pub kind: ParagraphKind,
    /// 1-based input line, when the input has lines (`NonZero`: 8 bytes instead of 16,
    /// in every paragraph held between the passes).
    pub line: Option<std::num::NonZeroU64>,
    /// The marker's length in bytes: it lies in the post's `text` just before the
    /// paragraph's text, which is where a post is built to put it (eight bytes here,
    /// where a span took 24, in every paragraph held between the passes).
    pub marker: Option<u32>,
    pub t: Option<u32>,
    /// A span of the post's `text`.
    pub text: Span,
    pub key: Digest16,
    /// Length of the key text in characters, compared with `--min-dedup-chars` (at most
    /// `u32::MAX`: a longer key compares as that long).
    pub key_chars: u32,
    /// The key without links, mentions and e-mails, as channel boilerplate counts it
    /// ([`crate::text::template::template_id`]).
    pub template: u64,
}

/// A post ready for cross-post dedup and output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Post {
    pub line: Option<u64>,
    pub message_id: Option<i64>,
    pub views: Option<u64>,
    pub channel: Option<String>,
    pub forwarded_from: Option<String>,
    pub date: Option<Date>,
    pub place: Option<String>,
    pub title: Option<String>,
    /// The markers and texts of the paragraphs (dropped ones too), one after another.
    pub text: String,
    pub paragraphs: Vec<Paragraph>,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub links: Vec<String>,
    pub reactions: Vec<(String, u64)>,
    /// Detected when the post is written, so never part of a spilled post.
    #[serde(skip)]
    pub lang: Option<&'static str>,
    pub id: Digest16,
    pub read: u64,
    #[serde(with = "crate::text::reason::drop_counts_raw")]
    pub dropped: DropCounts,
    /// The paragraphs dropped while reading and finishing the post, when explaining.
    pub explain: Vec<Explained>,
    /// The near-duplicate sketch of the paragraphs that are not channel boilerplate,
    /// made on a worker just before the post is judged (never spilled).
    #[serde(skip)]
    pub sketch: Option<Box<crate::dedup::near::PostSketch>>,
    /// Set by the first pass of a two-pass run when an earlier post (of this run or of
    /// `--state`) has the same id. Such a post is nearly always an exact duplicate, which
    /// needs no sketch, so the workers make none and the decider makes it in the rare case
    /// it is needed (the earlier copy was not kept).
    pub id_seen_before: bool,
}

impl Paragraph {
    /// Its 1-based input line, when the input has lines.
    pub fn line_number(&self) -> Option<u64> {
        self.line.map(std::num::NonZeroU64::get)
    }

    /// Where its marker is in the post's `text`.
    fn marker_span(&self) -> Option<Span> {
        self.marker.map(|len| Span {
            start: self.text.start.saturating_sub(len as usize),
            end: self.text.start,
        })
    }

    /// Its marker and text, one range of the post's `text`.
    fn whole_span(&self) -> Span {
        Span {
            start: self.marker_span().map_or(self.text.start, |m| m.start),
            end: self.text.end,
        }
    }
}

impl Post {
    /// The text of a paragraph of this post.
    pub fn text_of(&self, p: &Paragraph) -> &str {
        span_text(&self.text, p.text)
    }

    /// The marker of a paragraph of this post.
    pub fn marker_of(&self, p: &Paragraph) -> Option<&str> {
        p.marker_span().map(|m| span_text(&self.text, m))
    }
}

/// Whether a block of `capacity` holding `len` has spare room worth a copy (an eighth).
fn worth_exact_copy(capacity: usize, len: usize) -> bool {
    capacity - len > len / 8
}

/// The markers and texts of `paragraphs` alone, in a block of their own length, their
/// spans moved to match; `text` itself when it holds nothing else and has little spare
/// room. The texts of paragraphs dropped within the post (a web view's preview repeated
/// by the expanded post) are read by nothing after the post is built.
fn held_text(text: String, paragraphs: &mut [Paragraph]) -> String {
    let kept: usize = paragraphs.iter().map(|p| p.whole_span().len()).sum();
    if kept == text.len() && !worth_exact_copy(text.capacity(), text.len()) {
        return text;
    }
    let mut held = String::with_capacity(kept);
    for p in paragraphs.iter_mut() {
        // The marker moves with its text: it is kept as a length before it.
        let from = p.whole_span();
        let to = held.len();
        p.text = Span {
            start: p.text.start - from.start + to,
            end: p.text.end - from.start + to,
        };
        held.push_str(span_text(&text, from));
    }
    held
}

/// A paragraph's marker as the length that lies before its text, and the text's span.
/// `RawPost::push_paragraph` puts a marker just before its text; a marker that could not
/// be told so (one longer than 4 GiB, or not just before its text, which no reader
/// makes) is kept as the start of the text instead, so no byte is lost.
fn marker_before(marker: Option<Span>, text: Span) -> (Option<u32>, Span) {
    match marker {
        None => (None, text),
        Some(m) => match u32::try_from(m.len()) {
            Ok(len) if m.end == text.start => (Some(len), text),
            _ => (
                None,
                Span {
                    start: m.start.min(text.start),
                    end: text.end.max(m.end),
                },
            ),
        },
    }
}

/// `v` in a block of its own length, when its spare room is worth a copy.
fn exact_vec<T>(mut v: Vec<T>) -> Vec<T> {
    if worth_exact_copy(v.capacity(), v.len()) {
        let mut exact = Vec::with_capacity(v.len());
        exact.append(&mut v);
        exact
    } else {
        v
    }
}

/// The post id: first 16 bytes of SHA-256 over the paragraph key digests in order.
pub fn post_id(paragraphs: &[Paragraph]) -> Digest16 {
    let mut h = Sha256::new();
    for p in paragraphs {
        h.update(p.key);
    }
    let full = h.finalize();
    let mut id = [0u8; DIGEST_LEN];
    id.copy_from_slice(&full[..DIGEST_LEN]);
    id
}

thread_local! {
    /// Each worker thread keeps its own memo, so repeats it meets are not folded again.
    static KEY_MEMO: std::cell::RefCell<KeyMemo> = std::cell::RefCell::default();
}

/// Computes keys, drops paragraphs with no letters or digits (`no_text`) and repeats of a
/// key already in the post (`repeated_in_post`), then derives the id and entities.
pub fn build_post(raw: RawPost) -> Post {
    KEY_MEMO.with_borrow_mut(|memo| build_post_with(raw, memo))
}

/// [`build_post`], looking keys up in `memo`.
pub fn build_post_with(raw: RawPost, memo: &mut KeyMemo) -> Post {
    let mut dropped = raw.dropped;
    let mut explain = raw.explain;
    let mut paragraphs: Vec<Paragraph> = Vec::with_capacity(raw.paragraphs.len());
    // Posts are usually a dozen paragraphs, where a linear scan beats hashing; a set
    // takes over for long ones so a 100k-line post is not quadratic.
    let mut in_post: std::collections::HashSet<Digest16> = std::collections::HashSet::new();
    const SCAN_LIMIT: usize = 32;
    for p in raw.paragraphs {
        let (marker, text_span) = marker_before(p.marker, p.text);
        let text = span_text(&raw.text, text_span);
        let KeyOf { digest: key, chars } = memo.key_of(text);
        let repeated = |k: &Digest16, paragraphs: &[Paragraph]| {
            if paragraphs.len() <= SCAN_LIMIT {
                paragraphs.iter().any(|q| q.key == *k)
            } else {
                in_post.contains(k)
            }
        };
        let reason = match key {
            None => Some(Reason::NoText),
            Some(k) if repeated(&k, &paragraphs) => Some(Reason::RepeatedInPost),
            Some(_) => None,
        };
        let (Some(key), None) = (key, reason) else {
            let reason = reason.unwrap_or(Reason::NoText);
            dropped.add(reason, 1);
            if raw.explaining {
                explain.push(Explained {
                    reason,
                    line: p.line,
                    text: text.to_owned(),
                });
            }
            continue;
        };
        if paragraphs.len() == SCAN_LIMIT {
            in_post.extend(paragraphs.iter().map(|q| q.key));
        }
        if paragraphs.len() >= SCAN_LIMIT {
            in_post.insert(key);
        }
        paragraphs.push(Paragraph {
            kind: p.kind,
            line: p.line.and_then(std::num::NonZeroU64::new),
            marker,
            t: p.t,
            key_chars: u32::try_from(chars).unwrap_or(u32::MAX),
            template: crate::text::template::template_id(text, &key),
            text: text_span,
            key,
        });
    }
    let mut title = raw.title;
    if !paragraphs.iter().any(|p| p.kind == ParagraphKind::Title) {
        // The title line itself had no text (an emoji alone): no title.
        title = None;
    }
    let id = post_id(&paragraphs);
    // A run with no boilerplate rule knows now every paragraph its sketch is made of.
    let sketch = if raw.sketching {
        crate::dedup::near::PostSketch::of_texts(
            paragraphs.iter().map(|p| span_text(&raw.text, p.text)),
        )
        .map(Box::new)
    } else {
        None
    };
    let mut hashtags = raw.hashtags;
    let mut mentions = raw.mentions;
    let mut links = raw.links;
    for p in &paragraphs {
        collect_entities(
            span_text(&raw.text, p.text),
            &mut hashtags,
            &mut mentions,
            &mut links,
        );
    }
    // A post of a run with a whole-run rule (no sketch yet) is held until the second
    // pass. Its text grew by doubling while it was segmented and its paragraph list was
    // sized for the paragraphs read, so about a third of what it took was spare room;
    // exact copies of what is kept keep the held posts that much smaller (less memory to
    // fault in, less spilled). The allocator does not give back a block shrunk by less
    // than half, so `shrink_to_fit` would not do it.
    let (text, paragraphs) = if raw.sketching {
        (raw.text, paragraphs)
    } else {
        let mut paragraphs = exact_vec(paragraphs);
        (held_text(raw.text, &mut paragraphs), paragraphs)
    };
    Post {
        line: raw.line,
        message_id: raw.message_id,
        views: raw.views,
        channel: raw.channel,
        forwarded_from: raw.forwarded_from,
        date: raw.date,
        place: raw.place,
        title,
        text,
        paragraphs,
        hashtags,
        mentions,
        links,
        reactions: raw.reactions,
        // Detected later, only for posts that are written (see `lang`).
        lang: None,
        id,
        read: raw.read,
        dropped,
        explain,
        sketch,
        id_seen_before: false,
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_owned());
    }
}

/// Characters trimmed from the end of a URL found in running text.
fn is_url_trailer(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '»' | '"' | '\'' | '”' | '’'
    )
}

/// Adds the inline `#hashtags`, `@mentions` and `http(s)://` links of `text`, each once,
/// in order of appearance. A `#` or `@` counts only at a word start.
pub fn collect_entities(
    text: &str,
    hashtags: &mut Vec<String>,
    mentions: &mut Vec<String>,
    links: &mut Vec<String>,
) {
    // Only `#`, `@` and `h` can start an entity; the word-boundary test (a Unicode
    // property lookup) runs for those alone.
    let starts = memchr::memchr3_iter(b'#', b'@', b'h', text.as_bytes());
    for at in starts {
        let c = char::from(text.as_bytes()[at]);
        // `h` is among the commonest letters: most are not a link, which four bytes tell
        // before the character before them is decoded.
        if c == 'h' && !text[at..].starts_with("http") {
            continue;
        }
        let prev = text[..at].chars().next_back();
        let word_start = !prev.is_some_and(grammar::is_word_char) && prev != Some('/');
        if !word_start {
            continue;
        }
        let tail = &text[at..];
        match c {
            '#' => {
                if let Ok((_, tag)) = grammar::hashtag(tail) {
                    push_unique(hashtags, tag);
                }
            }
            '@' => {
                let name: &str = {
                    let end = tail[1..]
                        .find(|c: char| !grammar::is_word_char(c))
                        .map_or(tail.len(), |e| e + 1);
                    &tail[1..end]
                };
                if !name.is_empty() {
                    push_unique(mentions, name);
                }
            }
            'h' if tail.starts_with("https://") || tail.starts_with("http://") => {
                let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
                let url = tail[..end].trim_end_matches(is_url_trailer);
                if url.len() > "https://".len() {
                    push_unique(links, url);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(texts: &[&str]) -> RawPost {
        let mut raw = RawPost {
            line: Some(1),
            read: texts.len() as u64,
            ..RawPost::default()
        };
        for t in texts {
            raw.push_paragraph(ParagraphKind::Text, None, None, None, t);
        }
        raw
    }

    #[test]
    fn within_post_repeats_and_empty_keys_are_dropped() {
        let post = build_post(raw(&["Key points:", "🤝", "key POINTS", "Other text"]));
        let texts: Vec<&str> = post.paragraphs.iter().map(|p| post.text_of(p)).collect();
        assert_eq!(texts, ["Key points:", "Other text"]);
        assert_eq!(post.dropped.get(Reason::RepeatedInPost), 1);
        assert_eq!(post.dropped.get(Reason::NoText), 1);
        assert_eq!(post.paragraphs[0].key_chars as usize, "keypoints".len());
    }

    #[test]
    fn a_post_held_for_a_second_pass_has_no_spare_room() {
        let texts = ["one", "two", "one", "two", "three"];
        let mut held = raw(&texts);
        held.text.reserve(4096);
        let mut sketched = raw(&texts);
        sketched.text.reserve(4096);
        sketched.sketching = true;
        let post = build_post(held);
        // Only the kept paragraphs' texts are held.
        assert_eq!(post.text, "onetwothree");
        assert_eq!(post.text.capacity(), post.text.len());
        assert_eq!(post.paragraphs.capacity(), 3);
        let texts: Vec<&str> = post.paragraphs.iter().map(|p| post.text_of(p)).collect();
        assert_eq!(texts, ["one", "two", "three"]);
        // A post judged at once keeps its buffers: copying them would buy nothing.
        let post = build_post(sketched);
        assert!(post.text.capacity() >= 4096);
        assert_eq!(post.paragraphs.capacity(), 5);
    }

    #[test]
    fn a_held_post_keeps_the_markers_and_texts_of_its_kept_paragraphs() {
        let mut held = RawPost::default();
        held.push_paragraph(ParagraphKind::Bullet, Some(1), Some("🔹"), None, "Same");
        held.push_paragraph(ParagraphKind::Bullet, Some(2), Some("💬"), None, "same!");
        held.push_paragraph(ParagraphKind::Bullet, Some(3), Some("1)"), Some(7), "Other");
        let mut sketched = held.clone();
        sketched.sketching = true;
        let (held, sketched) = (build_post(held), build_post(sketched));
        assert_eq!(held.text, "🔹Same1)Other");
        // Marker, text, line and stamp of each paragraph.
        type Parts = Vec<(Option<String>, String, Option<u64>, Option<u32>)>;
        let parts = |post: &Post| -> Parts {
            post.paragraphs
                .iter()
                .map(|p| {
                    (
                        post.marker_of(p).map(str::to_owned),
                        post.text_of(p).to_owned(),
                        p.line_number(),
                        p.t,
                    )
                })
                .collect()
        };
        assert_eq!(parts(&held), parts(&sketched));
        assert_eq!(held.id, sketched.id);
        assert_eq!(
            parts(&held),
            [
                (Some("🔹".to_owned()), "Same".to_owned(), Some(1), None),
                (Some("1)".to_owned()), "Other".to_owned(), Some(3), Some(7)),
            ]
        );
    }

    #[test]
    fn a_marker_is_its_length_before_the_text_or_else_part_of_the_text() {
        let span = |start, end| Span { start, end };
        assert_eq!(marker_before(None, span(3, 9)), (None, span(3, 9)));
        assert_eq!(
            marker_before(Some(span(0, 3)), span(3, 9)),
            (Some(3), span(3, 9))
        );
        // An empty marker is still a marker (written as "").
        assert_eq!(
            marker_before(Some(span(3, 3)), span(3, 9)),
            (Some(0), span(3, 9))
        );
        // Not just before the text: every byte from the marker to the text's end is kept.
        assert_eq!(
            marker_before(Some(span(0, 2)), span(3, 9)),
            (None, span(0, 9))
        );
        assert_eq!(
            marker_before(Some(span(9, 12)), span(3, 9)),
            (None, span(3, 12))
        );
        let mut raw = RawPost::default();
        raw.push_paragraph(ParagraphKind::Quote, None, Some(""), None, "Quoted");
        let post = build_post(raw);
        assert_eq!(post.marker_of(&post.paragraphs[0]), Some(""));
        assert_eq!(post.text_of(&post.paragraphs[0]), "Quoted");
    }

    #[test]
    fn a_paragraph_held_between_the_passes_takes_72_bytes() {
        // What `--pass-memory` holds per paragraph: keys, spans, line and stamp.
        assert!(std::mem::size_of::<Paragraph>() <= 72);
    }

    proptest::proptest! {
        /// A held post reads the same paragraphs as one judged at once: same markers,
        /// texts, keys and id, whatever was dropped within it.
        #[test]
        fn a_held_post_reads_like_a_sketched_one(
            paragraphs in proptest::collection::vec(
                (proptest::option::of("(|🔹|1\\)|•)"), "[aAb ]{0,4}[!.]?"),
                0..12,
            )
        ) {
            let mut held = RawPost::default();
            for (line, (marker, text)) in paragraphs.iter().enumerate() {
                held.push_paragraph(
                    ParagraphKind::Bullet,
                    Some(line as u64 + 1),
                    marker.as_deref(),
                    None,
                    text,
                );
            }
            let mut sketched = held.clone();
            sketched.sketching = true;
            let (held, sketched) = (build_post(held), build_post(sketched));
            let view = |post: &Post| -> Vec<(Option<String>, String, Digest16)> {
                post.paragraphs
                    .iter()
                    .map(|p| (post.marker_of(p).map(str::to_owned), post.text_of(p).to_owned(), p.key))
                    .collect()
            };
            proptest::prop_assert_eq!(view(&held), view(&sketched));
            proptest::prop_assert_eq!(held.id, sketched.id);
            proptest::prop_assert_eq!(&held.dropped, &sketched.dropped);
            // Nothing but the kept paragraphs is held.
            let kept: usize = view(&held)
                .iter()
                .map(|(m, t, _)| m.as_ref().map_or(0, String::len) + t.len())
                .sum();
            proptest::prop_assert_eq!(held.text.len(), kept);
        }
    }

    #[test]
    fn long_posts_dedup_like_short_ones() {
        let texts: Vec<String> = (0..100).map(|i| format!("line {}", i % 40)).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let post = build_post(raw(&refs));
        assert_eq!(post.paragraphs.len(), 40);
        assert_eq!(post.dropped.get(Reason::RepeatedInPost), 60);
    }

    #[test]
    fn id_depends_on_keys_in_order_only() {
        let a = build_post(raw(&["One line.", "Two line."]));
        let b = build_post(raw(&["ONE line", "two  LINE!"]));
        let c = build_post(raw(&["Two line.", "One line."]));
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
    }

    #[test]
    fn entities_are_found_at_word_starts() {
        let (mut h, mut m, mut l) = (Vec::new(), Vec::new(), Vec::new());
        collect_entities(
            "See #OSCE and @mfa_russia at https://example.org/a?b=1). Not a#tag or x@y.",
            &mut h,
            &mut m,
            &mut l,
        );
        assert_eq!(h, ["OSCE"]);
        assert_eq!(m, ["mfa_russia"]);
        assert_eq!(l, ["https://example.org/a?b=1"]);
    }

    #[test]
    fn drop_counts_serialise_every_reason() {
        let mut d = DropCounts::default();
        d.add(Reason::Label, 2);
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.starts_with("{\"repeated_in_post\":0,"));
        assert!(json.contains("\"label\":2"));
        // Every reason but `channel_boilerplate` and `near_duplicate`, written only by runs
        // with their rule on.
        assert_eq!(json.matches(':').count(), Reason::ALL.len() - 2);
        assert!(!json.contains("channel_boilerplate") && !json.contains("near_duplicate"));
        let with = serde_json::to_string(&d.clone().with_channel_rule(true)).unwrap();
        assert_eq!(with.matches(':').count(), Reason::ALL.len() - 1);
        assert!(with.ends_with(",\"channel_boilerplate\":0}"));
        let both = serde_json::to_string(&d.with_channel_rule(true).with_near_rule(true)).unwrap();
        assert_eq!(both.matches(':').count(), Reason::ALL.len());
        assert!(both.ends_with(",\"channel_boilerplate\":0,\"near_duplicate\":0}"));
    }
}

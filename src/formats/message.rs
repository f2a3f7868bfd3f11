//! One message from an export or scraper, and its conversion into a post: the message's
//! text is a small dump and goes through the same grammar as plain text.

use crate::text::grammar::Date;
use crate::text::normalise;
use crate::text::segment::{ParagraphKind, PostSegmenter, RawPost, looks_like_title};

/// A message as read from a structured input, before its text is classified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub message_id: Option<i64>,
    /// 1-based line in the input, for line-based inputs (JSON Lines).
    pub line: Option<u64>,
    pub channel: Option<String>,
    pub forwarded_from: Option<String>,
    pub date: Option<Date>,
    /// Plain text, lines separated by `\n`.
    pub text: String,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub links: Vec<String>,
    pub reactions: Vec<(String, u64)>,
    pub views: Option<u64>,
}

/// Why a message gave no post. Counted in the run summary, not as paragraphs: such a
/// message has no text to account for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A service message (joined, pinned, created…).
    Service,
    /// A message without text: a photo, sticker, poll or file alone.
    MediaOnly,
}

/// What a structured reader yields for each message. Items are handed on one at a time,
/// never stored in bulk, so the size difference of the variants costs nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Item {
    Message(Message),
    Skipped(Skip),
}

/// Pushes `s` to `list` unless it is empty or already there.
pub fn push_unique(list: &mut Vec<String>, s: &str) {
    if !s.is_empty() && !list.iter().any(|x| x == s) {
        list.push(s.to_owned());
    }
}

/// True when the first non-blank line of `text` is followed by a blank line and then more
/// text: the way channels set a headline apart.
fn headline_then_blank(text: &str) -> bool {
    let mut lines = text.split(['\n', '\r']).skip_while(|l| l.trim().is_empty());
    lines.next().is_some()
        && lines.next().is_some_and(|l| l.trim().is_empty())
        && lines.any(|l| !l.trim().is_empty())
}

/// The lines of a message's text, split at every LF and every CR (as
/// `split(['\n', '\r'])` would, but found with `memchr` rather than char by char).
fn lines_of(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr2(b'\n', b'\r', current.as_bytes()) {
            // Both are ASCII, so the cut is at character boundaries.
            Some(i) => {
                rest = current.get(i + 1..);
                current.get(..i)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// The post of one message. Export metadata wins over what the text says, except that
/// a forward header or place line inside the text fills what the export left empty.
/// A plain first line is the title when it reads like a headline and is set apart from
/// the rest by a blank line.
pub fn message_post(msg: Message, explaining: bool) -> RawPost {
    let mut segmenter = PostSegmenter::single_post(msg.text.len()).explaining(explaining);
    let mut out = Vec::with_capacity(1);
    for (n, line) in lines_of(&msg.text).enumerate() {
        let display = normalise::display_text(line);
        segmenter.push(n as u64 + 1, &display, &mut out);
    }
    segmenter.finish(&mut out);
    let mut post = out.pop().unwrap_or_default();
    if post.title.is_none()
        && headline_then_blank(&msg.text)
        && post.paragraphs.len() >= 2
        && post.paragraphs[0].kind == ParagraphKind::Text
        && looks_like_title(post.text_of(&post.paragraphs[0]))
    {
        post.make_title(0);
    }
    // Lines inside a message's text are not lines of the input: point at the record.
    for p in &mut post.paragraphs {
        p.line = msg.line;
    }
    for e in &mut post.explain {
        e.line = msg.line;
    }
    post.line = msg.line;
    post.message_id = msg.message_id;
    post.views = msg.views;
    if msg.channel.is_some() {
        post.channel = msg.channel;
    }
    if msg.forwarded_from.is_some() {
        post.forwarded_from = msg.forwarded_from;
    }
    if msg.date.is_some() {
        post.date = msg.date;
    }
    for tag in &msg.hashtags {
        push_unique(&mut post.hashtags, tag);
    }
    post.mentions = msg.mentions;
    post.links = msg.links;
    post.reactions.extend(msg.reactions);
    post
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::post::Reason;

    proptest::proptest! {
        #[test]
        fn lines_split_as_str_split_does(text in "[a\n\ré€ ]{0,24}") {
            let ours: Vec<&str> = lines_of(&text).collect();
            let std: Vec<&str> = text.split(['\n', '\r']).collect();
            proptest::prop_assert_eq!(ours, std);
        }
    }

    #[test]
    fn message_text_goes_through_the_grammar() {
        let post = message_post(
            Message {
                message_id: Some(42),
                channel: Some("Chan".into()),
                text:
                    "🎙 Headline here\nRead in full\n💬 A bullet point.\n#OSCE\n💬 A bullet point."
                        .into(),
                hashtags: vec!["NATO".into()],
                reactions: vec![("👍".into(), 3)],
                ..Message::default()
            },
            false,
        );
        assert_eq!(post.title.as_deref(), Some("🎙 Headline here"));
        assert_eq!(post.paragraphs.len(), 3);
        assert_eq!(post.hashtags, ["OSCE", "NATO"]);
        assert_eq!(post.dropped.get(Reason::Label), 1);
        assert_eq!(post.message_id, Some(42));
        assert_eq!(post.line, None);
        assert_eq!(post.reactions, vec![("👍".to_owned(), 3)]);
    }

    #[test]
    fn plain_headline_is_a_title_only_when_more_follows() {
        let two = message_post(
            Message {
                text: "В Китае нашли ударный кратер\n\nhttps://example.org/a".into(),
                ..Message::default()
            },
            false,
        );
        assert_eq!(two.title.as_deref(), Some("В Китае нашли ударный кратер"));
        let one = message_post(
            Message {
                text: "Учения пройдут в Белоруссии".into(),
                ..Message::default()
            },
            false,
        );
        assert_eq!(one.title, None);
        let no_gap = message_post(
            Message {
                text: "Just some text with formatting like\nthe rest of the sentence".into(),
                ..Message::default()
            },
            false,
        );
        assert_eq!(no_gap.title, None);
    }
}

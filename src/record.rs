//! The output record (SPEC §5): a borrowed view of a post, serialised straight to JSON.

use serde::{Serialize, Serializer};

use crate::normalise::Digest16;
use crate::post::{DropCounts, Post};
use crate::segment::ParagraphKind;

/// Version of the record layout, written in every record.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema of one record, as printed by `tgclean schema`.
pub const SCHEMA_JSON: &str = include_str!("record.schema.json");

/// A 16-byte digest written as 32 lower-case hex digits, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hex16(pub Digest16);

impl Serialize for Hex16 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 32];
        hex::encode_to_slice(self.0, &mut buf).map_err(serde::ser::Error::custom)?;
        match std::str::from_utf8(&buf) {
            Ok(text) => s.serialize_str(text),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

/// Where a record came from.
#[derive(Debug, Clone, Serialize)]
pub struct Source<'a> {
    pub file: &'a str,
    pub format: &'a str,
    pub line: Option<u64>,
    pub message_id: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct ParagraphOut<'a> {
    pub kind: ParagraphKind,
    pub marker: Option<&'a str>,
    pub t: Option<u32>,
    pub text: &'a str,
    pub key: Hex16,
}

#[derive(Debug, Serialize)]
pub struct ReactionOut<'a> {
    pub emoji: &'a str,
    pub count: u64,
}

/// The record that kept the first copy of a dropped paragraph or post. Both fields are
/// `null` when the first copy was seen in an earlier run (`--state`).
#[derive(Debug, Serialize)]
pub struct FirstCopy<'a> {
    pub id: Option<Hex16>,
    pub source: Option<Source<'a>>,
}

/// One line of `--explain`: a paragraph or post that was not written, and why.
#[derive(Debug, Serialize)]
pub struct ExplainRecord<'a> {
    pub reason: &'a str,
    pub source: Source<'a>,
    /// The id of the post the paragraph belonged to (`null` for a post with no text).
    pub post: Option<Hex16>,
    pub text: &'a str,
    /// For `duplicate` and `duplicate_post`: who kept the first copy.
    pub duplicate_of: Option<FirstCopy<'a>>,
}

/// One line of output.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub id: Hex16,
    pub schema: u32,
    pub source: Source<'a>,
    pub channel: Option<&'a str>,
    pub forwarded_from: Option<&'a str>,
    pub date: Option<String>,
    pub place: Option<&'a str>,
    pub title: Option<&'a str>,
    pub text: String,
    pub paragraphs: Vec<ParagraphOut<'a>>,
    pub hashtags: &'a [String],
    pub mentions: &'a [String],
    pub links: &'a [String],
    pub reactions: Vec<ReactionOut<'a>>,
    pub views: Option<u64>,
    pub lang: Option<&'a str>,
    pub dropped: &'a DropCounts,
    pub duplicate_of: Option<Hex16>,
}

impl<'a> Record<'a> {
    /// The record of `post` with only the paragraphs whose `keep` flag is set.
    ///
    /// `text` is the written paragraphs joined by newlines; a bullet, quote or title keeps
    /// its marker in front (`💬 …`, `1) …`) because that is how the post reads, while
    /// `paragraphs[].text` holds the bare text and `marker` the marker.
    pub fn new(
        post: &'a Post,
        keep: &[bool],
        source: Source<'a>,
        dropped: &'a DropCounts,
        duplicate_of: Option<Digest16>,
    ) -> Self {
        let kept = || {
            post.paragraphs
                .iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(p, _)| p)
        };
        let mut text = String::with_capacity(kept().map(|p| p.text.len() + 8).sum());
        for p in kept() {
            if !text.is_empty() {
                text.push('\n');
            }
            if let Some(marker) = &p.marker {
                text.push_str(marker);
                text.push(' ');
            }
            text.push_str(&p.text);
        }
        Record {
            id: Hex16(post.id),
            schema: SCHEMA_VERSION,
            source,
            channel: post.channel.as_deref(),
            forwarded_from: post.forwarded_from.as_deref(),
            date: post.date.map(|d| d.iso()),
            place: post.place.as_deref(),
            title: post.title.as_deref(),
            text,
            paragraphs: kept()
                .map(|p| ParagraphOut {
                    kind: p.kind,
                    marker: p.marker.as_deref(),
                    t: p.t,
                    text: &p.text,
                    key: Hex16(p.key),
                })
                .collect(),
            hashtags: &post.hashtags,
            mentions: &post.mentions,
            links: &post.links,
            reactions: post
                .reactions
                .iter()
                .map(|(emoji, count)| ReactionOut {
                    emoji,
                    count: *count,
                })
                .collect(),
            views: post.views,
            lang: post.lang,
            dropped,
            duplicate_of: duplicate_of.map(Hex16),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::build_post;
    use crate::segment::{RawParagraph, RawPost};

    #[test]
    fn record_has_every_field_and_markers_in_text() {
        let post = build_post(RawPost {
            line: Some(3),
            read: 3,
            title: Some("🎙 Interview".into()),
            paragraphs: vec![
                RawParagraph {
                    line: None,
                    kind: ParagraphKind::Title,
                    marker: Some("🎙".into()),
                    t: None,
                    text: "Interview".into(),
                },
                RawParagraph {
                    line: None,
                    kind: ParagraphKind::Bullet,
                    marker: Some("💬".into()),
                    t: None,
                    text: "First point".into(),
                },
                RawParagraph {
                    line: None,
                    kind: ParagraphKind::Text,
                    marker: None,
                    t: None,
                    text: "Dropped later".into(),
                },
            ],
            ..RawPost::default()
        });
        let source = Source {
            file: "a.txt",
            format: "text",
            line: post.line,
            message_id: None,
        };
        let record = Record::new(&post, &[true, true, false], source, &post.dropped, None);
        let v: serde_json::Value = serde_json::to_value(&record).unwrap();
        assert_eq!(v["text"], "🎙 Interview\n💬 First point");
        assert_eq!(v["paragraphs"].as_array().unwrap().len(), 2);
        assert_eq!(v["paragraphs"][1]["marker"], "💬");
        assert_eq!(v["paragraphs"][1]["text"], "First point");
        assert_eq!(v["source"]["line"], 3);
        assert_eq!(v["id"].as_str().unwrap().len(), 32);
        assert!(v["duplicate_of"].is_null());
        let schema: serde_json::Value = serde_json::from_str(SCHEMA_JSON).unwrap();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut required_sorted = required.clone();
        required_sorted.sort_unstable();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        assert_eq!(keys_sorted, required_sorted);
    }
}

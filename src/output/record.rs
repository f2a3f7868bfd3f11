//! The output record (SPEC §5): a borrowed view of a post, serialised straight to JSON.

use serde::{Serialize, Serializer};

use crate::output::json;
use crate::text::normalise::Digest16;
use crate::text::post::{DropCounts, Paragraph, Post};
use crate::text::segment::ParagraphKind;

/// Version of the record layout, written in every record: 2 adds `similarity`. A run
/// with `--near-dup off` writes version 1, the records of the engine before that rule.
pub const SCHEMA_VERSION: u32 = 2;

/// The JSON Schema of one record, as printed by `tgclean schema`.
pub const SCHEMA_JSON: &str = include_str!("record.schema.json");

/// A top-level field of a record, in schema order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
    Schema,
    Source,
    Channel,
    ForwardedFrom,
    Date,
    Place,
    Title,
    Text,
    Paragraphs,
    Hashtags,
    Mentions,
    Links,
    Reactions,
    Views,
    Lang,
    Dropped,
    DuplicateOf,
    Similarity,
}

impl Field {
    /// Every field, in schema order.
    pub const ALL: [Field; 19] = [
        Field::Id,
        Field::Schema,
        Field::Source,
        Field::Channel,
        Field::ForwardedFrom,
        Field::Date,
        Field::Place,
        Field::Title,
        Field::Text,
        Field::Paragraphs,
        Field::Hashtags,
        Field::Mentions,
        Field::Links,
        Field::Reactions,
        Field::Views,
        Field::Lang,
        Field::Dropped,
        Field::DuplicateOf,
        Field::Similarity,
    ];

    /// The field's name in records.
    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Schema => "schema",
            Field::Source => "source",
            Field::Channel => "channel",
            Field::ForwardedFrom => "forwarded_from",
            Field::Date => "date",
            Field::Place => "place",
            Field::Title => "title",
            Field::Text => "text",
            Field::Paragraphs => "paragraphs",
            Field::Hashtags => "hashtags",
            Field::Mentions => "mentions",
            Field::Links => "links",
            Field::Reactions => "reactions",
            Field::Views => "views",
            Field::Lang => "lang",
            Field::Dropped => "dropped",
            Field::DuplicateOf => "duplicate_of",
            Field::Similarity => "similarity",
        }
    }
}

/// The fields a run writes (`--fields`): always `id`, the rest as asked, in schema order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSet(u32);

impl Default for FieldSet {
    fn default() -> Self {
        FieldSet::ALL
    }
}

/// Set in a [`FieldSet`] whose records are of schema 2 (not a field).
const SCHEMA_2: u32 = 1 << 31;

impl FieldSet {
    /// Every field: the whole record.
    pub const ALL: FieldSet = FieldSet(((1 << Field::ALL.len()) - 1) | SCHEMA_2);

    /// Whether `field` is written.
    pub fn has(self, field: Field) -> bool {
        self.0 & (1 << field as u32) != 0
    }

    /// These fields in records of schema 2 (`on`: the near-duplicate rule is on), or of
    /// schema 1, which have no `similarity`.
    pub fn with_similarity(self, on: bool) -> FieldSet {
        if on {
            FieldSet(self.0 | SCHEMA_2)
        } else {
            FieldSet(self.0 & !SCHEMA_2 & !(1 << Field::Similarity as u32))
        }
    }

    /// The schema version of the records written.
    pub fn schema_version(self) -> u32 {
        if self.0 & SCHEMA_2 != 0 {
            SCHEMA_VERSION
        } else {
            1
        }
    }

    /// A comma-separated list of field names; `id` is added when it is not named.
    pub fn parse(list: &str) -> Result<FieldSet, String> {
        let mut bits = (1 << Field::Id as u32) | SCHEMA_2;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let field = Field::ALL
                .into_iter()
                .find(|f| f.name() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
                    format!(
                        "{name:?} is not a record field (fields: {})",
                        known.join(", ")
                    )
                })?;
            bits |= 1 << field as u32;
        }
        Ok(FieldSet(bits))
    }
}

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

/// How similar a written duplicate post is to the post it repeats: `1` for the same
/// post, the Jaccard similarity (3 decimals) for a near-duplicate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Similarity {
    Exact,
    Near(f64),
}

impl Similarity {
    /// A near-duplicate's similarity, rounded to 3 decimals as records carry it.
    pub fn near(similarity: f64) -> Similarity {
        Similarity::Near((similarity * 1000.0).round() / 1000.0)
    }
}

impl Serialize for Similarity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Similarity::Exact => s.serialize_u32(1),
            Similarity::Near(x) => s.serialize_f64(*x),
        }
    }
}

/// What a record says of the earlier post it repeats (`duplicate_of`, `similarity`):
/// nothing for a post that repeats none.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Repeats {
    /// The earlier post's id (`None` when an earlier run kept it under no name).
    pub of: Option<Digest16>,
    /// How similar the two are; `None` on a post that repeats none.
    pub similarity: Option<Similarity>,
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
    /// For `channel_boilerplate`: the number of the origin's posts the paragraph's
    /// template occurs in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_posts: Option<u32>,
    /// For `near_duplicate`: the similarity to the kept post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<Similarity>,
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
    /// Schema 2 only (absent from schema 1 records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<Option<Similarity>>,
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
        repeats: Repeats,
        schema: u32,
    ) -> Self {
        let kept = || kept(post, keep);
        let mut text = String::with_capacity(kept().map(|p| p.text.len() + 8).sum());
        for p in kept() {
            if !text.is_empty() {
                text.push('\n');
            }
            if let Some(marker) = post.marker_of(p) {
                text.push_str(marker);
                text.push(' ');
            }
            text.push_str(post.text_of(p));
        }
        Record {
            id: Hex16(post.id),
            schema,
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
                    marker: post.marker_of(p),
                    t: p.t,
                    text: post.text_of(p),
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
            duplicate_of: repeats.of.map(Hex16),
            similarity: (schema >= 2).then_some(repeats.similarity),
        }
    }
}

/// The paragraphs of `post` whose `keep` flag is set, in order.
fn kept<'p, 'k>(
    post: &'p Post,
    keep: &'k [bool],
) -> impl Iterator<Item = &'p Paragraph> + use<'p, 'k> {
    post.paragraphs
        .iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(p, _)| p)
}

/// Appends the record of `post` (as [`Record::new`] makes it) and a newline to `out`,
/// byte for byte as `serde_json` would write it, without building the record: the joined
/// text, the paragraph list and the reactions are written straight from the post. Only
/// the `fields` asked for are written (and built).
pub fn write_record(
    out: &mut Vec<u8>,
    post: &Post,
    keep: &[bool],
    source: &Source<'_>,
    dropped: &DropCounts,
    repeats: Repeats,
    fields: FieldSet,
) {
    let kept = || kept(post, keep);
    out.extend_from_slice(b"{\"id\":");
    json::write_hex16(out, &post.id);
    if fields.has(Field::Schema) {
        out.extend_from_slice(b",\"schema\":");
        json::write_int(out, fields.schema_version());
    }
    if fields.has(Field::Source) {
        out.extend_from_slice(b",\"source\":");
        write_source(out, source);
    }
    if fields.has(Field::Channel) {
        out.extend_from_slice(b",\"channel\":");
        json::write_opt_str(out, post.channel.as_deref());
    }
    if fields.has(Field::ForwardedFrom) {
        out.extend_from_slice(b",\"forwarded_from\":");
        json::write_opt_str(out, post.forwarded_from.as_deref());
    }
    if fields.has(Field::Date) {
        out.extend_from_slice(b",\"date\":");
        json::write_opt_str(out, post.date.map(|d| d.iso()).as_deref());
    }
    if fields.has(Field::Place) {
        out.extend_from_slice(b",\"place\":");
        json::write_opt_str(out, post.place.as_deref());
    }
    if fields.has(Field::Title) {
        out.extend_from_slice(b",\"title\":");
        json::write_opt_str(out, post.title.as_deref());
    }
    // Each paragraph's text is escaped once, into the joined text when it is written
    // (the paragraph list copies it from there), else into a scratch buffer.
    let mut escaped = Vec::with_capacity(post.paragraphs.len());
    let mut scratch = Vec::new();
    if fields.has(Field::Text) {
        out.extend_from_slice(b",\"text\":\"");
        for (i, p) in kept().enumerate() {
            if i > 0 {
                out.extend_from_slice(b"\\n");
            }
            if let Some(marker) = post.marker_of(p) {
                json::write_str_contents(out, marker);
                out.push(b' ');
            }
            let start = out.len();
            json::write_str_contents(out, post.text_of(p));
            escaped.push(start..out.len());
        }
        out.push(b'"');
    } else if fields.has(Field::Paragraphs) {
        for p in kept() {
            let start = scratch.len();
            json::write_str_contents(&mut scratch, post.text_of(p));
            escaped.push(start..scratch.len());
        }
    }
    if fields.has(Field::Paragraphs) {
        out.extend_from_slice(b",\"paragraphs\":[");
        for ((i, p), text) in kept().enumerate().zip(escaped) {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"kind\":\"");
            out.extend_from_slice(p.kind.name().as_bytes());
            out.extend_from_slice(b"\",\"marker\":");
            json::write_opt_str(out, post.marker_of(p));
            out.extend_from_slice(b",\"t\":");
            json::write_opt_int(out, p.t);
            out.extend_from_slice(b",\"text\":\"");
            if fields.has(Field::Text) {
                out.extend_from_within(text);
            } else {
                out.extend_from_slice(scratch.get(text).unwrap_or_default());
            }
            out.push(b'"');
            out.extend_from_slice(b",\"key\":");
            json::write_hex16(out, &p.key);
            out.push(b'}');
        }
        out.push(b']');
    }
    if fields.has(Field::Hashtags) {
        out.extend_from_slice(b",\"hashtags\":");
        write_str_list(out, &post.hashtags);
    }
    if fields.has(Field::Mentions) {
        out.extend_from_slice(b",\"mentions\":");
        write_str_list(out, &post.mentions);
    }
    if fields.has(Field::Links) {
        out.extend_from_slice(b",\"links\":");
        write_str_list(out, &post.links);
    }
    if fields.has(Field::Reactions) {
        out.extend_from_slice(b",\"reactions\":[");
        for (i, (emoji, count)) in post.reactions.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"emoji\":");
            json::write_str(out, emoji);
            out.extend_from_slice(b",\"count\":");
            json::write_int(out, *count);
            out.push(b'}');
        }
        out.push(b']');
    }
    if fields.has(Field::Views) {
        out.extend_from_slice(b",\"views\":");
        json::write_opt_int(out, post.views);
    }
    if fields.has(Field::Lang) {
        out.extend_from_slice(b",\"lang\":");
        json::write_opt_str(out, post.lang);
    }
    if fields.has(Field::Dropped) {
        out.extend_from_slice(b",\"dropped\":{");
        for (i, reason) in dropped.written_reasons().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::write_key(out, reason.name());
            json::write_int(out, dropped.get(reason));
        }
        out.push(b'}');
    }
    if fields.has(Field::DuplicateOf) {
        out.extend_from_slice(b",\"duplicate_of\":");
        match repeats.of {
            Some(d) => json::write_hex16(out, &d),
            None => out.extend_from_slice(b"null"),
        }
    }
    if fields.has(Field::Similarity) && fields.schema_version() >= 2 {
        out.extend_from_slice(b",\"similarity\":");
        match repeats.similarity {
            Some(Similarity::Exact) => out.push(b'1'),
            // Written by serde_json (shortest round-trip form), as the serde record is.
            Some(Similarity::Near(x)) => match serde_json::to_vec(&x) {
                Ok(number) => out.extend_from_slice(&number),
                Err(_) => out.extend_from_slice(b"null"),
            },
            None => out.extend_from_slice(b"null"),
        }
    }
    out.extend_from_slice(b"}\n");
}

fn write_source(out: &mut Vec<u8>, source: &Source<'_>) {
    out.extend_from_slice(b"{\"file\":");
    json::write_str(out, source.file);
    out.extend_from_slice(b",\"format\":");
    json::write_str(out, source.format);
    out.extend_from_slice(b",\"line\":");
    json::write_opt_int(out, source.line);
    out.extend_from_slice(b",\"message_id\":");
    json::write_opt_int(out, source.message_id);
    out.push(b'}');
}

fn write_str_list(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::write_str(out, s);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::post::build_post;
    use crate::text::segment::RawPost;

    #[test]
    fn record_has_every_field_and_markers_in_text() {
        let mut raw = RawPost {
            line: Some(3),
            read: 3,
            title: Some("🎙 Interview".into()),
            ..RawPost::default()
        };
        raw.push_paragraph(ParagraphKind::Title, None, Some("🎙"), None, "Interview");
        raw.push_paragraph(ParagraphKind::Bullet, None, Some("💬"), None, "First point");
        raw.push_paragraph(ParagraphKind::Text, None, None, None, "Dropped later");
        let post = build_post(raw);
        let source = Source {
            file: "a.txt",
            format: "text",
            line: post.line,
            message_id: None,
        };
        let record = Record::new(
            &post,
            &[true, true, false],
            source,
            &post.dropped,
            Repeats::default(),
            SCHEMA_VERSION,
        );
        let v: serde_json::Value = serde_json::to_value(&record).unwrap();
        assert_eq!(v["text"], "🎙 Interview\n💬 First point");
        assert_eq!(v["paragraphs"].as_array().unwrap().len(), 2);
        assert_eq!(v["paragraphs"][1]["marker"], "💬");
        assert_eq!(v["paragraphs"][1]["text"], "First point");
        assert_eq!(v["source"]["line"], 3);
        assert_eq!(v["id"].as_str().unwrap().len(), 32);
        assert!(v["duplicate_of"].is_null());
        assert!(v["similarity"].is_null());
        let schema: serde_json::Value = serde_json::from_str(SCHEMA_JSON).unwrap();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        // Schema 2 requires `similarity` too (its `then`).
        let mut required_sorted = required.clone();
        required_sorted.push(schema["then"]["required"][0].as_str().unwrap());
        required_sorted.sort_unstable();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        assert_eq!(keys_sorted, required_sorted);
    }
}

#[cfg(test)]
mod writer_tests {
    use super::*;
    use crate::text::grammar::Date;
    use crate::text::post::build_post;
    use crate::text::segment::RawPost;
    use proptest::prelude::*;

    /// Text with what JSON escapes, non-ASCII and emoji among plain words.
    fn text() -> impl Strategy<Value = String> {
        "([a-zA-Zа-яё0-9 ]{0,12}[\"\\\\\\x00-\\x1f\\x7fé😀🇷🇺]?){0,5}"
    }

    fn kind() -> impl Strategy<Value = ParagraphKind> {
        prop_oneof![
            Just(ParagraphKind::Title),
            Just(ParagraphKind::Text),
            Just(ParagraphKind::Bullet),
            Just(ParagraphKind::Quote),
            Just(ParagraphKind::Transcript),
        ]
    }

    /// Kind, marker, time stamp and text of a paragraph.
    type ParagraphParts = (ParagraphKind, Option<String>, Option<u32>, String);

    fn paragraph() -> impl Strategy<Value = ParagraphParts> {
        (
            kind(),
            proptest::option::of(text()),
            proptest::option::of(any::<u32>()),
            text(),
        )
    }

    prop_compose! {
        fn post()(
            paragraphs in proptest::collection::vec(paragraph(), 0..6),
            names in proptest::collection::vec(proptest::option::of(text()), 4),
            lists in proptest::collection::vec(proptest::collection::vec(text(), 0..3), 3),
            reactions in proptest::collection::vec((text(), any::<u64>()), 0..3),
            numbers in (any::<Option<u64>>(), any::<Option<i64>>(), any::<Option<u64>>()),
            day in proptest::option::of((1900u16..2100, 1u8..=12, 1u8..=28)),
            lang in proptest::option::of(prop_oneof![Just("en"), Just("ru")]),
        ) -> Post {
            let [channel, forwarded_from, place, title]: [Option<String>; 4] =
                names.try_into().unwrap();
            let [hashtags, mentions, links]: [Vec<String>; 3] = lists.try_into().unwrap();
            let mut raw = RawPost {
                line: numbers.0,
                message_id: numbers.1,
                views: numbers.2,
                channel,
                forwarded_from,
                date: day.and_then(|(y, m, d)| Date::new(y, m, d)),
                place,
                title,
                hashtags,
                mentions,
                links,
                reactions,
                ..RawPost::default()
            };
            for (kind, marker, t, text) in &paragraphs {
                raw.push_paragraph(*kind, None, marker.as_deref(), *t, text);
            }
            let mut post = build_post(raw);
            post.lang = lang;
            post
        }
    }

    proptest! {
        /// The hand-written record is the serde one, byte for byte.
        #[test]
        fn write_record_matches_serde_json(
            post in post(),
            keep_bits in any::<u8>(),
            file in text(),
            duplicate_of in any::<Option<[u8; 16]>>(),
            similarity in proptest::option::of(prop_oneof![
                Just(Similarity::Exact),
                (0u32..=1000).prop_map(|m| Similarity::near(f64::from(m) / 1000.0)),
            ]),
            schema_2 in any::<bool>(),
        ) {
            let keep: Vec<bool> =
                (0..post.paragraphs.len()).map(|i| keep_bits >> (i % 8) & 1 == 1).collect();
            let source = Source {
                file: &file,
                format: "text",
                line: post.line,
                message_id: post.message_id,
            };
            let repeats = Repeats { of: duplicate_of, similarity };
            let fields = FieldSet::ALL.with_similarity(schema_2);
            let record = Record::new(
                &post, &keep, source.clone(), &post.dropped, repeats, fields.schema_version(),
            );
            let mut expected = serde_json::to_vec(&record).unwrap();
            expected.push(b'\n');
            let mut ours = Vec::new();
            write_record(&mut ours, &post, &keep, &source, &post.dropped, repeats, fields);
            prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(expected).unwrap());
        }

        /// A projection has the values of the whole record, less the fields left out.
        #[test]
        fn a_projection_is_the_record_less_its_other_fields(
            post in post(),
            keep_bits in any::<u8>(),
            field_bits in any::<u32>(),
        ) {
            let keep: Vec<bool> =
                (0..post.paragraphs.len()).map(|i| keep_bits >> (i % 8) & 1 == 1).collect();
            let source = Source { file: "f", format: "text", line: post.line, message_id: None };
            let names: Vec<&str> = Field::ALL
                .iter()
                .filter(|f| field_bits >> (**f as u32) & 1 == 1)
                .map(|f| f.name())
                .collect();
            let fields = FieldSet::parse(&names.join(",")).unwrap();
            let mut whole = Vec::new();
            let none = Repeats::default();
            write_record(&mut whole, &post, &keep, &source, &post.dropped, none, FieldSet::ALL);
            let mut part = Vec::new();
            write_record(&mut part, &post, &keep, &source, &post.dropped, none, fields);
            let whole: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&whole).unwrap();
            let part: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&part).unwrap();
            let expected: Vec<(&String, &serde_json::Value)> =
                whole.iter().filter(|(k, _)| *k == "id" || names.contains(&k.as_str())).collect();
            let got: Vec<(&String, &serde_json::Value)> = part.iter().collect();
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn field_lists_parse_and_unknown_names_are_refused() {
        let f = FieldSet::parse("text, lang").unwrap();
        assert!(f.has(Field::Id) && f.has(Field::Text) && f.has(Field::Lang));
        assert!(!f.has(Field::Paragraphs));
        assert_eq!(
            FieldSet::parse(
                "id,schema,source,channel,forwarded_from,date,place,title,text,paragraphs,hashtags,mentions,links,reactions,views,lang,dropped,duplicate_of,similarity"
            ),
            Ok(FieldSet::ALL)
        );
        assert_eq!(FieldSet::ALL.schema_version(), 2);
        let v1 = FieldSet::ALL.with_similarity(false);
        assert_eq!(v1.schema_version(), 1);
        assert!(!v1.has(Field::Similarity) && v1.has(Field::DuplicateOf));
        let err = FieldSet::parse("id,txt").unwrap_err();
        assert!(err.contains("\"txt\" is not a record field"), "{err}");
    }
}

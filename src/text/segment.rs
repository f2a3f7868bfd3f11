//! Groups classified lines into posts (SPEC §3): a post starts at a header and ends at a
//! reaction line or the next header; a file without markers is one document.

use crate::text::grammar::{self, Classified, Date, Line};
use crate::text::reason::{DropCounts, Explained, Reason};

/// What a paragraph is, as written in records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParagraphKind {
    Title,
    Text,
    Bullet,
    Quote,
    Transcript,
}

impl ParagraphKind {
    /// The name written in records.
    pub fn name(self) -> &'static str {
        match self {
            ParagraphKind::Title => "title",
            ParagraphKind::Text => "text",
            ParagraphKind::Bullet => "bullet",
            ParagraphKind::Quote => "quote",
            ParagraphKind::Transcript => "transcript",
        }
    }
}

impl serde::Serialize for ParagraphKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Reads the name written by `Serialize`, so that posts can be spilled and read back.
impl<'de> serde::Deserialize<'de> for ParagraphKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        [
            ParagraphKind::Title,
            ParagraphKind::Text,
            ParagraphKind::Bullet,
            ParagraphKind::Quote,
            ParagraphKind::Transcript,
        ]
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown paragraph kind {name:?}")))
    }
}

/// Where a paragraph's text or marker sits in its post's text buffer. A post keeps the
/// text of all its paragraphs in one `String`, so reading a line costs no allocation of
/// its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// The text a span names in `buffer` (empty if it does not fit, which cannot happen for
/// a span made by [`push_span`]).
pub fn span_text(buffer: &str, span: Span) -> &str {
    buffer.get(span.start..span.end).unwrap_or_default()
}

/// Appends `text` to `buffer` and names where it went.
pub fn push_span(buffer: &mut String, text: &str) -> Span {
    let start = buffer.len();
    buffer.push_str(text);
    Span {
        start,
        end: buffer.len(),
    }
}

/// One paragraph as read, in display form, before keys are computed. Its marker and
/// text are spans of the post's `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawParagraph {
    pub kind: ParagraphKind,
    /// 1-based input line, when the input has lines.
    pub line: Option<u64>,
    pub marker: Option<Span>,
    pub t: Option<u32>,
    pub text: Span,
}

/// One post as segmented from the input: its paragraphs and the metadata lines
/// (headers, reactions, hashtags, dates) already taken out of the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawPost {
    /// 1-based line of the first line of the post, when the input has lines.
    pub line: Option<u64>,
    /// The message id given by an export or scraper.
    pub message_id: Option<i64>,
    pub views: Option<u64>,
    pub channel: Option<String>,
    pub forwarded_from: Option<String>,
    pub date: Option<Date>,
    pub place: Option<String>,
    pub title: Option<String>,
    /// The markers and texts of all paragraphs, one after another.
    pub text: String,
    pub paragraphs: Vec<RawParagraph>,
    pub hashtags: Vec<String>,
    /// Mentions and links an export marked as entities (more are found in the text).
    pub mentions: Vec<String>,
    pub links: Vec<String>,
    pub reactions: Vec<(String, u64)>,
    /// Input paragraphs (non-blank lines and glued boilerplate fragments) read.
    pub read: u64,
    pub dropped: DropCounts,
    /// When set, every dropped paragraph is also kept in `explain` (for `--explain`).
    pub explaining: bool,
    pub explain: Vec<Explained>,
    /// When set, the finished post gets its near-duplicate sketch over all its paragraphs
    /// (a run with no channel boilerplate rule).
    pub sketching: bool,
}

impl RawPost {
    /// True while nothing but a header has been seen.
    fn has_content(&self) -> bool {
        self.read > self.dropped.get(Reason::Header)
    }

    /// The text of a paragraph of this post.
    pub fn text_of(&self, p: &RawParagraph) -> &str {
        span_text(&self.text, p.text)
    }

    /// The marker of a paragraph of this post.
    pub fn marker_of(&self, p: &RawParagraph) -> Option<&str> {
        p.marker.map(|m| span_text(&self.text, m))
    }

    /// Appends a paragraph, its marker and text copied into the post's text.
    pub fn push_paragraph(
        &mut self,
        kind: ParagraphKind,
        line: Option<u64>,
        marker: Option<&str>,
        t: Option<u32>,
        text: &str,
    ) {
        let marker = marker.map(|m| push_span(&mut self.text, m));
        let text = push_span(&mut self.text, text);
        self.paragraphs.push(RawParagraph {
            kind,
            line,
            marker,
            t,
            text,
        });
    }

    /// Makes paragraph `index` the title; a trailing `(Place, Date)` also sets `date` and
    /// `place` when they are not known yet.
    pub fn make_title(&mut self, index: usize) {
        let Some(p) = self.paragraphs.get_mut(index) else {
            return;
        };
        p.kind = ParagraphKind::Title;
        let text = span_text(&self.text, p.text);
        let title = match p.marker {
            Some(m) => format!("{} {text}", span_text(&self.text, m)),
            None => text.to_owned(),
        };
        if self.date.is_none()
            && let Some((place, date)) = grammar::title_place_date(&title)
        {
            self.date = Some(date);
            self.place = place.map(str::to_owned);
        }
        self.title = Some(title);
    }
}

/// Longest first line of a header-less document that is still taken as its title.
const MAX_TITLE_CHARS: usize = 200;

/// True when the first line of a document reads like a headline: short and not
/// ending like a sentence or a lead-in.
pub fn looks_like_title(text: &str) -> bool {
    text.chars().count() <= MAX_TITLE_CHARS
        && !text.ends_with(['.', ':', ';', ',', '…'])
        && text.chars().any(char::is_alphabetic)
}

/// Turns a stream of display lines into posts. Feed lines with [`PostSegmenter::push`]
/// and collect finished posts; call [`PostSegmenter::finish`] at the end of a file.
#[derive(Debug, Default)]
pub struct PostSegmenter {
    current: RawPost,
    /// False for the text of one exported message: headers and reaction lines inside it
    /// are taken as metadata but do not split it.
    split_posts: bool,
    /// True until the first post of the file has been closed: a header-less first post
    /// is a document whose first line may be its title.
    at_file_start: bool,
    /// A time stamp alone on its line, waiting for the text it stamps.
    pending_t: Option<u32>,
    /// Keep dropped lines for `--explain`.
    explaining: bool,
    /// Sketch finished posts (near-duplicate posts, no boilerplate rule).
    sketching: bool,
    /// The line being pushed, for `--explain` (a reused buffer).
    line_no: u64,
    line_text: String,
    /// A post whose paragraphs reach this many bytes is closed and the text goes on in
    /// a new post (`--max-post-bytes`); 0 means no limit.
    max_post_bytes: usize,
    current_bytes: usize,
    /// Text bytes of the last post closed: the room made for the next one's text.
    typical_post_bytes: usize,
    /// Lines at which a post was split for being too long.
    pub splits: Vec<u64>,
}

impl PostSegmenter {
    pub fn new() -> Self {
        PostSegmenter {
            split_posts: true,
            at_file_start: true,
            ..PostSegmenter::default()
        }
    }

    /// Splits posts whose paragraphs pass `bytes` bytes (0: never).
    pub fn max_post_bytes(mut self, bytes: usize) -> Self {
        self.max_post_bytes = bytes;
        self
    }

    /// Keeps every dropped line (reason, line, text) in its post, for `--explain`.
    pub fn explaining(mut self, on: bool) -> Self {
        self.explaining = on;
        self.current.explaining = on;
        self
    }

    /// Gives each finished post its near-duplicate sketch over all its paragraphs.
    pub fn sketching(mut self, on: bool) -> Self {
        self.sketching = on;
        self.current.sketching = on;
        self
    }

    /// A segmenter for text that starts at a cut found by [`find_cut`] somewhere after the
    /// start of the input: its first post is not the input's first document.
    pub fn after_cut() -> Self {
        PostSegmenter {
            at_file_start: false,
            ..PostSegmenter::new()
        }
    }

    /// A segmenter for the text of one message: everything is one post, and a plain first
    /// line is not taken as a document title (see `message::message_post`). Room for
    /// `text_bytes` (about what the post's text will take) is made at once.
    pub fn single_post(text_bytes: usize) -> Self {
        PostSegmenter {
            typical_post_bytes: text_bytes,
            ..PostSegmenter::default()
        }
    }

    fn close(&mut self, out: &mut Vec<RawPost>) {
        let post = std::mem::replace(
            &mut self.current,
            RawPost {
                explaining: self.explaining,
                sketching: self.sketching,
                ..RawPost::default()
            },
        );
        self.at_file_start = false;
        self.pending_t = None;
        self.current_bytes = 0;
        // Capped, so that one huge post does not make every later one reserve as much.
        self.typical_post_bytes = post.text.len().min(64 << 10);
        if post.read > 0 {
            out.push(post);
        }
    }

    fn start_at(&mut self, line_no: u64) {
        if self.current.read == 0 {
            self.current.line = Some(line_no);
        }
    }

    /// Feeds one display-normalised line (may be empty). Finished posts go to `out`.
    pub fn push(&mut self, line_no: u64, line: &str, out: &mut Vec<RawPost>) {
        if line.is_empty() {
            return;
        }
        self.line_no = line_no;
        if self.explaining {
            self.line_text.clear();
            self.line_text.push_str(line);
        }
        let Classified {
            glued_boilerplate,
            line: kind,
        } = grammar::classify(line);
        match kind {
            Line::ForwardHeader(source) if !self.split_posts => {
                self.start_at(line_no);
                if self.current.forwarded_from.is_none() {
                    self.current.forwarded_from = Some(source.to_owned());
                }
                self.count_dropped(Reason::Header);
            }
            Line::DesktopHeader { name, date } if !self.split_posts => {
                self.start_at(line_no);
                self.current.channel.get_or_insert_with(|| name.to_owned());
                self.current.date.get_or_insert(date);
                self.count_dropped(Reason::Header);
            }
            Line::ForwardHeader(source) => {
                let collapses = !self.current.has_content()
                    && self.current.forwarded_from.as_deref() == Some(source);
                if !collapses && self.current.read > 0 {
                    self.close(out);
                }
                if self.current.read == 0 {
                    self.current.line = Some(line_no);
                    self.current.forwarded_from = Some(source.to_owned());
                }
                self.count_dropped(Reason::Header);
            }
            Line::DesktopHeader { name, date } => {
                if self.current.read > 0 {
                    self.close(out);
                }
                self.current.line = Some(line_no);
                self.current.channel = Some(name.to_owned());
                self.current.date = Some(date);
                self.count_dropped(Reason::Header);
            }
            Line::Reactions(reactions) => {
                self.start_at(line_no);
                self.current
                    .reactions
                    .extend(reactions.iter().map(|r| (r.emoji.to_owned(), r.count)));
                self.count_dropped(Reason::Reactions);
                if self.split_posts {
                    self.close(out);
                }
            }
            _ => {
                if self.max_post_bytes > 0
                    && self.current_bytes + line.len() > self.max_post_bytes
                    && !self.current.paragraphs.is_empty()
                {
                    // The rest of an over-long post goes on in a post of its own, with
                    // the same source, so memory stays bounded by the limit.
                    let (fwd, channel) = (
                        self.current.forwarded_from.clone(),
                        self.current.channel.clone(),
                    );
                    self.close(out);
                    self.splits.push(line_no);
                    self.current.forwarded_from = fwd;
                    self.current.channel = channel;
                }
                self.start_at(line_no);
                if let Some(phrase) = glued_boilerplate {
                    if self.explaining {
                        self.line_text.clear();
                        self.line_text.push_str(phrase);
                    }
                    self.count_dropped(Reason::Boilerplate);
                }
                self.push_content(kind);
            }
        }
    }

    fn count_dropped(&mut self, reason: Reason) {
        self.current.read += 1;
        self.current.dropped.add(reason, 1);
        if self.explaining {
            self.current.explain.push(Explained {
                reason,
                line: Some(self.line_no),
                text: self.line_text.clone(),
            });
        }
    }

    fn push_content(&mut self, kind: Line<'_>) {
        let post = &mut self.current;
        let first_paragraph = post.paragraphs.is_empty() && post.title.is_none();
        let line = Some(self.line_no);
        let (kind, marker, t, text) = match kind {
            Line::LinkLabel => return self.count_dropped(Reason::Label),
            Line::Boilerplate => return self.count_dropped(Reason::Boilerplate),
            Line::Hashtags(tags) => {
                for tag in tags {
                    if !post.hashtags.iter().any(|t| t == tag) {
                        post.hashtags.push(tag.to_owned());
                    }
                }
                return self.count_dropped(Reason::Hashtags);
            }
            Line::PlaceDate { place, date } => {
                if post.date.is_none() {
                    post.date = Some(date);
                    post.place = place.map(str::to_owned);
                }
                return self.count_dropped(Reason::Metadata);
            }
            Line::Timestamp(t) => {
                self.pending_t = Some(t);
                return self.count_dropped(Reason::Timestamp);
            }
            Line::Transcript { t, text } => (ParagraphKind::Transcript, None, Some(t), text),
            Line::Bullet {
                marker,
                emoji,
                text,
            } => {
                let kind = if emoji && first_paragraph {
                    ParagraphKind::Title
                } else {
                    ParagraphKind::Bullet
                };
                (kind, Some(marker), None, text)
            }
            Line::Quote { marker, text } => (ParagraphKind::Quote, Some(marker), None, text),
            Line::Text(text) => {
                let is_document_title = first_paragraph
                    && self.at_file_start
                    && post.forwarded_from.is_none()
                    && post.channel.is_none()
                    && self.pending_t.is_none()
                    && looks_like_title(text);
                let kind = if is_document_title {
                    ParagraphKind::Title
                } else if self.pending_t.is_some() {
                    ParagraphKind::Transcript
                } else {
                    ParagraphKind::Text
                };
                (kind, None, self.pending_t.take(), text)
            }
            // Headers and reactions change post boundaries and are handled in `push`.
            Line::ForwardHeader(_) | Line::DesktopHeader { .. } | Line::Reactions(_) => return,
        };
        if post.text.capacity() == 0 {
            // Room for a typical post up front, instead of growing from a few bytes.
            post.text.reserve(self.typical_post_bytes);
        }
        self.current_bytes += text.len();
        post.read += 1;
        post.push_paragraph(kind, line, marker, t, text);
        if kind == ParagraphKind::Title {
            let last = post.paragraphs.len() - 1;
            post.make_title(last);
        }
    }

    /// Ends the file: the post in progress is complete.
    pub fn finish(&mut self, out: &mut Vec<RawPost>) {
        // A trailing bare stamp was already counted as dropped; `close` forgets it.
        self.close(out);
        self.at_file_start = true;
    }
}

/// How far into a block [`find_cut`] looks before giving up: posts are rarely longer,
/// and a block without headers should not be classified twice.
pub const CUT_SCAN_BYTES: usize = 64 * 1024;

/// Offset of the first line of `block` (never the first line) at which the segmenter
/// closes whatever post is open and starts a new one whatever came earlier: a forward or
/// desktop header whose previous non-blank line, inside the block, is not a header. (After
/// a header, an identical forward header would collapse into the same post.) Segmenting
/// the text before and after such a line separately, the second part with
/// [`PostSegmenter::after_cut`], gives the same posts as segmenting it whole.
pub fn find_cut(block: &[u8]) -> Option<usize> {
    let mut after_content = false;
    let mut start = 0;
    while start < block.len().min(CUT_SCAN_BYTES) {
        let end = memchr::memchr(b'\n', &block[start..]).map_or(block.len(), |i| start + i);
        let raw = &block[start..end];
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.contains(&b'\r') {
            // Lone CRs split this into lines the cut would not fall between.
            after_content = false;
        } else {
            let text = String::from_utf8_lossy(raw);
            let display = crate::text::normalise::display_text(&text);
            if !display.is_empty() {
                let header = matches!(
                    grammar::classify(&display).line,
                    Line::ForwardHeader(_) | Line::DesktopHeader { .. }
                );
                if header && after_content {
                    return Some(start);
                }
                after_content = !header;
            }
        }
        start = end + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Segments `text` whose first line is number `first`, as a chunk would be.
    fn segment_from(mut seg: PostSegmenter, text: &str, first: u64) -> Vec<RawPost> {
        let mut out = Vec::new();
        crate::input::for_each_line("t", &mut text.as_bytes(), |n, line| {
            seg.push(
                first - 1 + n,
                &crate::text::normalise::display_text(line),
                &mut out,
            );
            Ok(())
        })
        .unwrap();
        seg.finish(&mut out);
        out
    }

    #[test]
    fn segmenting_either_side_of_a_cut_changes_nothing() {
        let texts = [
            include_str!("../../seeds/004_938382bba7e78ea9.txt").to_owned(),
            "Forwarded from A\nForwarded from A\nBody\n❤1\nForwarded from A\nForwarded from B\nText\n\
             Forwarded from B\nMore\n00:12\nForwarded from C\nstamped\nChannel, [1/2/2024 10:00 AM]\n\
             Forwarded from C\nbody\n"
                .repeat(3),
        ];
        for text in &texts {
            let whole = segment_from(PostSegmenter::new(), text, 1);
            let mut cuts = 0;
            for (start, _) in text.match_indices('\n') {
                let Some(c) = find_cut(&text.as_bytes()[start + 1..]) else {
                    continue;
                };
                let at = start + 1 + c;
                cuts += 1;
                let mut parts = segment_from(PostSegmenter::new(), &text[..at], 1);
                let first = 1 + crate::input::count_lines(&text.as_bytes()[..at]);
                parts.extend(segment_from(PostSegmenter::after_cut(), &text[at..], first));
                assert_eq!(parts, whole, "cut at byte {at}");
            }
            assert!(cuts > 5, "{cuts} cuts");
        }
    }

    #[test]
    fn no_cut_between_collapsing_headers() {
        assert_eq!(
            find_cut(b"Forwarded from A\nForwarded from A\nBody\n"),
            None
        );
        assert_eq!(
            find_cut(b"text\nForwarded from A\nForwarded from A\nBody\n"),
            Some(5)
        );
        assert_eq!(find_cut(b"Forwarded from A\nBody\nplain\n"), None);
    }

    fn segment(text: &str) -> Vec<RawPost> {
        let mut seg = PostSegmenter::new();
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            seg.push(n as u64 + 1, line, &mut out);
        }
        seg.finish(&mut out);
        out
    }

    #[test]
    fn headers_start_posts_and_reactions_end_them() {
        let posts = segment(
            "Forwarded from A\nForwarded from A\n🎙 Title here\nBody one\n❤1👍1\nForwarded from B\nBody two\n",
        );
        assert_eq!(posts.len(), 2);
        assert_eq!(posts[0].forwarded_from.as_deref(), Some("A"));
        assert_eq!(posts[0].line, Some(1));
        assert_eq!(posts[0].dropped.get(Reason::Header), 2);
        assert_eq!(posts[0].title.as_deref(), Some("🎙 Title here"));
        assert_eq!(
            posts[0].reactions,
            vec![("❤".to_owned(), 1), ("👍".to_owned(), 1)]
        );
        assert_eq!(posts[0].read, 5);
        assert_eq!(posts[1].forwarded_from.as_deref(), Some("B"));
        assert_eq!(posts[1].line, Some(6));
        assert_eq!(posts[1].paragraphs.len(), 1);
        assert_eq!(posts[1].paragraphs[0].kind, ParagraphKind::Text);
    }

    #[test]
    fn a_file_without_markers_is_one_document_with_a_title() {
        let posts = segment("Headline of the day\n\n2024-11-22 / News\n\nFirst paragraph.\n");
        assert_eq!(posts.len(), 1);
        let p = &posts[0];
        assert_eq!(p.title.as_deref(), Some("Headline of the day"));
        assert_eq!(p.date.map(|d| d.iso()).as_deref(), Some("2024-11-22"));
        assert_eq!(p.paragraphs.len(), 2);
        assert_eq!(p.dropped.get(Reason::Metadata), 1);
    }

    #[test]
    fn long_first_sentence_is_not_a_title() {
        let posts = segment("This is a summary sentence.\n00:14Then a stamp\n");
        assert_eq!(posts[0].title, None);
        assert_eq!(posts[0].paragraphs[1].t, Some(14));
        assert_eq!(posts[0].text_of(&posts[0].paragraphs[1]), "Then a stamp");
    }

    #[test]
    fn bare_stamp_attaches_to_next_line() {
        let posts = segment("0:14\nhello there\n");
        assert_eq!(posts[0].paragraphs[0].t, Some(14));
        assert_eq!(posts[0].paragraphs[0].kind, ParagraphKind::Transcript);
        assert_eq!(posts[0].dropped.get(Reason::Timestamp), 1);
    }

    #[test]
    fn single_post_mode_never_splits() {
        let mut seg = PostSegmenter::single_post(0);
        let mut out = Vec::new();
        for (n, line) in [
            "Forwarded from A",
            "Body one",
            "👍3",
            "Forwarded from B",
            "Body two",
        ]
        .iter()
        .enumerate()
        {
            seg.push(n as u64 + 1, line, &mut out);
        }
        seg.finish(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].forwarded_from.as_deref(), Some("A"));
        assert_eq!(out[0].paragraphs.len(), 2);
        assert_eq!(out[0].reactions, vec![("👍".to_owned(), 3)]);
        assert_eq!(out[0].dropped.get(Reason::Header), 2);
    }

    #[test]
    fn over_long_posts_are_split_and_reported() {
        let mut seg = PostSegmenter::new().max_post_bytes(30);
        let mut out = Vec::new();
        for (n, line) in [
            "Forwarded from A",
            "0123456789 first",
            "0123456789 second",
            "third",
        ]
        .iter()
        .enumerate()
        {
            seg.push(n as u64 + 1, line, &mut out);
        }
        seg.finish(&mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(seg.splits, vec![3]);
        assert_eq!(out[1].forwarded_from.as_deref(), Some("A"));
        assert_eq!(out[1].paragraphs.len(), 2);
        assert_eq!(out[1].line, Some(3));
    }

    #[test]
    fn explaining_keeps_every_dropped_line() {
        let mut seg = PostSegmenter::new().explaining(true);
        let mut out = Vec::new();
        for (n, line) in [
            "Forwarded from A",
            "Be the first to commentBody",
            "Read in full",
            "👍1",
        ]
        .iter()
        .enumerate()
        {
            seg.push(n as u64 + 1, line, &mut out);
        }
        seg.finish(&mut out);
        let e: Vec<(Reason, Option<u64>, &str)> = out[0]
            .explain
            .iter()
            .map(|e| (e.reason, e.line, e.text.as_str()))
            .collect();
        assert_eq!(
            e,
            [
                (Reason::Header, Some(1), "Forwarded from A"),
                (Reason::Boilerplate, Some(2), "Be the first to comment"),
                (Reason::Label, Some(3), "Read in full"),
                (Reason::Reactions, Some(4), "👍1"),
            ]
        );
        assert_eq!(out[0].paragraphs[0].line, Some(2));
    }

    #[test]
    fn title_date_goes_to_date_and_place() {
        let posts = segment("Forwarded from X\n🎙 Talks (Moscow, March 20, 2023)\n");
        assert_eq!(posts[0].place.as_deref(), Some("Moscow"));
        assert_eq!(
            posts[0].date.map(|d| d.iso()).as_deref(),
            Some("2023-03-20")
        );
    }
}

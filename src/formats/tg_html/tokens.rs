//! Telegram Desktop export pages read from html5ever's token stream: the same message
//! parts as [`super::message_parts`] reads from a page's tree.

use html5ever::{Attribute, LocalName, local_name};

use super::{BodyParts, ElementText, ForwardParts, MessageParts, PageParts};
use crate::formats::html::{FirstText, attr, class_bits};
use crate::formats::html_tokens::{ElementVisitor, NeedsTree, follow};
use crate::text::grammar;

/// The parts of a page read from its token stream, or [`NeedsTree`].
pub(super) fn parts_from_tokens(html: &str) -> Result<PageParts, NeedsTree> {
    let mut stream = MessageStream::default();
    follow(html, &mut stream)?;
    Ok((stream.header.into_trimmed(), stream.messages))
}

/// The export's classes a message is read by.
pub(super) const CLASSES: [&str; 14] = [
    "message",
    "service",
    "default",
    "body",
    "date",
    "details",
    "forwarded",
    "from_name",
    "text",
    "page_header",
    "reactions",
    "reaction",
    "emoji",
    "count",
];

/// Each of [`CLASSES`] as its bit.
pub(super) mod class_bit {
    pub const MESSAGE: u16 = 1 << 0;
    pub const SERVICE: u16 = 1 << 1;
    pub const DEFAULT: u16 = 1 << 2;
    pub const BODY: u16 = 1 << 3;
    pub const DATE: u16 = 1 << 4;
    pub const DETAILS: u16 = 1 << 5;
    pub const FORWARDED: u16 = 1 << 6;
    pub const FROM_NAME: u16 = 1 << 7;
    pub const TEXT: u16 = 1 << 8;
    pub const PAGE_HEADER: u16 = 1 << 9;
    pub const REACTIONS: u16 = 1 << 10;
    pub const REACTION: u16 = 1 << 11;
    pub const EMOJI: u16 = 1 << 12;
    pub const COUNT: u16 = 1 << 13;
}

/// Reads the parts of each message from a page's token stream as [`super::message_parts`]
/// reads them from its tree.
#[derive(Default)]
struct MessageStream {
    messages: Vec<MessageParts>,
    /// Per open element: a `div.page_header`, a `.reactions`.
    open: Vec<(bool, bool)>,
    in_header: usize,
    in_reactions: usize,
    header: FirstText,
    message: Option<MessageBeingRead>,
}

struct MessageBeingRead {
    depth: usize,
    parts: MessageParts,
    body: Option<BodyBeingRead>,
    reactions: Vec<ReactionBeingRead>,
}

struct BodyBeingRead {
    depth: usize,
    open: bool,
    date_title: Option<Option<String>>,
    forwarded: Option<ForwardBeingRead>,
    text: FirstText,
}

struct ForwardBeingRead {
    depth: usize,
    open: bool,
    from_name: FirstText,
    text: FirstText,
}

struct ReactionBeingRead {
    depth: usize,
    open: bool,
    emoji: FirstText,
    count: FirstText,
}

fn element_text_of(field: FirstText) -> Option<ElementText> {
    field.into_text().map(|t| (t.text, t.links))
}

impl MessageBeingRead {
    fn into_parts(self) -> MessageParts {
        let mut parts = self.parts;
        parts.body = self.body.map(|body| BodyParts {
            date_title: body.date_title.flatten(),
            forwarded: body.forwarded.map(|fwd| ForwardParts {
                from_name: fwd.from_name.into_text().map(|t| t.text.trim().to_owned()),
                text: element_text_of(fwd.text),
            }),
            text: element_text_of(body.text),
        });
        if parts.body.as_ref().is_some_and(|b| b.forwarded.is_some())
            && let Some(body) = parts.body.as_mut()
        {
            body.text = None;
        }
        parts.reactions = self
            .reactions
            .into_iter()
            .filter_map(|r| {
                let emoji = r.emoji.into_trimmed()?;
                let count = r
                    .count
                    .into_trimmed()
                    .and_then(|c| grammar::reaction_count(&c).ok().map(|(_, n)| n))
                    .unwrap_or(1);
                Some((emoji, count))
            })
            .collect();
        parts
    }
}

impl ElementVisitor for MessageStream {
    fn start(&mut self, name: &LocalName, attrs: &[Attribute]) -> Result<(), NeedsTree> {
        let classes = class_bits(attrs, &CLASSES);
        let has = |bits: u16| classes & bits == bits;
        let under_header = self.in_header > 0;
        let under_reactions = self.in_reactions > 0;
        let is_div = *name == local_name!("div");
        let header = is_div && has(class_bit::PAGE_HEADER);
        let reactions = has(class_bit::REACTIONS);
        self.open.push((header, reactions));
        self.in_header += usize::from(header);
        self.in_reactions += usize::from(reactions);
        let depth = self.open.len();
        self.header.start(name, attrs, false);
        self.header
            .open_if(under_header && is_div && has(class_bit::TEXT), depth);
        let is_message = is_div && has(class_bit::MESSAGE);
        let Some(m) = self.message.as_mut() else {
            if is_message {
                let parts = MessageParts {
                    service: has(class_bit::SERVICE),
                    default: has(class_bit::DEFAULT),
                    id: attr(attrs, "id")
                        .and_then(|id| id.strip_prefix("message"))
                        .and_then(|n| n.parse().ok()),
                    ..MessageParts::default()
                };
                self.message = Some(MessageBeingRead {
                    depth,
                    parts,
                    body: None,
                    reactions: Vec::new(),
                });
            }
            return Ok(());
        };
        if is_message {
            // A message inside a message: the tree reader reads both.
            return Err(NeedsTree);
        }
        if let Some(body) = m.body.as_mut().filter(|b| b.open) {
            body.text.start(name, attrs, false);
            if let Some(fwd) = body.forwarded.as_mut().filter(|f| f.open) {
                fwd.from_name.start(name, attrs, has(class_bit::DETAILS));
                fwd.text.start(name, attrs, false);
                if depth == fwd.depth + 1 {
                    fwd.from_name.open_if(has(class_bit::FROM_NAME), depth);
                    fwd.text.open_if(has(class_bit::TEXT), depth);
                }
            }
            if depth == body.depth + 1 {
                if body.date_title.is_none() && has(class_bit::DATE | class_bit::DETAILS) {
                    body.date_title = Some(attr(attrs, "title").map(str::to_owned));
                }
                if body.forwarded.is_none() && has(class_bit::FORWARDED | class_bit::BODY) {
                    body.forwarded = Some(ForwardBeingRead {
                        depth,
                        open: true,
                        from_name: FirstText::default(),
                        text: FirstText::default(),
                    });
                }
                body.text.open_if(has(class_bit::TEXT), depth);
            }
        } else if m.body.is_none() && depth == m.depth + 1 && has(class_bit::BODY) {
            m.body = Some(BodyBeingRead {
                depth,
                open: true,
                date_title: None,
                forwarded: None,
                text: FirstText::default(),
            });
        }
        for r in m.reactions.iter_mut().filter(|r| r.open) {
            r.emoji.start(name, attrs, false);
            r.count.start(name, attrs, false);
            r.emoji.open_raw_if(has(class_bit::EMOJI), depth);
            r.count.open_raw_if(has(class_bit::COUNT), depth);
        }
        if under_reactions && has(class_bit::REACTION) {
            let mut r = ReactionBeingRead {
                depth,
                open: true,
                emoji: FirstText::default(),
                count: FirstText::default(),
            };
            r.emoji.open_raw_if(has(class_bit::EMOJI), depth);
            r.count.open_raw_if(has(class_bit::COUNT), depth);
            m.reactions.push(r);
        }
        Ok(())
    }

    fn end(&mut self, name: &LocalName) {
        let depth = self.open.len();
        if let Some((header, reactions)) = self.open.pop() {
            self.in_header -= usize::from(header);
            self.in_reactions -= usize::from(reactions);
        }
        self.header.end(name, depth);
        let Some(m) = self.message.as_mut() else {
            return;
        };
        if m.depth == depth {
            if let Some(m) = self.message.take() {
                self.messages.push(m.into_parts());
            }
            return;
        }
        if let Some(body) = m.body.as_mut().filter(|b| b.open) {
            body.text.end(name, depth);
            if let Some(fwd) = body.forwarded.as_mut().filter(|f| f.open) {
                fwd.from_name.end(name, depth);
                fwd.text.end(name, depth);
                fwd.open = fwd.depth != depth;
            }
            body.open = body.depth != depth;
        }
        for r in m.reactions.iter_mut().filter(|r| r.open) {
            r.emoji.end(name, depth);
            r.count.end(name, depth);
            r.open = r.depth != depth;
        }
    }

    fn text(&mut self, text: &str) {
        self.header.text(text);
        let Some(m) = self.message.as_mut() else {
            return;
        };
        if let Some(body) = m.body.as_mut().filter(|b| b.open) {
            body.text.text(text);
            if let Some(fwd) = body.forwarded.as_mut().filter(|f| f.open) {
                fwd.from_name.text(text);
                fwd.text.text(text);
            }
        }
        for r in m.reactions.iter_mut().filter(|r| r.open) {
            r.emoji.text(text);
            r.count.text(text);
        }
    }
}

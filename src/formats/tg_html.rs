//! Telegram Desktop HTML export (`messages.html`, `messages2.html`, …): `div.message`
//! posts, including `joined` ones, forwarded blocks, dates, reactions.

use scraper::{ElementRef, Html, Selector};

use super::ItemSink;
use super::html::{child_with, element_text, has_class, selector};
use crate::error::Error;
use crate::formats::message::{Item, Message, Skip};
use crate::text::grammar;

/// Telegram Desktop HTML export pages; a page continues the one before it.
pub static DOCUMENT: super::DocumentFormat = super::DocumentFormat {
    detect: |_| Ok(crate::config::Format::TgHtml),
    read: |html| {
        let mut reader = TgHtmlReader::new()?;
        let mut sink = super::CollectSink::default();
        reader.read(html, &mut sink)?;
        Ok(super::Page {
            items: sink.items,
            problems: sink.problems,
            continues: reader.continuation(),
        })
    },
};

/// The forward source of the message before.
#[derive(Debug, Clone, PartialEq)]
enum LastForward {
    /// On the page before: not known while this page is read on its own.
    PageBefore,
    Known(Option<String>),
}

/// Reads export pages, each on its own. It remembers the forward source of the last
/// message, because a `joined` message forwarded from the same source repeats no name;
/// the messages that take it from the page before are listed for [`Self::continuation`].
pub struct TgHtmlReader {
    message: Selector,
    header: Selector,
    reaction: Selector,
    last_forward: LastForward,
    /// Items handed on from the page being read, and those of them that inherit the
    /// source of the page before.
    items: usize,
    inherit: Vec<usize>,
}

impl TgHtmlReader {
    pub fn new() -> Result<Self, Error> {
        Ok(TgHtmlReader {
            message: selector("div.message")?,
            header: selector("div.page_header div.text")?,
            reaction: selector(".reactions .reaction")?,
            last_forward: LastForward::PageBefore,
            items: 0,
            inherit: Vec::new(),
        })
    }

    /// How the page last read continues the one before it.
    pub fn continuation(&self) -> super::Continuation {
        super::Continuation::Forwards {
            inherit: self.inherit.clone(),
            last_forward: match &self.last_forward {
                LastForward::PageBefore => None,
                LastForward::Known(source) => Some(source.clone()),
            },
        }
    }

    /// Sends every message of one page to `sink`; the page is read on its own.
    pub fn read(&mut self, html: &str, sink: &mut dyn ItemSink) -> Result<(), Error> {
        self.last_forward = LastForward::PageBefore;
        self.items = 0;
        self.inherit.clear();
        let doc = Html::parse_document(html);
        let channel = doc.select(&self.header).next().map(|h| {
            let mut none = Vec::new();
            element_text(h, &mut none, &|_| false).trim().to_owned()
        });
        let messages: Vec<ElementRef<'_>> = doc.select(&self.message).collect();
        for el in messages {
            if has_class(el, "service") {
                sink.item(Item::Skipped(Skip::Service))?;
                self.items += 1;
                continue;
            }
            if !has_class(el, "default") {
                continue;
            }
            let item = self.message_item(el, channel.as_deref());
            sink.item(item)?;
            self.items += 1;
        }
        Ok(())
    }

    fn message_item(&mut self, el: ElementRef<'_>, channel: Option<&str>) -> Item {
        let mut msg = Message {
            message_id: el
                .value()
                .id()
                .and_then(|id| id.strip_prefix("message"))
                .and_then(|n| n.parse().ok()),
            channel: channel.filter(|c| !c.is_empty()).map(str::to_owned),
            ..Message::default()
        };
        let Some(body) = child_with(el, &["body"]) else {
            return Item::Skipped(Skip::MediaOnly);
        };
        msg.date = child_with(body, &["date", "details"])
            .and_then(|d| d.value().attr("title"))
            .and_then(|t| grammar::export_datetime(t.trim()).ok())
            .map(|(_, d)| d);
        let text_el = match child_with(body, &["forwarded", "body"]) {
            Some(fwd) => {
                let named = child_with(fwd, &["from_name"]).map(|n| {
                    let mut none = Vec::new();
                    element_text(n, &mut none, &|e| has_class(e, "details"))
                        .trim()
                        .to_owned()
                });
                match named.filter(|s| !s.is_empty()) {
                    Some(source) => {
                        self.last_forward = LastForward::Known(Some(source.clone()));
                        msg.forwarded_from = Some(source);
                    }
                    None => match &self.last_forward {
                        LastForward::Known(source) => msg.forwarded_from.clone_from(source),
                        LastForward::PageBefore => self.inherit.push(self.items),
                    },
                }
                child_with(fwd, &["text"])
            }
            None => {
                self.last_forward = LastForward::Known(None);
                child_with(body, &["text"])
            }
        };
        if let Some(t) = text_el {
            msg.text = element_text(t, &mut msg.links, &|_| false);
        }
        for r in el.select(&self.reaction) {
            let part = |class: &str| {
                r.descendants()
                    .filter_map(ElementRef::wrap)
                    .find(|e| has_class(*e, class))
                    .map(|e| e.text().collect::<String>().trim().to_owned())
            };
            let Some(emoji) = part("emoji").filter(|e| !e.is_empty()) else {
                continue;
            };
            let count = part("count")
                .and_then(|c| grammar::reaction_count(&c).ok().map(|(_, n)| n))
                .unwrap_or(1);
            msg.reactions.push((emoji, count));
        }
        if msg.text.trim().is_empty() {
            return Item::Skipped(Skip::MediaOnly);
        }
        Item::Message(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::CollectSink;

    const PAGE: &str = r#"<html><body><div class="page_wrap">
<div class="page_header"><div class="content"><div class="text bold">Devs Chat</div></div></div>
<div class="history">
 <div class="message service" id="message-1"><div class="body details">2 September 2017</div></div>
 <div class="message default clearfix" id="message6636"><div class="body">
   <div class="pull_right date details" title="02.09.2017 23:45:33">23:45</div>
   <div class="from_name">Simon</div>
   <div class="text">Just post<br>your snippet</div>
   <span class="reactions"><span class="reaction"><span class="emoji">👍</span><span class="count">3</span></span></span>
 </div></div>
 <div class="message default clearfix" id="message6637"><div class="body">
   <div class="pull_right date details" title="02.09.2017 23:45:41 UTC+03:00">23:45</div>
   <div class="from_name">Ginger++</div>
   <div class="forwarded body"><div class="from_name">Other Dev <span class="details"> 02.09.2017 23:31:06</span></div>
     <div class="text">How sane is <a href="https://x.org/c">the caching</a>?</div></div>
 </div></div>
 <div class="message default clearfix joined" id="message6638"><div class="body">
   <div class="pull_right date details" title="02.09.2017 23:45:41">23:45</div>
   <div class="forwarded body"><div class="text">A joined forwarded message.</div></div>
 </div></div>
 <div class="message default clearfix joined" id="message6639"><div class="body">
   <div class="pull_right date details" title="02.09.2017 23:46:00">23:46</div>
   <div class="media_wrap clearfix"><div class="photo_wrap"></div></div>
 </div></div>
</div></div></body></html>"#;

    #[test]
    fn reads_messages_forwards_joined_and_reactions() {
        let mut reader = TgHtmlReader::new().unwrap();
        let mut sink = CollectSink::default();
        reader.read(PAGE, &mut sink).unwrap();
        assert_eq!(sink.items[0], Item::Skipped(Skip::Service));
        assert_eq!(sink.items[4], Item::Skipped(Skip::MediaOnly));
        let m = sink.messages();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].text, "Just post\nyour snippet");
        assert_eq!(m[0].message_id, Some(6636));
        assert_eq!(m[0].channel.as_deref(), Some("Devs Chat"));
        assert_eq!(m[0].date.unwrap().iso(), "2017-09-02T23:45:33");
        assert_eq!(m[0].reactions, vec![("👍".to_owned(), 3)]);
        assert_eq!(m[0].forwarded_from, None);
        assert_eq!(m[1].forwarded_from.as_deref(), Some("Other Dev"));
        assert_eq!(m[1].text, "How sane is the caching?");
        assert_eq!(m[1].links, ["https://x.org/c"]);
        assert_eq!(m[1].date.unwrap().iso(), "2017-09-02T23:45:41+03:00");
        assert_eq!(m[2].forwarded_from.as_deref(), Some("Other Dev"));
    }

    /// A page of forwarded messages: `first` names its source, the others are joined.
    fn page(first: Option<&str>, ids: std::ops::Range<u32>) -> String {
        let mut html = String::from("<div class=\"history\">");
        for id in ids {
            let (class, from) = match (id, first) {
                (0 | 10, Some(name)) => ("", format!("<div class=\"from_name\">{name}</div>")),
                _ => (" joined", String::new()),
            };
            html.push_str(&format!(
                "<div class=\"message default clearfix{class}\" id=\"message{id}\"><div class=\"body\">\
                 <div class=\"forwarded body\">{from}<div class=\"text\">Post {id}</div></div></div></div>"
            ));
        }
        html.push_str("</div>");
        html
    }

    fn forwards(page: &crate::formats::Page) -> Vec<Option<&str>> {
        page.items
            .iter()
            .map(|i| match i {
                Item::Message(m) => m.forwarded_from.as_deref(),
                Item::Skipped(_) => Some("skipped"),
            })
            .collect()
    }

    #[test]
    fn a_page_read_on_its_own_takes_its_first_sources_from_the_page_before() {
        let first = (DOCUMENT.read)(&page(Some("TASS"), 0..2)).unwrap();
        let mut second = (DOCUMENT.read)(&page(None, 2..4)).unwrap();
        assert_eq!(forwards(&second), [None, None], "unknown on its own");
        assert_eq!(
            second.continues,
            crate::formats::Continuation::Forwards {
                inherit: vec![0, 1],
                last_forward: None
            }
        );
        let mut carry = crate::formats::DocumentCarry::default();
        let mut first = first;
        carry.continue_into(&mut first);
        carry.continue_into(&mut second);
        assert_eq!(forwards(&second), [Some("TASS"), Some("TASS")]);
        // A page that names its own source passes that on, not the one before.
        let mut third = (DOCUMENT.read)(&page(Some("RIA"), 10..12)).unwrap();
        let mut fourth = (DOCUMENT.read)(&page(None, 12..13)).unwrap();
        carry.continue_into(&mut third);
        carry.continue_into(&mut fourth);
        assert_eq!(forwards(&third), [Some("RIA"), Some("RIA")]);
        assert_eq!(forwards(&fourth), [Some("RIA")]);
        // After an input of another kind nothing is carried.
        carry.reset();
        let mut fifth = (DOCUMENT.read)(&page(None, 13..14)).unwrap();
        carry.continue_into(&mut fifth);
        assert_eq!(forwards(&fifth), [None]);
    }
}

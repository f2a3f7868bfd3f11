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
    read: |html, carry, sink| {
        let mut reader = match carry.tg_html.take() {
            Some(r) => r,
            None => TgHtmlReader::new()?,
        };
        let result = reader.read(html, sink);
        carry.tg_html = Some(reader);
        result
    },
};

/// Reads export pages in order. It remembers the forward source of the last message,
/// because a `joined` message forwarded from the same source repeats no name.
pub struct TgHtmlReader {
    message: Selector,
    header: Selector,
    reaction: Selector,
    last_forward: Option<String>,
}

impl TgHtmlReader {
    pub fn new() -> Result<Self, Error> {
        Ok(TgHtmlReader {
            message: selector("div.message")?,
            header: selector("div.page_header div.text")?,
            reaction: selector(".reactions .reaction")?,
            last_forward: None,
        })
    }

    /// Forgets the previous page: the next page starts a new export.
    pub fn reset(&mut self) {
        self.last_forward = None;
    }

    /// Sends every message of one page to `sink`.
    pub fn read(&mut self, html: &str, sink: &mut dyn ItemSink) -> Result<(), Error> {
        let doc = Html::parse_document(html);
        let channel = doc.select(&self.header).next().map(|h| {
            let mut none = Vec::new();
            element_text(h, &mut none, &|_| false).trim().to_owned()
        });
        let messages: Vec<ElementRef<'_>> = doc.select(&self.message).collect();
        for el in messages {
            if has_class(el, "service") {
                sink.item(Item::Skipped(Skip::Service))?;
                continue;
            }
            if !has_class(el, "default") {
                continue;
            }
            let item = self.message_item(el, channel.as_deref());
            sink.item(item)?;
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
                let source = named
                    .filter(|s| !s.is_empty())
                    .or(self.last_forward.clone());
                self.last_forward.clone_from(&source);
                msg.forwarded_from = source;
                child_with(fwd, &["text"])
            }
            None => {
                self.last_forward = None;
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
}

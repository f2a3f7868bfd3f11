//! The public web preview `t.me/s/<channel>`: `tgme_widget_message` posts with their
//! owner, forward source, text (without the quoted reply), time, views and reactions.

use scraper::{ElementRef, Html, Node, Selector};

use super::ItemSink;
use super::html::{element_text, has_class, selector, within_class};
use super::tg_json::rfc3339_date;
use crate::error::Error;
use crate::formats::message::{Item, Message, Skip};
use crate::text::grammar;

/// Selectors of the preview's markup, compiled once.
pub struct TmeHtmlReader {
    message: Selector,
    owner: Selector,
    forwarded: Selector,
    text: Selector,
    time: Selector,
    views: Selector,
    reaction: Selector,
}

/// The class of the quoted message a post replies to; its text is not the post's.
const REPLY: &str = "tgme_widget_message_reply";

/// The public web preview `t.me/s/<channel>`: each page on its own.
pub static DOCUMENT: super::DocumentFormat = super::DocumentFormat {
    detect: |_| Ok(crate::config::Format::TmeHtml),
    read: |html| {
        let mut sink = super::CollectSink::default();
        TmeHtmlReader::new()?.read(html, &mut sink)?;
        Ok(super::Page {
            items: sink.items,
            problems: sink.problems,
            continues: super::Continuation::Standalone,
        })
    },
};

impl TmeHtmlReader {
    pub fn new() -> Result<Self, Error> {
        Ok(TmeHtmlReader {
            message: selector("div.tgme_widget_message[data-post]")?,
            owner: selector(".tgme_widget_message_owner_name")?,
            forwarded: selector(".tgme_widget_message_forwarded_from_name")?,
            text: selector(".tgme_widget_message_text")?,
            time: selector(".tgme_widget_message_date time[datetime]")?,
            views: selector(".tgme_widget_message_views")?,
            reaction: selector(".tgme_reaction")?,
        })
    }

    /// Sends every post of one page to `sink`.
    pub fn read(&self, html: &str, sink: &mut dyn ItemSink) -> Result<(), Error> {
        let doc = Html::parse_document(html);
        for el in doc.select(&self.message) {
            sink.item(self.message_item(el))?;
        }
        Ok(())
    }

    fn first_text(&self, el: ElementRef<'_>, sel: &Selector) -> Option<String> {
        el.select(sel)
            .find(|e| !within_class(*e, REPLY))
            .map(|e| {
                let mut none = Vec::new();
                element_text(e, &mut none, &|_| false).trim().to_owned()
            })
            .filter(|s| !s.is_empty())
    }

    fn message_item(&self, el: ElementRef<'_>) -> Item {
        if has_class(el, "service_message") {
            return Item::Skipped(Skip::Service);
        }
        let post = el.value().attr("data-post").unwrap_or("");
        let (slug, id) = post.rsplit_once('/').unwrap_or((post, ""));
        let mut msg = Message {
            message_id: id.parse().ok(),
            channel: self
                .first_text(el, &self.owner)
                .or_else(|| (!slug.is_empty()).then(|| slug.to_owned())),
            forwarded_from: self.first_text(el, &self.forwarded),
            ..Message::default()
        };
        if let Some(text_el) = el.select(&self.text).find(|e| !within_class(*e, REPLY)) {
            msg.text = element_text(text_el, &mut msg.links, &|e| has_class(e, REPLY));
        }
        msg.date = el
            .select(&self.time)
            .find(|e| !within_class(*e, REPLY))
            .and_then(|t| t.value().attr("datetime"))
            .and_then(rfc3339_date);
        msg.views = self
            .first_text(el, &self.views)
            .and_then(|v| grammar::reaction_count(&v).ok().map(|(_, n)| n));
        for r in el.select(&self.reaction) {
            if let Some(reaction) = reaction_of(r) {
                msg.reactions.push(reaction);
            }
        }
        if msg.text.trim().is_empty() {
            return Item::Skipped(Skip::MediaOnly);
        }
        Item::Message(msg)
    }
}

/// `<span class="tgme_reaction"><i class="emoji"><b>🔥</b></i>127</span>`; an empty
/// `<tg-emoji emoji-id="…">` is a custom emoji (`custom:<id>`), a paid one is `⭐`.
fn reaction_of(r: ElementRef<'_>) -> Option<(String, u64)> {
    let count_text: String = r
        .children()
        .filter_map(|c| match c.value() {
            Node::Text(t) => Some(t.to_string()),
            _ => None,
        })
        .collect();
    let count = grammar::reaction_count(count_text.trim()).ok()?.1;
    if has_class(r, "tgme_reaction_paid") {
        return Some(("⭐".to_owned(), count));
    }
    let shown: String = r.text().collect::<String>();
    let emoji = shown.trim().trim_end_matches(count_text.trim()).trim();
    if !emoji.is_empty() {
        return Some((emoji.to_owned(), count));
    }
    let custom = r
        .descendants()
        .filter_map(ElementRef::wrap)
        .find_map(|e| e.value().attr("emoji-id"))?;
    Some((format!("custom:{custom}"), count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::CollectSink;

    const PAGE: &str = r#"<html><body>
<div class="tgme_widget_message_wrap"><div class="tgme_widget_message js-widget_message" data-post="mfa/101">
  <div class="tgme_widget_message_author"><a class="tgme_widget_message_owner_name"><span>MFA Russia</span></a></div>
  <div class="tgme_widget_message_forwarded_from accent_color">Forwarded from <a class="tgme_widget_message_forwarded_from_name"><span>TASS</span></a></div>
  <a class="tgme_widget_message_reply" href="https://t.me/mfa/99"><div class="tgme_widget_message_metatext">Earlier</div>
    <span class="tgme_widget_message_views">99</span><span class="tgme_widget_message_date"><time datetime="2020-01-01T00:00:00+00:00">old</time></span>
    <div class="tgme_widget_message_text js-message_reply_text">The quoted earlier post.</div></a>
  <div class="tgme_widget_message_text js-message_text"><tg-emoji emoji-id="1"><i class="emoji"><b>👀</b></i></tg-emoji> <b>New</b> model&#33;<br/><br/>Second line.</div>
  <div class="tgme_widget_message_reactions"><span class="tgme_reaction tgme_reaction_paid"><i class="icon"></i>4</span><span class="tgme_reaction"><i class="emoji"><b>🔥</b></i>127</span><span class="tgme_reaction"><tg-emoji emoji-id="5451"></tg-emoji>2</span></div>
  <div class="tgme_widget_message_info"><span class="tgme_widget_message_views">13K</span>
   <a class="tgme_widget_message_date"><time datetime="2026-05-22T13:19:45+00:00">13:19</time></a></div>
</div></div>
<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="mfa/102">
  <div class="message_media_not_supported_label">Please open Telegram to view this post</div>
</div></div></body></html>"#;

    #[test]
    fn reads_posts_without_the_reply_quote() {
        let reader = TmeHtmlReader::new().unwrap();
        let mut sink = CollectSink::default();
        reader.read(PAGE, &mut sink).unwrap();
        assert_eq!(sink.items.len(), 2);
        assert_eq!(sink.items[1], Item::Skipped(Skip::MediaOnly));
        let m = sink.messages()[0];
        assert_eq!(m.text, "👀 New model!\n\nSecond line.");
        assert_eq!(m.message_id, Some(101));
        assert_eq!(m.channel.as_deref(), Some("MFA Russia"));
        assert_eq!(m.forwarded_from.as_deref(), Some("TASS"));
        assert_eq!(m.views, Some(13_000));
        assert_eq!(m.date.unwrap().iso(), "2026-05-22T13:19:45Z");
        assert_eq!(
            m.reactions,
            vec![
                ("⭐".to_owned(), 4),
                ("🔥".to_owned(), 127),
                ("custom:5451".to_owned(), 2)
            ]
        );
    }
}

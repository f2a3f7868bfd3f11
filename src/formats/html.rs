//! Text of an HTML element as a reader sees it: `<br>` and block boundaries become line
//! breaks, source whitespace collapses (except in `<pre>`), link targets are collected.

use html5ever::{Attribute, LocalName, local_name};
use scraper::{ElementRef, Node, Selector};

use crate::error::Error;
use crate::formats::message::push_unique;
use crate::text::swar;

/// An input sniffed as HTML: a Telegram Desktop export page or a t.me/s page, told
/// apart by what it contains and read as that.
pub static ANY_PAGE: super::DocumentFormat = super::DocumentFormat {
    detect: page_format,
    read: |html| {
        let specific = match page_format(html) {
            Ok(crate::config::Format::TmeHtml) => &super::tme_html::DOCUMENT,
            _ => &super::tg_html::DOCUMENT,
        };
        (specific.read)(html)
    },
};

fn page_format(html: &str) -> Result<crate::config::Format, String> {
    if html.contains("tgme_widget_message") {
        Ok(crate::config::Format::TmeHtml)
    } else if html.contains("class=\"message ") && html.contains("history") {
        Ok(crate::config::Format::TgHtml)
    } else {
        Err("HTML, but neither a Telegram Desktop export nor a t.me/s page".into())
    }
}

/// Elements that start and end a line of text.
fn is_block(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("div")
            | local_name!("p")
            | local_name!("blockquote")
            | local_name!("pre")
            | local_name!("li")
            | local_name!("ul")
            | local_name!("ol")
            | local_name!("table")
            | local_name!("tr")
    ) || super::html_tokens::is_heading(name)
}

/// Elements left out with everything inside them.
fn is_hidden(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("script") | local_name!("style") | local_name!("svg")
    )
}

/// An `http(s)` link target, which goes to a message's links.
fn web_link(href: &str) -> Option<&str> {
    (href.starts_with("http://") || href.starts_with("https://")).then_some(href)
}

/// Compiles a selector written in this crate. A failure is a bug in the constant, and
/// is reported as an error rather than a panic.
pub fn selector(css: &'static str) -> Result<Selector, Error> {
    Selector::parse(css).map_err(|e| Error::Config(format!("internal selector {css:?}: {e}")))
}

pub fn has_class(el: ElementRef<'_>, class: &str) -> bool {
    el.value().classes().any(|c| c == class)
}

/// The first child element of `el` that has all of `classes`.
pub fn child_with<'a>(el: ElementRef<'a>, classes: &[&str]) -> Option<ElementRef<'a>> {
    el.children()
        .filter_map(ElementRef::wrap)
        .find(|c| classes.iter().all(|k| has_class(*c, k)))
}

/// True when `el` or one of its ancestors has `class`.
pub fn within_class(el: ElementRef<'_>, class: &str) -> bool {
    has_class(el, class)
        || el
            .ancestors()
            .filter_map(ElementRef::wrap)
            .any(|a| has_class(a, class))
}

/// The readable text of `el`. Elements for which `skip` is true are left out with
/// everything inside them. `href`s of `http(s)` links go to `links`.
pub fn element_text(
    el: ElementRef<'_>,
    links: &mut Vec<String>,
    skip: &dyn Fn(ElementRef<'_>) -> bool,
) -> String {
    let mut out = String::new();
    walk(el, links, skip, false, &mut out);
    out
}

fn line_break(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Appends `text` with each run of ASCII whitespace made one space, and none at the start
/// of a line. A single space between two words is already that, so whole spans of words
/// are copied at once, and the scan (16 bytes at a time) stops only where the text must
/// change: on t.me/s pages, copying word by word was a tenth of the whole run.
fn push_collapsed(out: &mut String, text: &str) {
    let space_allowed = |out: &String| !out.is_empty() && !out.ends_with(['\n', ' ']);
    let bytes = text.as_bytes();
    let mut copied = 0;
    loop {
        // The first byte of a run of whitespace that is not one space after a word. A
        // run of two or more starts with a byte followed by whitespace, so the first hit
        // in any run is its first byte.
        let run = if copied == 0 && bytes.first().is_some_and(u8::is_ascii_whitespace) {
            Some(0)
        } else {
            bytes.get(copied..).and_then(|rest| {
                swar::find_with_next(
                    rest,
                    |w, next| {
                        whitespace_lanes(w) & (!swar::lanes_equal(w, b' ') | whitespace_lanes(next))
                    },
                    |b, next| b.is_ascii_whitespace() && (b != b' ' || next.is_ascii_whitespace()),
                )
                .map(|i| copied + i)
            })
        };
        let Some(start) = run else {
            break;
        };
        // ASCII whitespace is never part of a multi-byte character, so both ends of the
        // run are character boundaries.
        out.push_str(text.get(copied..start).unwrap_or_default());
        if space_allowed(out) {
            out.push(' ');
        }
        copied = bytes
            .iter()
            .skip(start)
            .position(|b| !b.is_ascii_whitespace())
            .map_or(bytes.len(), |n| start + n);
    }
    out.push_str(text.get(copied..).unwrap_or_default());
}

/// Lanes holding ASCII whitespace (as `u8::is_ascii_whitespace`).
fn whitespace_lanes(w: swar::Lanes) -> swar::Lanes {
    swar::lanes_equal(w, b' ')
        | swar::lanes_equal(w, b'\n')
        | swar::lanes_equal(w, b'\t')
        | swar::lanes_equal(w, b'\r')
        | swar::lanes_equal(w, 0x0C)
}

fn walk(
    el: ElementRef<'_>,
    links: &mut Vec<String>,
    skip: &dyn Fn(ElementRef<'_>) -> bool,
    in_pre: bool,
    out: &mut String,
) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) if in_pre => out.push_str(t),
            Node::Text(t) => push_collapsed(out, t),
            Node::Element(e) => {
                let Some(child_el) = ElementRef::wrap(child) else {
                    continue;
                };
                if skip(child_el) {
                    continue;
                }
                let name = &e.name.local;
                match *name {
                    local_name!("br") => out.push('\n'),
                    local_name!("img") => {
                        if let Some(alt) = e.attr("alt") {
                            out.push_str(alt);
                        }
                    }
                    _ if is_hidden(name) => {}
                    _ => {
                        let block = is_block(name);
                        if block {
                            line_break(out);
                        }
                        if *name == local_name!("a")
                            && let Some(href) = e.attr("href").and_then(web_link)
                        {
                            push_unique(links, href);
                        }
                        let pre = *name == local_name!("pre");
                        walk(child_el, links, skip, in_pre || pre, out);
                        if block {
                            line_break(out);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The value of the attribute `name` of a tag as the tokenizer gave it. Compared as text:
/// making an atom of a name outside html5ever's static set takes a global lock.
pub fn attr<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|a| &*a.name.local == name && a.name.ns.is_empty())
        .map(|a| &*a.value)
}

/// Which of `classes` (at most 16) a tag's `class` attribute lists, bit `i` for
/// `classes[i]`: the list is split once, not once for every class asked about.
pub fn class_bits(attrs: &[Attribute], classes: &[&str]) -> u16 {
    attr(attrs, "class").map_or(0, |list| {
        list.split_ascii_whitespace()
            .filter_map(|c| classes.iter().position(|k| *k == c))
            .fold(0, |bits, i| bits | 1 << i)
    })
}

/// [`element_text`] of an element whose content streams past as tokens (see
/// [`super::html_tokens`]): told the element's content, it builds the same text.
#[derive(Debug, Default)]
pub struct StreamedText {
    pub text: String,
    pub links: Vec<String>,
    /// Elements open inside the one read.
    depth: usize,
    /// The depth at which an element left out with its content was opened.
    hidden_from: Option<usize>,
    /// `<pre>` elements open inside the one read.
    pre: usize,
    /// Every text inside as it is, nothing left out or added (scraper's `text()`).
    raw: bool,
}

impl StreamedText {
    /// An element opens inside the one read; `skip`: it is left out with its content,
    /// as `element_text`'s `skip` says.
    pub fn start(&mut self, name: &LocalName, attrs: &[Attribute], skip: bool) {
        self.depth += 1;
        if self.hidden_from.is_some() || self.raw {
            return;
        }
        if skip || is_hidden(name) {
            self.hidden_from = Some(self.depth);
            return;
        }
        match *name {
            local_name!("br") => self.text.push('\n'),
            local_name!("img") => {
                if let Some(alt) = attr(attrs, "alt") {
                    self.text.push_str(alt);
                }
            }
            _ => {
                if is_block(name) {
                    line_break(&mut self.text);
                }
                if *name == local_name!("a")
                    && let Some(href) = attr(attrs, "href").and_then(web_link)
                {
                    push_unique(&mut self.links, href);
                }
                if *name == local_name!("pre") {
                    self.pre += 1;
                }
            }
        }
    }

    /// An element inside the one read closes.
    pub fn end(&mut self, name: &LocalName) {
        let depth = self.depth;
        self.depth = depth.saturating_sub(1);
        if self.raw {
            return;
        }
        if let Some(from) = self.hidden_from {
            if from == depth {
                self.hidden_from = None;
            }
            return;
        }
        if is_block(name) {
            line_break(&mut self.text);
        }
        if *name == local_name!("pre") {
            self.pre = self.pre.saturating_sub(1);
        }
    }

    pub fn text(&mut self, text: &str) {
        match (self.hidden_from, self.pre) {
            _ if self.raw => self.text.push_str(text),
            (Some(_), _) => {}
            (None, 0) => push_collapsed(&mut self.text, text),
            (None, _) => self.text.push_str(text),
        }
    }
}

/// A field read from the first element that matches, as its text (as [`element_text`]
/// or, raw, as scraper's `text()`: every text inside, as it is), while the page streams
/// past.
#[derive(Default)]
pub enum FirstText {
    #[default]
    NotSeen,
    Reading {
        depth: usize,
        text: StreamedText,
    },
    Read(StreamedText),
}

impl FirstText {
    /// The element at `depth` (open elements, itself included) opens: read it if it
    /// `matches` and is the first to.
    pub fn open_if(&mut self, matches: bool, depth: usize) {
        if matches && matches!(self, FirstText::NotSeen) {
            *self = FirstText::Reading {
                depth,
                text: StreamedText::default(),
            };
        }
    }

    /// As [`Self::open_if`], read raw.
    pub fn open_raw_if(&mut self, matches: bool, depth: usize) {
        if matches && matches!(self, FirstText::NotSeen) {
            *self = FirstText::Reading {
                depth,
                text: StreamedText {
                    raw: true,
                    ..StreamedText::default()
                },
            };
        }
    }

    pub fn start(&mut self, name: &LocalName, attrs: &[Attribute], skip: bool) {
        if let FirstText::Reading { text, .. } = self {
            text.start(name, attrs, skip);
        }
    }

    /// An element closes; `depth`: open elements before it closed.
    pub fn end(&mut self, name: &LocalName, depth: usize) {
        if let FirstText::Reading { depth: own, text } = self {
            if *own == depth {
                *self = FirstText::Read(std::mem::take(text));
            } else {
                text.end(name);
            }
        }
    }

    pub fn text(&mut self, s: &str) {
        if let FirstText::Reading { text, .. } = self {
            text.text(s);
        }
    }

    pub fn into_text(self) -> Option<StreamedText> {
        match self {
            FirstText::NotSeen => None,
            FirstText::Reading { text, .. } | FirstText::Read(text) => Some(text),
        }
    }

    /// The trimmed text, if any (as `TmeHtmlReader::first_text`).
    pub fn into_trimmed(self) -> Option<String> {
        self.into_text()
            .map(|t| t.text.trim().to_owned())
            .filter(|s| !s.is_empty())
    }
}

/// Random markup for the tests that read a page both ways: `leaf` texts and tags nested
/// four deep in elements of `tags`, each with two of `classes` and one of `attrs`, now
/// and then without its end tag, as sloppy markup is.
#[cfg(test)]
pub fn random_markup<L: proptest::strategy::Strategy<Value = String> + 'static>(
    leaf: L,
    tags: &[&'static str],
    classes: &[&'static str],
    attrs: &[&'static str],
) -> impl proptest::strategy::Strategy<Value = String> + use<L> {
    use proptest::prelude::*;
    let (tags, classes, attrs) = (tags.to_vec(), classes.to_vec(), attrs.to_vec());
    leaf.boxed().prop_recursive(4, 40, 5, move |inner| {
        (
            proptest::sample::select(tags.clone()),
            proptest::sample::select(classes.clone()),
            proptest::sample::select(classes.clone()),
            proptest::sample::select(attrs.clone()),
            proptest::collection::vec(inner, 0..5),
            0..40u8,
        )
            .prop_map(|(tag, c1, c2, attr, children, close)| {
                let end = if close == 0 {
                    String::new()
                } else {
                    format!("</{tag}>")
                };
                format!(
                    "<{tag} class=\"{c1} {c2}\"{attr}>{}{end}",
                    children.concat()
                )
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    /// The rule of [`push_collapsed`] one character at a time.
    fn push_collapsed_by_char(out: &mut String, text: &str) {
        let mut space = false;
        for c in text.chars() {
            if c.is_ascii_whitespace() {
                space = true;
                continue;
            }
            if space && !out.is_empty() && !out.ends_with(['\n', ' ']) {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
        if space && !out.is_empty() && !out.ends_with(['\n', ' ']) {
            out.push(' ');
        }
    }

    proptest::proptest! {
        #[test]
        fn collapsing_word_by_word_is_collapsing_by_char(
            before in "[a \n]{0,3}",
            text in "[ \t\n\r\x0Ca-zé€\u{A0}😀]{0,40}|[ a-z\n]{0,120}",
        ) {
            let mut fast = before.clone();
            push_collapsed(&mut fast, &text);
            let mut slow = before;
            push_collapsed_by_char(&mut slow, &text);
            proptest::prop_assert_eq!(fast, slow);
        }

        /// The tokenizer hands a text over in pieces where the tree has it whole.
        #[test]
        fn collapsing_in_pieces_is_collapsing_the_whole(
            before in "[a \n]{0,3}",
            text in "[ \t\na-zé😀]{0,60}",
            cut in 0usize..60,
        ) {
            let cut = text.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(text.len());
            let mut pieces = before.clone();
            push_collapsed(&mut pieces, &text[..cut]);
            push_collapsed(&mut pieces, &text[cut..]);
            let mut whole = before;
            push_collapsed(&mut whole, &text);
            proptest::prop_assert_eq!(pieces, whole);
        }
    }

    #[test]
    fn collapsing_keeps_no_space_at_a_line_start() {
        let mut out = String::new();
        push_collapsed(&mut out, "  two \t words  ");
        assert_eq!(out, "two words ");
        let mut out = "line\n".to_owned();
        push_collapsed(&mut out, " next\u{A0} ");
        assert_eq!(out, "line\nnext\u{A0} ");
    }

    #[test]
    fn breaks_blocks_whitespace_and_links() {
        let doc = Html::parse_fragment(
            "<div class='t'>\n  First   line<br>second <b>bold</b>\n <a href='https://x.org/a'>link</a>\
             <blockquote>quoted</blockquote><pre>a  b\nc</pre><span class='skip'>no</span>&amp; end</div>",
        );
        let sel = selector("div.t").unwrap();
        let el = doc.select(&sel).next().unwrap();
        let mut links = Vec::new();
        let text = element_text(el, &mut links, &|e| has_class(e, "skip"));
        assert_eq!(text, "First line\nsecond bold link\nquoted\na  b\nc\n& end");
        assert_eq!(links, ["https://x.org/a"]);
    }
}

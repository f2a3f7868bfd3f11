//! Text of an HTML element as a reader sees it: `<br>` and block boundaries become line
//! breaks, source whitespace collapses (except in `<pre>`), link targets are collected.

use scraper::{ElementRef, Node, Selector};

use crate::error::Error;
use crate::formats::message::push_unique;

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
const BLOCKS: &[&str] = &[
    "div",
    "p",
    "blockquote",
    "pre",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "tr",
];

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
/// of a line. Word by word rather than char by char: on t.me/s pages this was the
/// biggest cost of the whole run.
fn push_collapsed(out: &mut String, text: &str) {
    let space_allowed = |out: &String| !out.is_empty() && !out.ends_with(['\n', ' ']);
    let mut rest = text;
    loop {
        let word = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        let spaced = word.len() < rest.len();
        if spaced && space_allowed(out) {
            out.push(' ');
        }
        if word.is_empty() {
            return;
        }
        // ASCII whitespace is never part of a multi-byte character, so `end` is a
        // character boundary.
        let end = word
            .bytes()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(word.len());
        out.push_str(&word[..end]);
        rest = &word[end..];
    }
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
                match e.name() {
                    "br" => out.push('\n'),
                    "script" | "style" | "svg" => {}
                    "img" => {
                        if let Some(alt) = e.attr("alt") {
                            out.push_str(alt);
                        }
                    }
                    name => {
                        let block = BLOCKS.contains(&name);
                        if block {
                            line_break(out);
                        }
                        if name == "a"
                            && let Some(href) = e.attr("href")
                            && (href.starts_with("http://") || href.starts_with("https://"))
                        {
                            push_unique(links, href);
                        }
                        walk(child_el, links, skip, in_pre || name == "pre", out);
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
            text in "[ \t\n\r\x0Ca-zé€\u{A0}😀]{0,40}",
        ) {
            let mut fast = before.clone();
            push_collapsed(&mut fast, &text);
            let mut slow = before;
            push_collapsed_by_char(&mut slow, &text);
            proptest::prop_assert_eq!(fast, slow);
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

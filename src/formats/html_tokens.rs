//! Follows the open elements of an HTML page token by token, without building its tree,
//! and says when the markup is such that only the full tree builder would place it right.
//!
//! Why by hand: html5ever's tokenizer does the HTML tokenizing (character references,
//! attributes, raw text, line ends); what is written here is the small part of its tree
//! builder that well-nested markup needs — a stack of open elements, void elements,
//! switching the tokenizer into raw text for `<script>`/`<style>`/`<title>`…, the line feed
//! dropped after `<pre>`, foreign (SVG, MathML) self-closing tags. A page of t.me/s posts
//! is machine-written and well nested; building, walking and dropping a whole tree for
//! each one cost more than tokenizing it. Everything the tree builder would place
//! differently from a plain stack — an end tag that is not the current element's, a tag
//! that closes others implicitly (`<p><div>`, `<li><li>`, headings, nested links),
//! tables, forms, `<select>`, misplaced `<html>`/`<head>`/`<body>`, a NUL character,
//! HTML breaking out of SVG — stops the walk with [`NeedsTree`], and the caller reads the
//! page with the tree builder instead. Tests check both readings give the same posts.

use std::cell::RefCell;

use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::{Attribute, LocalName, local_name};

/// What a page reader is told, in document order. Every `start` is matched by one `end`:
/// at once for a void element, at the end of the page for one left open.
pub trait ElementVisitor {
    /// `Err`: the visitor cannot read the page this way; the walk stops.
    fn start(&mut self, name: &LocalName, attrs: &[Attribute]) -> Result<(), NeedsTree>;
    fn end(&mut self, name: &LocalName);
    fn text(&mut self, text: &str);
}

/// The page's markup is not something [`follow`] places as the tree builder would; read
/// it with the tree builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedsTree;

/// Tells `visitor` every element and text of `html`, or stops with [`NeedsTree`] (the
/// visitor has then seen a prefix of the page and its result is to be thrown away).
pub fn follow<V: ElementVisitor>(html: &str, visitor: &mut V) -> Result<(), NeedsTree> {
    let follower = Follower {
        state: RefCell::new(Walk {
            visitor,
            open: Vec::with_capacity(32),
            foreign_from: None,
            ignore_lf: false,
            head_done: false,
            needs_tree: false,
        }),
    };
    let tokenizer = Tokenizer::new(follower, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(html.into());
    // The sink answers `Script` only to stop the tokenizer once the tree is needed.
    let _stopped_or_done = tokenizer.feed(&input);
    if !tokenizer.sink.state.borrow().needs_tree {
        tokenizer.end();
    }
    if tokenizer.sink.state.borrow().needs_tree {
        Err(NeedsTree)
    } else {
        Ok(())
    }
}

struct Follower<'v, V> {
    state: RefCell<Walk<'v, V>>,
}

struct Walk<'v, V> {
    visitor: &'v mut V,
    open: Vec<LocalName>,
    /// Where on `open` SVG or MathML content starts.
    foreign_from: Option<usize>,
    /// The token after `<pre>`, `<listing>` and `<textarea>` loses a leading line feed.
    ignore_lf: bool,
    /// `<body>` or content has begun: a later `<head>` is the tree builder's business.
    head_done: bool,
    needs_tree: bool,
}

impl<V: ElementVisitor> TokenSink for Follower<'_, V> {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut walk = self.state.borrow_mut();
        if walk.needs_tree {
            return TokenSinkResult::Continue;
        }
        let is_tag = matches!(token, Token::TagToken(_));
        let result = walk.token(token);
        if walk.needs_tree && is_tag {
            // Stops `feed`: nothing more of this page is needed. The tokenizer takes
            // `Script` after a tag only; after other tokens the rest is skipped above.
            return TokenSinkResult::Script(());
        }
        result
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.state.borrow().foreign_from.is_some()
    }
}

impl<V: ElementVisitor> Walk<'_, V> {
    fn token(&mut self, token: Token) -> TokenSinkResult<()> {
        // As the tree builder does: any token, even a parse error, uses the flag up.
        let ignore_lf = std::mem::take(&mut self.ignore_lf);
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => return self.start(tag),
                TagKind::EndTag => self.end(&tag.name),
            },
            Token::CharacterTokens(text) => {
                let text = match text.strip_prefix('\n') {
                    Some(rest) if ignore_lf => rest,
                    _ => &text,
                };
                if !text.is_empty() {
                    self.visitor.text(text);
                }
            }
            Token::NullCharacterToken => self.needs_tree = true,
            Token::EOFToken => {
                while let Some(name) = self.open.pop() {
                    self.visitor.end(&name);
                }
            }
            Token::CommentToken(_) | Token::DoctypeToken(_) | Token::ParseError(_) => {}
        }
        TokenSinkResult::Continue
    }

    fn start(&mut self, tag: Tag) -> TokenSinkResult<()> {
        let name = &tag.name;
        if self.foreign_from.is_some() {
            let in_integration_point = self.open.last().is_some_and(is_integration_point);
            if in_integration_point || breaks_out_of_foreign(name) {
                self.needs_tree = true;
                return TokenSinkResult::Continue;
            }
            if self.visitor.start(name, &tag.attrs).is_err() {
                self.needs_tree = true;
                return TokenSinkResult::Continue;
            }
            if tag.self_closing {
                self.visitor.end(name);
            } else {
                self.open.push(tag.name);
            }
            return TokenSinkResult::Continue;
        }
        if self.placed_by_tree_builder(name) {
            self.needs_tree = true;
            return TokenSinkResult::Continue;
        }
        if !matches!(*name, local_name!("html") | local_name!("head")) && !is_head_content(name) {
            self.head_done = true;
        }
        if self.visitor.start(name, &tag.attrs).is_err() {
            self.needs_tree = true;
            return TokenSinkResult::Continue;
        }
        if is_void(name) || (tag.self_closing && is_foreign_root(name)) {
            self.visitor.end(name);
            return TokenSinkResult::Continue;
        }
        if is_foreign_root(name) {
            self.foreign_from = Some(self.open.len());
        }
        self.ignore_lf = matches!(
            *name,
            local_name!("pre") | local_name!("listing") | local_name!("textarea")
        );
        let result = match *name {
            local_name!("script") => TokenSinkResult::RawData(RawKind::ScriptData),
            local_name!("style")
            | local_name!("xmp")
            | local_name!("iframe")
            | local_name!("noembed")
            | local_name!("noframes")
            | local_name!("noscript") => TokenSinkResult::RawData(RawKind::Rawtext),
            local_name!("title") | local_name!("textarea") => {
                TokenSinkResult::RawData(RawKind::Rcdata)
            }
            _ => TokenSinkResult::Continue,
        };
        self.open.push(tag.name);
        result
    }

    fn end(&mut self, name: &LocalName) {
        if self.open.last() == Some(name) {
            self.open.pop();
            if self
                .foreign_from
                .is_some_and(|from| from >= self.open.len())
            {
                self.foreign_from = None;
            }
            self.visitor.end(name);
        } else if self.foreign_from.is_some()
            || !matches!(*name, local_name!("body") | local_name!("html"))
        {
            // `</body>` and `</html>` close nothing: the tree builder keeps adding what
            // follows to the body. Any other end tag that is not the current element's
            // closes or reopens elements by the tree builder's rules.
            self.needs_tree = true;
        }
    }

    /// True when the tree builder would not simply open `name` inside the current
    /// element: it closes others first, or places it elsewhere, or ignores it.
    fn placed_by_tree_builder(&self, name: &LocalName) -> bool {
        let open = |n: LocalName| self.open.contains(&n);
        match *name {
            local_name!("html") => !self.open.is_empty(),
            local_name!("head") => self.head_done || self.open.len() > 1,
            local_name!("body") => {
                self.open.len() > 1 || self.open.first().is_some_and(|n| *n != local_name!("html"))
            }
            local_name!("li") | local_name!("dd") | local_name!("dt") => {
                closes_p(name, &self.open)
                    || open(local_name!("li"))
                    || open(local_name!("dd"))
                    || open(local_name!("dt"))
            }
            _ if is_heading(name) => {
                closes_p(name, &self.open) || self.open.last().is_some_and(is_heading)
            }
            local_name!("a")
            | local_name!("nobr")
            | local_name!("button")
            | local_name!("form") => closes_p(name, &self.open) || open(name.clone()),
            local_name!("table")
            | local_name!("caption")
            | local_name!("colgroup")
            | local_name!("col")
            | local_name!("tbody")
            | local_name!("thead")
            | local_name!("tfoot")
            | local_name!("tr")
            | local_name!("td")
            | local_name!("th")
            | local_name!("select")
            | local_name!("option")
            | local_name!("optgroup")
            | local_name!("frameset")
            | local_name!("frame")
            | local_name!("template")
            | local_name!("image")
            | local_name!("isindex")
            | local_name!("plaintext")
            | local_name!("rb")
            | local_name!("rp")
            | local_name!("rt")
            | local_name!("rtc") => true,
            _ => {
                closes_p(name, &self.open)
                    || (self.open.contains(&local_name!("head")) && !is_head_content(name))
            }
        }
    }
}

/// A `<p>` is open and `name` is a tag that closes it first.
fn closes_p(name: &LocalName, open: &[LocalName]) -> bool {
    let closes = matches!(
        *name,
        local_name!("address")
            | local_name!("article")
            | local_name!("aside")
            | local_name!("blockquote")
            | local_name!("center")
            | local_name!("details")
            | local_name!("dialog")
            | local_name!("dir")
            | local_name!("div")
            | local_name!("dl")
            | local_name!("fieldset")
            | local_name!("figcaption")
            | local_name!("figure")
            | local_name!("footer")
            | local_name!("form")
            | local_name!("header")
            | local_name!("hgroup")
            | local_name!("main")
            | local_name!("menu")
            | local_name!("nav")
            | local_name!("ol")
            | local_name!("p")
            | local_name!("search")
            | local_name!("section")
            | local_name!("summary")
            | local_name!("ul")
            | local_name!("pre")
            | local_name!("listing")
            | local_name!("li")
            | local_name!("dd")
            | local_name!("dt")
            | local_name!("hr")
            | local_name!("xmp")
    ) || is_heading(name);
    closes && open.contains(&local_name!("p"))
}

pub fn is_heading(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("h1")
            | local_name!("h2")
            | local_name!("h3")
            | local_name!("h4")
            | local_name!("h5")
            | local_name!("h6")
    )
}

/// What the tree builder keeps inside `<head>`.
fn is_head_content(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("base")
            | local_name!("basefont")
            | local_name!("bgsound")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("title")
            | local_name!("noscript")
            | local_name!("noframes")
            | local_name!("style")
            | local_name!("script")
    )
}

/// Elements that never have content or an end tag.
fn is_void(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("area")
            | local_name!("base")
            | local_name!("basefont")
            | local_name!("bgsound")
            | local_name!("br")
            | local_name!("embed")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("keygen")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("param")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
    )
}

fn is_foreign_root(name: &LocalName) -> bool {
    matches!(*name, local_name!("svg") | local_name!("math"))
}

/// SVG and MathML elements whose content is HTML again.
fn is_integration_point(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("foreignobject")
            | local_name!("desc")
            | local_name!("title")
            | local_name!("mi")
            | local_name!("mo")
            | local_name!("mn")
            | local_name!("ms")
            | local_name!("mtext")
            | local_name!("annotation-xml")
    )
}

/// HTML start tags that end SVG or MathML content.
fn breaks_out_of_foreign(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("b")
            | local_name!("big")
            | local_name!("blockquote")
            | local_name!("body")
            | local_name!("br")
            | local_name!("center")
            | local_name!("code")
            | local_name!("dd")
            | local_name!("div")
            | local_name!("dl")
            | local_name!("dt")
            | local_name!("em")
            | local_name!("embed")
            | local_name!("font")
            | local_name!("head")
            | local_name!("hr")
            | local_name!("i")
            | local_name!("img")
            | local_name!("li")
            | local_name!("listing")
            | local_name!("menu")
            | local_name!("meta")
            | local_name!("nobr")
            | local_name!("ol")
            | local_name!("p")
            | local_name!("pre")
            | local_name!("ruby")
            | local_name!("s")
            | local_name!("small")
            | local_name!("span")
            | local_name!("strong")
            | local_name!("strike")
            | local_name!("sub")
            | local_name!("sup")
            | local_name!("table")
            | local_name!("tt")
            | local_name!("u")
            | local_name!("ul")
            | local_name!("var")
    ) || is_heading(name)
}

//! Reduces Telethon Markdown (`**bold**`, `__italic__`, `~~strike~~`, `` `code` ``,
//! `||spoiler||`, `[label](url)`) to plain text, moving link targets to a list.

use crate::formats::message::push_unique;

/// Paired markers Telethon writes around formatted text, longest first.
const MARKERS: [&str; 6] = ["```", "**", "__", "~~", "||", "`"];

/// `[label](url)` at the start of `s`: the label, the url and the bytes consumed.
/// The label may span lines or be only whitespace (Telethon writes `[\n](url)` for a link
/// over a line break); the url has no spaces.
fn inline_link(s: &str) -> Option<(&str, &str, usize)> {
    let rest = s.strip_prefix('[')?;
    let close = rest.find(']')?;
    let label = &rest[..close];
    let after = rest[close + 1..].strip_prefix('(')?;
    let end = after.find(')')?;
    let url = &after[..end];
    if url.is_empty() || url.contains(char::is_whitespace) {
        return None;
    }
    Some((label, url, 1 + close + 1 + 1 + end + 1))
}

/// Plain text of `s`; link targets are added to `links` (once each, in order).
pub fn reduce(s: &str, links: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(s.len());
    reduce_into(s, links, &mut out);
    out
}

/// Finds the bytes that may start a marker or a link (`[`, `*`, `_`, `~`, `|`, `` ` ``):
/// everything between two of them is copied as it is. Two SIMD searches for three bytes
/// each (`memchr3`); each keeps what it found until the text before it is passed, so
/// every byte is searched about once. A byte table read one byte at a time was a
/// twentieth of a JSON Lines run whose texts have no markup at all.
struct MarkupFinder<'a> {
    bytes: &'a [u8],
    /// The next `[`, `*` or `_` found, and the next `~`, `|` or `` ` ``: valid while at
    /// or after where the search is, `usize::MAX` when there is none to the end.
    found: [usize; 2],
}

impl<'a> MarkupFinder<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        MarkupFinder {
            bytes,
            found: [0; 2],
        }
    }

    /// The first byte at or after `from` that may start markup, or the text's length.
    fn next_from(&mut self, from: usize) -> usize {
        let rest = self.bytes.get(from..).unwrap_or_default();
        let at = |p: Option<usize>| p.map_or(usize::MAX, |p| from + p);
        if self.found[0] < from {
            self.found[0] = at(memchr::memchr3(b'[', b'*', b'_', rest));
        }
        if self.found[1] < from {
            self.found[1] = at(memchr::memchr3(b'~', b'|', b'`', rest));
        }
        self.found[0].min(self.found[1]).min(self.bytes.len())
    }
}

fn reduce_into(s: &str, links: &mut Vec<String>, out: &mut String) {
    let mut markup = MarkupFinder::new(s.as_bytes());
    let mut i = 0;
    while i < s.len() {
        // Copy the run up to the next byte that may start markup at once: most of a
        // text is plain (this was a fifth of a JSON Lines run when done a char at a
        // time). The run ends at an ASCII byte, so on a char boundary.
        let run_end = markup.next_from(i);
        if run_end > i {
            out.push_str(&s[i..run_end]);
            i = run_end;
            continue;
        }
        let rest = &s[i..];
        if rest.starts_with('[')
            && let Some((label, url, used)) = inline_link(rest)
        {
            reduce_into(label, links, out);
            push_unique(links, url);
            i += used;
            continue;
        }
        if let Some(marker) = MARKERS.iter().find(|m| rest.starts_with(**m)) {
            let inner_start = marker.len();
            if let Some(close) = rest[inner_start..].find(marker)
                && close > 0
            {
                let inner = &rest[inner_start..inner_start + close];
                if *marker == "```" || *marker == "`" {
                    out.push_str(inner);
                } else {
                    reduce_into(inner, links, out);
                }
                i += inner_start + close + marker.len();
                continue;
            }
        }
        let ch = rest.chars().next().map_or(1, char::len_utf8);
        out.push_str(&rest[..ch]);
        i += ch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reduction tried at every char, as it was written first: the reference the
    /// run-copying one is checked against.
    fn reduce_char_by_char(s: &str, links: &mut Vec<String>, out: &mut String) {
        let mut i = 0;
        while i < s.len() {
            let rest = &s[i..];
            if rest.starts_with('[')
                && let Some((label, url, used)) = inline_link(rest)
            {
                reduce_char_by_char(label, links, out);
                push_unique(links, url);
                i += used;
                continue;
            }
            if let Some(marker) = MARKERS.iter().find(|m| rest.starts_with(**m)) {
                let inner_start = marker.len();
                if let Some(close) = rest[inner_start..].find(marker)
                    && close > 0
                {
                    let inner = &rest[inner_start..inner_start + close];
                    if *marker == "```" || *marker == "`" {
                        out.push_str(inner);
                    } else {
                        reduce_char_by_char(inner, links, out);
                    }
                    i += inner_start + close + marker.len();
                    continue;
                }
            }
            let ch = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..ch]);
            i += ch;
        }
    }

    proptest! {
        #[test]
        fn copying_runs_gives_the_char_by_char_reduction(
            parts in prop::collection::vec(
                prop::sample::select(&[
                    "**", "__", "~~", "||", "`", "```", "[", "]", "(", ")", "https://x.org/a",
                    "[t](https://t.me/c)", "plain words ", "слово ", "🔥", "\n", " ", "*", "_",
                    "~", "|", "é",
                ][..]),
                0..40,
            ),
        ) {
            let text: String = parts.concat();
            let (mut links, mut reference_links) = (Vec::new(), Vec::new());
            let mut reference = String::new();
            reduce_char_by_char(&text, &mut reference_links, &mut reference);
            prop_assert_eq!(reduce(&text, &mut links), reference);
            prop_assert_eq!(links, reference_links);
        }
    }

    #[test]
    fn markers_and_links_are_reduced() {
        let mut links = Vec::new();
        let text = reduce(
            "❗️**Главное** и __курсив__ [потерпел фиаско](https://bbc.com/a): ~~нет~~ `x*y` ||spoiler||",
            &mut links,
        );
        assert_eq!(text, "❗️Главное и курсив потерпел фиаско: нет x*y spoiler");
        assert_eq!(links, ["https://bbc.com/a"]);
    }

    #[test]
    fn url_labels_keep_the_url_in_text() {
        let mut links = Vec::new();
        let text = reduce(
            "сайте: [https://bbc.in/4g9](https://bbc.in/4g9)",
            &mut links,
        );
        assert_eq!(text, "сайте: https://bbc.in/4g9");
        assert_eq!(links, ["https://bbc.in/4g9"]);
    }

    #[test]
    fn nested_and_unpaired() {
        let mut links = Vec::new();
        assert_eq!(reduce("**__both__**", &mut links), "both");
        assert_eq!(reduce("a ** b", &mut links), "a ** b");
        assert_eq!(reduce("[not a link] (x)", &mut links), "[not a link] (x)");
        assert_eq!(reduce("end.[\n](https://p.ru/1)", &mut links), "end.\n");
        assert_eq!(
            reduce("**[bold link](https://x.org)**", &mut links),
            "bold link"
        );
        assert_eq!(links, ["https://p.ru/1", "https://x.org"]);
    }
}

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

fn reduce_into(s: &str, links: &mut Vec<String>, out: &mut String) {
    let mut i = 0;
    while i < s.len() {
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

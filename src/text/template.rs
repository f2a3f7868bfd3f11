//! The template of a paragraph (SPEC §7): its key computed after URLs, short links,
//! `@mentions` and e-mail addresses are removed, digits kept — what the variants of a
//! channel's repeated block (`Читать нас без VPN: bit.ly/…` with one link or another)
//! have in common.

use crate::text::normalise::{Digest16, digest, key_text};

/// Whether a whitespace-separated token is a link, a short link, a mention or an e-mail
/// address: it holds `://` or `@`, starts with `www.`, or is `name.tld/…`.
fn is_link_token(token: &str) -> bool {
    if token.contains("://") || token.contains('@') {
        return true;
    }
    let t = token.trim_start_matches(|c: char| !c.is_alphanumeric());
    if t.starts_with("www.") {
        return true;
    }
    // `bit.ly/x`, `t.me/channel`, `vk.cc/abc`: labels of a host name, then a path.
    let Some((host, _path)) = t.split_once('/') else {
        return false;
    };
    let mut labels = host.split('.');
    let first_ok = labels
        .next()
        .is_some_and(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let rest: Vec<&str> = labels.collect();
    first_ok
        && !rest.is_empty()
        && rest
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && rest
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Finds `www.`: built once, since `memmem::find` builds its searcher anew on each call,
/// which cost more than the search on a paragraph (7 % of the workers' first pass on the
/// `cyrillic-short` dump).
static WWW: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"www."));

/// `text` without its links, mentions and e-mail addresses (tokens joined by a space);
/// `None` when it has none, which is most paragraphs.
pub fn strip_links(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if memchr::memchr2(b'/', b'@', bytes).is_none() && WWW.find(bytes).is_none() {
        return None;
    }
    if !text.split_whitespace().any(is_link_token) {
        return None;
    }
    let kept: Vec<&str> = text
        .split_whitespace()
        .filter(|t| !is_link_token(t))
        .collect();
    Some(kept.join(" "))
}

/// The template digest of a paragraph with display text `text` and key digest `key`.
/// A paragraph that is nothing but links and mentions (an article's URL, `@a @b`) keeps
/// its key as template: the links are what it says, and every such paragraph would
/// otherwise share the one empty template.
pub fn template_digest(text: &str, key: &Digest16) -> Digest16 {
    match strip_links(text).map(|s| key_text(&s)) {
        Some(stripped) if !stripped.is_empty() => digest(stripped),
        _ => *key,
    }
}

/// The template of a paragraph as channel boilerplate counts it and the state file keeps
/// it: the first eight bytes of [`template_digest`], little-endian. A post holds this
/// alone between the passes, eight bytes a paragraph fewer than the digest.
pub fn template_id(text: &str, key: &Digest16) -> u64 {
    let digest = template_digest(text, key);
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Digest16 {
        digest(key_text(text))
    }

    #[test]
    fn links_mentions_and_emails_leave_the_template() {
        let cases = [
            (
                "Читать нас без VPN можно здесь: bit.ly/bbcrussian",
                "Читать нас без VPN можно здесь:",
            ),
            ("– Spotify: https://vk.cc/cAbCd", "– Spotify:"),
            (
                "Пишите нам: news@example.org или @bbc_bot",
                "Пишите нам: или",
            ),
            ("Сайт: www.example.com, канал t.me/mayak_fm", "Сайт: канал"),
        ];
        for (text, stripped) in cases {
            assert_eq!(strip_links(text).as_deref(), Some(stripped), "{text}");
            assert_eq!(template_digest(text, &key(text)), key(stripped), "{text}");
        }
    }

    #[test]
    fn a_paragraph_of_links_alone_keeps_its_key() {
        for text in [
            "(bit.ly/abc)",
            "https://naked-science.ru/article/x",
            "@poeti8 @TRGWII 😄",
        ] {
            assert_eq!(strip_links(text).map(|s| key_text(&s)).as_deref(), Some(""));
            assert_eq!(template_digest(text, &key(text)), key(text), "{text}");
        }
    }

    #[test]
    fn plain_text_keeps_its_key_as_template() {
        for text in [
            "Обычный текст без ссылок, 2024 год.",
            "Дроби 1/2 и 3/4 не ссылки",
            "и/или",
            "Read more about the 9/11 commission.",
        ] {
            assert_eq!(strip_links(text), None, "{text}");
            assert_eq!(template_digest(text, &key(text)), key(text));
        }
    }

    #[test]
    fn variants_of_a_footer_share_a_template() {
        let a = "✴️ Маяк в Дзене | 🤝 Маяк в Максе";
        let b = "✴ Маяк в Дзене | 🤝 Маяк в Максе";
        let c = "Маяк в Дзене | Маяк в Максе: https://dzen.ru/mayak";
        let t = |s: &str| template_digest(s, &key(s));
        assert_eq!(t(a), t(b));
        assert_eq!(t(a), t(c));
    }
}

//! Tests of normalisation: the fast paths against their plain versions, and the
//! properties of display text and keys.

use super::*;
use proptest::prelude::*;

/// The rewrite as first written, character by character: the reference for the
/// run-copying `full_rewrite`.
fn full_rewrite_by_chars(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    let mut chars = raw.chars().peekable();
    let mut prev: Option<char> = None;
    while let Some(c) = chars.next() {
        if c == '\u{200D}' {
            let next = chars.peek().copied();
            let keep = prev.is_some_and(joins_emoji) && next.is_some_and(joins_emoji);
            if keep && !pending_space {
                out.push(c);
                prev = Some(c);
            }
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
        prev = Some(c);
    }
    if is_nfc_quick(out.chars()) != IsNormalized::Yes {
        out = out.nfc().collect();
    }
    out
}

proptest! {
    #[test]
    fn run_copying_rewrite_matches_the_reference(
        s in "([a-zа-я ]{0,6}[\u{0}-\u{1f}\u{7f}-\u{a0}\u{ad}\u{1680}\u{180e}\u{2000}-\u{206f}\u{3000}\u{feff}\u{301}👨👍\u{fe0f}\u{1f3fb}]{0,3}){0,8}"
    ) {
        prop_assert_eq!(full_rewrite(&s), full_rewrite_by_chars(&s));
    }
}

#[test]
fn rewrite_settles_spaces_around_every_code_point() {
    // Single spaces ride inside copied runs; these put every character beside them,
    // at both ends, doubled, and across a sixteen-byte block edge.
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        for s in [
            format!(" a {c} b  {c}  "),
            format!("{c} x"),
            format!("x {c}"),
            format!("{c}{c} y \u{200B} {c}"),
            format!("fifteen bytes. {c} and on"),
        ] {
            assert_eq!(
                full_rewrite(&s),
                full_rewrite_by_chars(&s),
                "U+{:04X} in {s:?}",
                c as u32
            );
        }
    }
}

#[test]
fn clean_ascii_is_borrowed() {
    assert!(matches!(display_text("Key points:"), Cow::Borrowed(_)));
}

#[test]
fn spaces_invisibles_and_controls() {
    assert_eq!(
        display_text("  a\u{00A0}\u{00A0}b\tc \u{200B}d\u{00AD}e\u{0007} "),
        "a b c de"
    );
    assert_eq!(display_text("\u{FEFF}Title"), "Title");
    assert_eq!(display_text("a\u{2003}\u{202F}b"), "a b");
}

#[test]
fn nfc_is_applied() {
    assert_eq!(display_text("e\u{0301}te\u{0301}"), "\u{00E9}t\u{00E9}");
}

#[test]
fn zwj_kept_inside_emoji_only() {
    let family = "👨\u{200D}👩\u{200D}👧 family";
    assert_eq!(display_text(family), family);
    assert_eq!(display_text("ab\u{200D}cd"), "abcd");
    assert_eq!(display_text("👨\u{200D} x"), "👨 x");
    // Found by proptest: a doubled ZWJ kept one joiner next to a letter.
    assert_eq!(display_text("👍\u{200D}\u{200D}a"), "👍a");
    assert_eq!(display_text("👍\u{200D}\u{200D}👩"), "👍\u{200D}👩");
}

#[test]
fn key_keeps_letters_and_digits_only() {
    assert_eq!(key_text("Key points:"), "keypoints");
    assert_eq!(
        key_text("🔹 The “collective West”, 57 States!"),
        "thecollectivewest57states"
    );
    assert_eq!(key_text("Straße ＡＢＣ ①"), "strasseabc1");
    assert_eq!(key_text("Сегодня МЫ"), "сегоднямы");
    assert_eq!(key_text("❤️👍"), "");
}

#[test]
fn nfc_after_removing_invisibles() {
    assert_eq!(display_text("e\u{200B}\u{0301}"), "\u{00E9}");
}

/// The definition of SPEC §4, written plainly; `key_text` must agree with it.
fn reference_key(display: &str) -> String {
    display
        .nfkc()
        .default_case_fold()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

#[test]
fn fast_folding_matches_the_reference_on_every_code_point() {
    // Alone, between letters of the fast paths, before a combining mark (which must
    // send the whole text down the general path), and inside and at the edges of
    // sixteen-byte blocks (`block_fold`), in every lane.
    let lead_in = "Пр AZ9 ёЁ, ЯЪ ";
    for cp in 0..=0x10FFFFu32 {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        let mut blocks: String = lead_in.chars().take(cp as usize % 15).collect();
        blocks.push(c);
        blocks.push_str(" Ѐtext ЏАБВ-ЮЯ 12 Ѳѵ");
        for s in [
            c.to_string(),
            format!("Жa{c}Éz"),
            format!("{c}\u{0301}ё"),
            blocks,
        ] {
            assert_eq!(key_text(&s), reference_key(&s), "U+{cp:04X} in {s:?}");
        }
    }
}

/// The rewrite test as first written, in separate passes: the reference for
/// `scan_line`.
fn may_need_rewrite_by_passes(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return true;
    }
    if memchr::memmem::find(b, b"  ").is_some() || b.iter().any(|&c| c < 0x20 || c == 0x7F) {
        return true;
    }
    let next = |i: usize| (b.get(i + 1).copied(), b.get(i + 2).copied());
    let touched = memchr::memchr3_iter(0xC2, 0xE1, 0xE2, b).any(|i| {
        matches!(
            (b[i], next(i)),
            (0xC2, (Some(0x80..=0xA0 | 0xAD), _))
                | (0xE1, (Some(0x9A), Some(0x80)) | (Some(0xA0), Some(0x8E)))
                | (0xE2, (Some(0x80), Some(0x80..=0x8F | 0xA8 | 0xA9 | 0xAF)))
                | (0xE2, (Some(0x81), Some(0x9F..=0xA4)))
        )
    });
    touched
        || memchr::memchr2_iter(0xE3, 0xEF, b).any(|i| {
            matches!(
                (b[i], next(i)),
                (0xE3, (Some(0x80), Some(0x80))) | (0xEF, (Some(0xBB), Some(0xBF)))
            )
        })
}

fn scan_by_passes(s: &str) -> LineScan {
    if may_need_rewrite_by_passes(s) {
        LineScan::Rewrite
    } else if s.chars().all(is_plainly_nfc) {
        LineScan::Clean
    } else {
        LineScan::CheckNfc
    }
}

#[test]
fn one_pass_scan_agrees_with_the_separate_passes() {
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        for s in [
            c.to_string(),
            format!("a{c}b"),
            format!("Жx{c}é ё"),
            format!("{c}\u{0301}«{c}»"),
            format!("“quoted {c}” — and more text after it, to fill a block"),
        ] {
            assert_eq!(
                scan_line(&s),
                scan_by_passes(&s),
                "U+{:04X} in {s:?}",
                c as u32
            );
        }
    }
}

#[test]
fn rewrite_scan_misses_no_code_point() {
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        for s in [format!("a{c}b"), c.to_string()] {
            if scan_line(&s) != LineScan::Rewrite {
                let nfc: String = s.nfc().collect();
                assert_eq!(full_rewrite(&s), nfc, "U+{:04X}", c as u32);
            }
        }
    }
}

#[test]
fn plainly_nfc_text_agrees_with_the_character_test() {
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        let s = format!("aЖ{c}é");
        assert_eq!(
            is_plainly_nfc_text(&s),
            s.chars().all(is_plainly_nfc),
            "U+{:04X}",
            c as u32
        );
    }
}

#[test]
fn plainly_nfc_characters_are_nfc_stable() {
    for c in (0..=0x10FFFFu32)
        .filter_map(char::from_u32)
        .filter(|&c| is_plainly_nfc(c))
    {
        assert_eq!(
            unicode_normalization::char::canonical_combining_class(c),
            0,
            "U+{:04X}",
            c as u32
        );
        assert_eq!(
            is_nfc_quick(std::iter::once(c)),
            IsNormalized::Yes,
            "U+{:04X}",
            c as u32
        );
    }
}

#[test]
fn fast_key_paths() {
    assert_eq!(key_text("ЁЖИК Ѐ ПРИВЕТ, Мир!"), "ёжикѐприветмир");
    assert_eq!(key_text("ÀÉÎÕÜ Çà ß ×÷"), "àéîõüçàss");
    assert_eq!(key_text("❗️ Hello — “world” ✅ 👍🏻"), "helloworld");
    // A combining accent: the general path composes it.
    assert_eq!(key_text("Cafe\u{0301}"), "café");
}

#[test]
fn digest_is_sha256_prefix() {
    // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    assert_eq!(hex16(&digest("abc")), "ba7816bf8f01cfea414140de5dae2223");
}

mod props {
    use super::super::*;
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    /// Text drawn from characters that normalisation treats specially.
    fn tricky_text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "a",
            "B",
            "é",
            "e\u{0301}",
            "ß",
            "Σ",
            "я",
            "Ё",
            "7",
            " ",
            "  ",
            "\u{00A0}",
            "\u{200B}",
            "\u{200D}",
            "\u{00AD}",
            "\u{FEFF}",
            "\t",
            "\u{0007}",
            "👍",
            "👨\u{200D}👩",
            "🇷🇺",
            "\u{FE0F}",
            "“",
            "”",
            "\"",
            "'",
            "’",
            "ﬁ",
            "①",
            "-",
        ]);
        prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
    }

    fn words() -> impl Strategy<Value = String> {
        prop::collection::vec("[a-zA-Zа-яА-Я0-9]{1,8}", 1..8).prop_map(|w| w.join(" "))
    }

    proptest! {
        #[test]
        fn display_is_idempotent(s in tricky_text()) {
            let once = display_text(&s).into_owned();
            let twice = display_text(&once).into_owned();
            prop_assert_eq!(twice, once);
        }

        #[test]
        fn one_pass_scan_agrees_on_tricky_text(s in tricky_text()) {
            prop_assert_eq!(scan_line(&s), super::scan_by_passes(&s));
        }

        #[test]
        fn fast_path_agrees_with_the_full_rewrite(s in tricky_text()) {
            // A line the byte scan lets through must come out of the full rewrite
            // unchanged except for NFC.
            if scan_line(&s) != LineScan::Rewrite {
                let fast = display_text(&s).into_owned();
                prop_assert_eq!(fast, full_rewrite(&s));
            }
        }

        #[test]
        fn key_chars_counts_characters(s in "\\PC{0,200}") {
            prop_assert_eq!(key_chars(s.as_bytes()), s.chars().count());
        }

        #[test]
        fn key_is_idempotent(s in tricky_text()) {
            let key = key_text(&display_text(&s));
            prop_assert_eq!(key_text(&key), key.clone());
        }

        #[test]
        fn key_matches_the_reference(s in tricky_text()) {
            prop_assert_eq!(key_text(&s), super::reference_key(&s));
        }

        #[test]
        fn key_ignores_presentation(s in words()) {
            let base = key_text(&display_text(&s));
            let variants = [
                s.to_uppercase(),
                s.nfd().collect::<String>(),
                s.replace(' ', "\u{00A0}"),
                s.replace(' ', "  "),
                s.replace(' ', " \u{200B}"),
                format!("“{s}”"),
                format!("\"{s}\""),
                format!("  {s}  "),
                format!("{s}!"),
            ];
            for v in variants {
                prop_assert_eq!(key_text(&display_text(&v)), base.clone(), "variant {:?}", v);
            }
        }
    }
}

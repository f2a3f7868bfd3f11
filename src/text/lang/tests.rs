//! Tests of language detection: the census against decoding every character, the
//! Latin word sampler against its plain version, and labels on known texts.

use super::function_words::{LISTED, function_words};
use super::words::*;
use super::*;

fn fast(text: &str) -> Option<&'static str> {
    detect_fast(text)
}

/// The census as first written, decoding every character: the reference for the
/// byte-level Cyrillic path of [`census`].
fn census_by_chars(sample: &str) -> ([u32; SCRIPTS.len()], Markers) {
    let mut counts = [0u32; SCRIPTS.len()];
    let mut markers = Markers::default();
    for c in sample.chars() {
        if c.is_ascii() {
            counts[Script::Latin as usize] += u32::from(c.is_ascii_alphabetic());
        } else if let Some(script) = script_of(c) {
            counts[script as usize] += 1;
            markers.count(c);
        }
    }
    (counts, markers)
}

fn assert_census_agrees(sample: &str) {
    let (counts, markers) = census(sample);
    let (want_counts, want_markers) = census_by_chars(sample);
    assert_eq!(counts, want_counts, "{sample:?}");
    assert_eq!(
        format!("{markers:?}"),
        format!("{want_markers:?}"),
        "{sample:?}"
    );
}

#[test]
fn census_agrees_with_decoding_every_character() {
    // Every code point alone, and between a Cyrillic letter and an ASCII one, so a
    // wrong step after the byte-level path shows up in the neighbours.
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        assert_census_agrees(&c.to_string());
        assert_census_agrees(&format!("ж{c}a{c}ї"));
    }
    assert_census_agrees("Міністр закордонних справ заявив, що переговори — ёж ъ ў.");
}

#[test]
fn census_counts_long_runs_of_ascii_letters() {
    // Letters are counted in byte-wide counters, run by run: every length around the
    // run size, all letters and mixed with other bytes.
    for len in [254, 255, 256, 510, 511, 512, 700] {
        assert_census_agrees(&"a".repeat(len));
        assert_census_agrees(&"Ab1 ж".repeat(len / 5));
    }
    assert_eq!(census(&"Z".repeat(700)).0[Script::Latin as usize], 700);
}

proptest::proptest! {
    #[test]
    fn census_agrees_on_mixed_text(s in "[a-zA-Z \\u{400}-\\u{52f}\\u{600}-\\u{6ff}\\u{100}-\\u{24f}]{0,80}") {
        assert_census_agrees(&s);
    }
}

#[test]
fn markers_count_both_cases_alike() {
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        let mut lower = c.to_lowercase();
        let (Some(l), None) = (lower.next(), lower.next()) else {
            continue;
        };
        let (mut a, mut b) = (Markers::default(), Markers::default());
        a.count(c);
        b.count(l);
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "{c:?} and {l:?}");
    }
}

/// `latin_words` as first written, on `char`s and `split_whitespace`: the reference
/// for the byte-level one.
fn latin_words_by_chars(sample: &str) -> String {
    let latin = |c: char| c.is_ascii() || matches!(c as u32, 0xC0..=0x24F);
    if sample.len() <= LATIN_SAMPLE_BYTES && sample.chars().all(latin) {
        return sample.to_owned();
    }
    let mut words = String::new();
    for word in sample.split_whitespace().filter(|w| w.chars().all(latin)) {
        words.push_str(word);
        words.push(' ');
        if words.len() >= LATIN_SAMPLE_BYTES {
            break;
        }
    }
    words
}

#[test]
fn latin_words_agree_with_splitting_on_chars() {
    let long = "word ".repeat(30);
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        for sample in [
            format!("ab{c}cd ef"),
            format!("{c}"),
            format!("x {c} y{c}"),
            format!("{long}{c}{long}"),
        ] {
            assert_eq!(
                latin_words(&sample),
                latin_words_by_chars(&sample),
                "{sample:?}"
            );
        }
    }
}

#[test]
fn a_short_latin_sample_keeps_its_line_breaks() {
    // Exactly the size limit, ending in a line break: kept as it is.
    let sample = "abc\n".repeat(LATIN_SAMPLE_BYTES / 4);
    assert_eq!(sample.len(), LATIN_SAMPLE_BYTES);
    assert_eq!(latin_words(&sample), sample);
    assert_eq!(latin_words_by_chars(&sample), sample);
}

proptest::proptest! {
    #[test]
    fn latin_words_agree_on_mixed_text(
        s in "[a-z\\t\\n\\u{b}\\u{c} \\u{a0}\\u{2003}\\u{c0}-\\u{250}\\u{400}-\\u{410}]{0,300}"
    ) {
        proptest::prop_assert_eq!(latin_words(&s), latin_words_by_chars(&s));
    }
}

#[test]
fn latin_words_leave_other_scripts_out() {
    assert_eq!(
        latin_words("Die Straße безопасность und der Fluß"),
        "Die Straße und der Fluß "
    );
    assert!(matches!(
        latin_words("short\nand Latin"),
        std::borrow::Cow::Borrowed("short\nand Latin")
    ));
    let long = "word ".repeat(200);
    let words = latin_words(&long);
    assert!(words.len() >= LATIN_SAMPLE_BYTES && words.len() < LATIN_SAMPLE_BYTES + 8);
}

#[test]
fn cyrillic_languages_by_their_own_letters() {
    assert_eq!(
        fast("Министр иностранных дел заявил, что переговоры продолжатся на этой неделе."),
        Some("ru")
    );
    assert_eq!(
        fast("Міністр закордонних справ заявив, що переговори триватимуть цього тижня."),
        Some("uk")
    );
    assert_eq!(
        fast("Міністр замежных спраў заявіў, што перамовы працягнуцца на гэтым тыдні."),
        Some("be")
    );
    assert_eq!(
        fast("Министърът на външните работи заяви, че преговорите ще продължат тази седмица."),
        Some("bg")
    );
    assert_eq!(
        fast(
            "Министар спољних послова изјавио је да ће се преговори наставити ове недеље, рекао је ђак."
        ),
        Some("sr")
    );
    assert_eq!(
        fast("Сыртқы істер министрі келіссөздер осы аптада жалғасатынын мәлімдеді."),
        Some("kk")
    );
}

#[test]
fn latin_languages() {
    assert_eq!(
        fast("The foreign minister said that the talks would continue later this week."),
        Some("en")
    );
    assert_eq!(
        fast(
            "Der Außenminister sagte, dass die Gespräche später in dieser Woche fortgesetzt werden."
        ),
        Some("de")
    );
    assert_eq!(
        fast(
            "Le ministre des Affaires étrangères a déclaré que les discussions se poursuivraient cette semaine."
        ),
        Some("fr")
    );
    assert_eq!(
        fast(
            "El ministro de Asuntos Exteriores dijo que las conversaciones continuarán esta semana."
        ),
        Some("es")
    );
    assert_eq!(
        fast(
            "Minister spraw zagranicznych powiedział, że rozmowy będą kontynuowane w tym tygodniu."
        ),
        Some("pl")
    );
    assert_eq!(
        fast("Ministr zahraničí řekl, že rozhovory budou pokračovat příští týden ve středu."),
        Some("cs")
    );
}

#[test]
fn other_scripts() {
    assert_eq!(
        fast("وقال وزير الخارجية إن المحادثات ستستمر هذا الأسبوع"),
        Some("ar")
    );
    assert_eq!(
        fast("وزیر امور خارجه گفت که گفتگوها این هفته ادامه پیدا می‌کند"),
        Some("fa")
    );
    assert_eq!(
        fast("Ο υπουργός Εξωτερικών δήλωσε ότι οι συνομιλίες θα συνεχιστούν"),
        Some("el")
    );
    assert_eq!(
        fast("שר החוץ אמר כי השיחות יימשכו השבוע הזה בירושלים"),
        Some("he")
    );
    assert_eq!(
        fast("外务大臣表示，会谈将于本周继续进行，双方将讨论合作问题"),
        Some("zh")
    );
    assert_eq!(
        fast("外務大臣は、今週も協議が続くと述べました。これからも話し合います"),
        Some("ja")
    );
    assert_eq!(
        fast("외무장관은 이번 주에도 회담이 계속될 것이라고 말했습니다"),
        Some("ko")
    );
}

#[test]
fn short_or_letterless_text_has_no_language() {
    assert_eq!(fast("OK"), None);
    assert_eq!(fast("12:30 🔥🔥🔥 — 2024"), None);
    assert_eq!(fast(""), None);
}

#[test]
fn dominant_script_wins_in_mixed_text() {
    assert_eq!(
        fast("Сегодня министр провёл встречу с делегацией, talks in Geneva continue"),
        Some("ru")
    );
}

#[test]
fn links_are_not_language() {
    let mut s = String::new();
    push_words(
        "Раскрыта технология создания небесного диска | https://example.ru/article/raskryta-tehnologiya-sozd www.example.com",
        &mut s,
    );
    assert_eq!(s, "Раскрыта технология создания небесного диска | ");
    assert_eq!(fast(&s), Some("ru"));
}

#[test]
fn off_is_always_none() {
    let mut raw = crate::text::segment::RawPost {
        read: 1,
        ..Default::default()
    };
    raw.push_paragraph(
        crate::text::segment::ParagraphKind::Text,
        None,
        None,
        None,
        "The foreign minister said that the talks would continue.",
    );
    let p = crate::text::post::build_post(raw);
    assert_eq!(LangDetector::Off.detect(&p), None);
    assert_eq!(LangDetector::Fast.detect(&p), Some("en"));
    assert_eq!(LangDetector::Whatlang.detect(&p), Some("en"));
}

#[test]
fn the_bench_set_is_never_labelled_wrong() {
    let samples = include_str!("../../../examples/lang_eval/samples.tsv");
    let mut right = 0;
    for (want, text) in samples
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
    {
        let got = LangDetector::Fast.detect_text(text);
        match (want, got) {
            (_, None) => {}
            ("-", Some(g)) => panic!("{text:?}: no label wanted, got {g}"),
            (w, Some(g)) => {
                assert_eq!(w, g, "{text:?}");
                right += 1;
            }
        }
    }
    // Of the 140 texts in a labelled language, at most a few may be left null.
    assert!(right >= 135, "only {right} right");
}

#[test]
fn languages_the_old_model_forced_into_others() {
    assert_eq!(
        fast("Kryeministri tha se qeveria do të ndërmarrë masa të reja për ekonominë."),
        Some("sq")
    );
    assert_eq!(
        fast("Hükümet yeni önlemler açıkladı ve fiyatların düşmesi bekleniyor."),
        Some("tr")
    );
    assert_eq!(
        fast("Cijene goriva ponovno će porasti sljedeći tjedan, priopćila je vlada."),
        Some("hr")
    );
    assert_eq!(
        fast("Cene goriva ponovo će porasti sledeće nedelje, saopštila je vlada."),
        Some("sr")
    );
    assert_eq!(
        fast("Hukumat yangi qarorlar qabul qildi va ular oʻz kuchiga kirdi."),
        Some("uz")
    );
    assert_eq!(fast("ፖሊስ ተጠርጣሪው ማክሰኞ ምሽት በቁጥጥር ስር መዋሉን ገልጿል።"), Some("am"));
}

#[test]
fn function_word_lists_fit_the_distinct_count() {
    for code in ["en", "de", "fr", "es", "pt", "it", "nl", "sv", "tr", "vi"] {
        assert!(!function_words(code).is_empty(), "{code}");
        assert!(function_words(code).len() <= MAX_LISTED_WORDS, "{code}");
    }
    for (code, list) in LISTED {
        assert!(list.len() <= MAX_LISTED_WORDS, "{code}");
    }
    // Packed in eight bytes, none is lost or confused with another.
    for (code, list) in PACKED.iter() {
        let mut distinct = list.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(!list.contains(&0), "{code}: a word longer than 8 bytes");
        assert_eq!(distinct.len(), list.len(), "{code}: a word twice");
    }
}

#[test]
fn languages_outside_the_list_are_null() {
    // Indonesian, Finnish, Kyrgyz, Azerbaijani, Slovak.
    for text in [
        "Pemerintah mengumumkan langkah-langkah baru untuk mendukung usaha kecil hari ini.",
        "Hallitus ilmoitti uusista toimista pienyritysten tukemiseksi tänään.",
        "Өкмөт чакан бизнести колдоо боюнча жаңы чараларды жарыялады бүгүн.",
        "Hökumət kiçik biznesə dəstək üçün yeni tədbirlər elan etdi.",
        "Vláda oznámila nové opatrenia, ktoré podľa nej pomôžu podnikom.",
    ] {
        assert_eq!(fast(text), None, "{text:?}");
    }
}

/// Hits and distinct hits of `codes` in one list, a list at a time as first written: the
/// reference for [`Tally`]'s one search over every list.
fn hits_in_list(codes: &[u64], list: &[u64]) -> (usize, usize) {
    let mut seen = vec![false; list.len()];
    let mut hits = 0;
    for &code in codes.iter().filter(|&&c| c != 0) {
        if let Some(at) = list.iter().position(|&w| w == code) {
            hits += 1;
            seen[at] = true;
        }
    }
    (hits, seen.iter().filter(|&&s| s).count())
}

/// Texts of words drawn from every list of function words (so lists sharing a word, like
/// "de" or "a", are hit together) and from words in none of them.
fn mixed_words() -> impl proptest::strategy::Strategy<Value = Vec<String>> {
    use proptest::prelude::*;
    let function: Vec<String> = PACKED
        .iter()
        .flat_map(|(code, _)| {
            function_words(code)
                .iter()
                .chain(
                    LISTED
                        .iter()
                        .filter(move |(c, _)| c == code)
                        .flat_map(|(_, l)| l.iter()),
                )
                .map(|w| w.to_string())
        })
        .collect();
    let word = prop_oneof![
        3 => proptest::sample::select(function),
        2 => "[a-zA-Zéü]{1,12}",
        1 => "[A-Z][a-z]{2,6}",
    ];
    proptest::collection::vec(word, 0..60)
}

/// [`latin`]'s last steps as they were before the function words were read first:
/// whichlang asked on every text.
fn latin_asking_whichlang_first(sample: &str) -> Option<&'static str> {
    let code = whichlang_code(sample)?;
    let words = Words::of(sample);
    let language = WHICHLANG_CODES.iter().position(|&c| c == code)?;
    if words.read_as(language) {
        return Some(code);
    }
    words.listed_language()
}

proptest::proptest! {
    #[test]
    fn one_search_counts_as_a_search_per_list(words in mixed_words()) {
        let codes: Vec<u64> = words
            .iter()
            .map(|w| pack(w.to_lowercase().as_bytes()))
            .collect();
        let mut tally = Tally::EMPTY;
        for &code in &codes {
            tally.add(code);
        }
        for (language, (code, list)) in PACKED.iter().enumerate() {
            let counted = tally.of(language, codes.len());
            proptest::prop_assert_eq!(
                (counted.hits, counted.distinct),
                hits_in_list(&codes, list),
                "{}", code
            );
        }
    }

    #[test]
    fn reading_the_function_words_first_changes_no_answer(words in mixed_words()) {
        let sample = words.join(" ");
        let (_, markers) = census(&sample);
        // Only texts that get past the markers reach the function words.
        if markers.0.iter().all(|&n| n == 0) && uzbek_latin(&sample) < 2 {
            proptest::prop_assert_eq!(
                latin(&sample, &markers),
                latin_asking_whichlang_first(&sample),
                "{:?}", sample
            );
        }
    }
}

#[test]
fn text_without_function_words_is_null_without_asking_whichlang() {
    let headline = "Minister Lavrov Eurasian security architecture cooperation statement";
    assert!(!Words::of(headline).read_as_any());
    assert_eq!(fast(headline), None);
    let sentence = "The minister said that the talks will go on after the summit.";
    assert!(Words::of(sentence).read_as_any());
    assert_eq!(fast(sentence), Some("en"));
}

//! Names the language of a post (`lang`, ISO 639-1) from a sample of its paragraphs:
//! right or `null`, never a guess.
//!
//! Two detectors. `Fast` (the default) counts letters per script in one pass and decides
//! most scripts from that census alone: Cyrillic and Arabic-script languages by the
//! letters only one of them uses (і/ї/є/ґ for Ukrainian, پ/چ/گ for Persian…), Latin by
//! the same kind of letters (ą/ł for Polish, ř/ů for Czech, ë for Albanian…), Croatian
//! and Serbian by their spellings, and otherwise by `whichlang`, a hashed n-gram linear
//! model whose answer stands only when the text has that language's function words
//! ([`function_words`]). It costs a few microseconds per post. `Whatlang` is the trigram
//! detector of the `whatlang` crate: more Latin-script languages, but about 60 µs per
//! post, which alone would cap a core near 60 MB/s. `examples/lang_eval` measures both.

mod function_words;
mod words;

use crate::text::post::Post;
use words::{WHICHLANG_CODES, Words};

/// How `lang` is filled in (`--lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LangDetector {
    #[default]
    Fast,
    Whatlang,
    /// `lang` is always `null`.
    Off,
}

/// Bytes of text the detectors look at: enough for a stable answer, little enough to be
/// cheap on long posts.
const SAMPLE_BYTES: usize = 512;

/// Fewest letters of the dominant script for an answer; shorter posts get `null`.
const MIN_LETTERS: u32 = 12;

/// Lowest whatlang confidence accepted (`Whatlang` only).
const MIN_WHATLANG_CONFIDENCE: f64 = 0.25;

impl LangDetector {
    /// The post's language, or `None` when the text is too short or the detector unsure.
    pub fn detect(self, post: &Post) -> Option<&'static str> {
        self.detect_sample(&sample(post))
    }

    /// The language of one text, taken as a post of one paragraph (for benches).
    pub fn detect_text(self, text: &str) -> Option<&'static str> {
        let mut sample = String::with_capacity(text.len().min(SAMPLE_BYTES * 2));
        push_words(text, &mut sample);
        let mut end = sample.len().min(SAMPLE_BYTES);
        while !sample.is_char_boundary(end) {
            end -= 1;
        }
        sample.truncate(end);
        self.detect_sample(&sample)
    }

    fn detect_sample(self, sample: &str) -> Option<&'static str> {
        match self {
            LangDetector::Off => None,
            LangDetector::Fast => detect_fast(sample),
            LangDetector::Whatlang => detect_whatlang(sample),
        }
    }
}

/// Paragraphs spread over the whole post, so a long post is judged by all of its parts,
/// not by its opening lines.
fn sample(post: &Post) -> String {
    let total: usize = post.paragraphs.iter().map(|p| p.text.len()).sum();
    let stride = total.div_ceil(SAMPLE_BYTES).max(1);
    let mut sample = String::with_capacity(SAMPLE_BYTES * 2);
    for p in post.paragraphs.iter().step_by(stride) {
        push_words(post.text_of(p), &mut sample);
        sample.push('\n');
        if sample.len() >= SAMPLE_BYTES {
            let mut end = SAMPLE_BYTES;
            while !sample.is_char_boundary(end) {
                end -= 1;
            }
            sample.truncate(end);
            break;
        }
    }
    sample
}

/// Appends the words of `text` that are language, leaving out links: a Cyrillic headline
/// followed by its article URL has more Latin letters than Cyrillic ones.
fn push_words(text: &str, sample: &mut String) {
    if !text.contains("://") && !text.contains("www.") {
        sample.push_str(text);
        return;
    }
    for word in text.split_ascii_whitespace() {
        if !word.contains("://") && !word.starts_with("www.") {
            sample.push_str(word);
            sample.push(' ');
        }
    }
}

fn detect_whatlang(sample: &str) -> Option<&'static str> {
    let info = whatlang::detect(sample)?;
    if !info.is_reliable() && info.confidence() < MIN_WHATLANG_CONFIDENCE {
        return None;
    }
    isolang::Language::from_639_3(info.lang().code())?.to_639_1()
}

/// Writing systems told apart by the census.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
    Armenian,
    Hebrew,
    Arabic,
    Devanagari,
    Bengali,
    Thai,
    Georgian,
    Hangul,
    Kana,
    Han,
    Ethiopic,
}

const SCRIPTS: [Script; 14] = [
    Script::Latin,
    Script::Cyrillic,
    Script::Greek,
    Script::Armenian,
    Script::Hebrew,
    Script::Arabic,
    Script::Devanagari,
    Script::Bengali,
    Script::Thai,
    Script::Georgian,
    Script::Hangul,
    Script::Kana,
    Script::Han,
    Script::Ethiopic,
];

fn script_of(c: char) -> Option<Script> {
    Some(match c as u32 {
        0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x2AF if c.is_alphabetic() => Script::Latin,
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0400..=0x052F => Script::Cyrillic,
        0x0531..=0x058F => Script::Armenian,
        0x05D0..=0x05FF => Script::Hebrew,
        0x0620..=0x064A | 0x066E..=0x06D3 | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
            Script::Arabic
        }
        0x0900..=0x097F => Script::Devanagari,
        0x0980..=0x09FF => Script::Bengali,
        0x0E00..=0x0E7F => Script::Thai,
        0x10A0..=0x10FF => Script::Georgian,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Hangul,
        0x3040..=0x30FF | 0xFF66..=0xFF9F => Script::Kana,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF => Script::Han,
        0x1200..=0x137F => Script::Ethiopic,
        _ => return None,
    })
}

/// Letters that single out one language among those sharing a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Uk,
    Be,
    Kk,
    /// ң ө ү: Kazakh, but also Kyrgyz, Tatar, Mongolian, which tgclean does not label.
    Turkic,
    /// ҳ: Uzbek in Cyrillic (with ў, қ, ғ).
    Uz,
    Sr,
    Mk,
    Ru,
    BgHardSign,
    Fa,
    Ur,
    Pl,
    Cs,
    Ro,
    /// ë: Albanian writes it in most words; French and Dutch rarely.
    Sq,
    /// ć đ: Croatian, Serbian and Bosnian in Latin script.
    Shtokavian,
    /// č š ž: the West and South Slavic Latin alphabets and the Baltic ones.
    Caron,
    /// ľ ĺ ŕ: Slovak.
    Sk,
    /// ı ğ: Turkish (and Azerbaijani).
    Tr,
    /// ə: Azerbaijani.
    Az,
    Hu,
}

/// The language `c` marks, if any. Both cases are listed: a table match is cheaper than
/// lower-casing every letter.
const fn marker_of(c: char) -> Option<Marker> {
    Some(match c {
        'і' | 'ї' | 'є' | 'ґ' | 'І' | 'Ї' | 'Є' | 'Ґ' => Marker::Uk,
        'ў' | 'Ў' => Marker::Be,
        'ә' | 'ғ' | 'қ' | 'ұ' | 'һ' | 'Ә' | 'Ғ' | 'Қ' | 'Ұ' | 'Һ' => Marker::Kk,
        'ң' | 'ө' | 'ү' | 'Ң' | 'Ө' | 'Ү' => Marker::Turkic,
        'ҳ' | 'Ҳ' => Marker::Uz,
        'ђ' | 'ћ' | 'џ' | 'ј' | 'Ђ' | 'Ћ' | 'Џ' | 'Ј' => Marker::Sr,
        'ѓ' | 'ќ' | 'ѕ' | 'Ѓ' | 'Ќ' | 'Ѕ' => Marker::Mk,
        'ы' | 'э' | 'ё' | 'Ы' | 'Э' | 'Ё' => Marker::Ru,
        'ъ' | 'Ъ' => Marker::BgHardSign,
        'پ' | 'چ' | 'ژ' | 'گ' | 'ک' | 'ی' => Marker::Fa,
        'ٹ' | 'ڈ' | 'ڑ' | 'ں' | 'ے' | 'ہ' => Marker::Ur,
        'ą' | 'ę' | 'ł' | 'ś' | 'ź' | 'ż' | 'ń' | 'Ą' | 'Ę' | 'Ł' | 'Ś' | 'Ź' | 'Ż' | 'Ń' => {
            Marker::Pl
        }
        'ř' | 'ů' | 'ě' | 'Ř' | 'Ů' | 'Ě' => Marker::Cs,
        'ș' | 'ț' | 'ă' | 'Ș' | 'Ț' | 'Ă' => Marker::Ro,
        'ő' | 'ű' | 'Ő' | 'Ű' => Marker::Hu,
        'ë' | 'Ë' => Marker::Sq,
        'ć' | 'đ' | 'Ć' | 'Đ' => Marker::Shtokavian,
        'č' | 'š' | 'ž' | 'Č' | 'Š' | 'Ž' => Marker::Caron,
        'ľ' | 'ĺ' | 'ŕ' | 'Ľ' | 'Ĺ' | 'Ŕ' => Marker::Sk,
        'ı' | 'ğ' | 'Ğ' => Marker::Tr,
        'ə' | 'Ə' => Marker::Az,
        _ => return None,
    })
}

/// [`marker_of`] for U+0400–U+04FF, indexed by the code point's low eight bits: the
/// two-byte sequences with lead byte D0–D3, which the census reads without decoding.
const CYRILLIC_MARKERS: [Option<Marker>; 256] = {
    let mut table = [None; 256];
    let mut i = 0;
    while i < 256 {
        if let Some(c) = char::from_u32(0x400 + i as u32) {
            table[i] = marker_of(c);
        }
        i += 1;
    }
    table
};

/// How many of each [`Marker`] a sample has, indexed by the marker (the last one is
/// `Hu`).
#[derive(Debug, Default)]
struct Markers([u32; Marker::Hu as usize + 1]);

impl Markers {
    fn add(&mut self, m: Marker) {
        self.0[m as usize] += 1;
    }

    fn of(&self, m: Marker) -> u32 {
        self.0[m as usize]
    }

    fn count(&mut self, c: char) {
        if let Some(m) = marker_of(c) {
            self.add(m);
        }
    }
}

/// Letters per script, and the markers among them.
fn census(sample: &str) -> ([u32; SCRIPTS.len()], Markers) {
    let mut counts = [0u32; SCRIPTS.len()];
    // ASCII letters are counted over the bytes, into byte-wide counters (a run of 255
    // bytes cannot overflow one), which the compiler turns into sixteen lanes at a time;
    // the loop below then only looks at the rest.
    let ascii_letters: usize = sample
        .as_bytes()
        .chunks(255)
        .map(|run| {
            usize::from(
                run.iter()
                    .fold(0u8, |n, &b| n + u8::from(b.is_ascii_alphabetic())),
            )
        })
        .sum();
    counts[Script::Latin as usize] = u32::try_from(ascii_letters).unwrap_or(u32::MAX);
    let mut markers = Markers::default();
    let mut cyrillic = 0u32;
    let b = sample.as_bytes();
    let mut i = 0;
    while let Some(&lead) = b.get(i) {
        if lead < 0x80 {
            // Words of Latin-script text are runs of ASCII: skipped a block at a time.
            let rest = b.get(i..).unwrap_or_default();
            i += crate::text::swar::find(
                rest,
                |w| crate::text::swar::lanes_at_least(w, 0x80),
                |x| x >= 0x80,
            )
            .unwrap_or(rest.len());
            continue;
        }
        // U+0400–U+04FF, the bulk of Cyrillic text, is lead byte D0–D3 and one more
        // byte: counted and looked up from the bytes, without decoding the character.
        if lead & 0xFC == 0xD0
            && let Some(&second) = b.get(i + 1)
        {
            cyrillic += 1;
            if let Some(m) =
                CYRILLIC_MARKERS[usize::from(lead & 3) << 6 | usize::from(second & 0x3F)]
            {
                markers.add(m);
            }
            i += 2;
            continue;
        }
        let Some(c) = sample.get(i..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        i += c.len_utf8();
        if let Some(script) = script_of(c) {
            counts[script as usize] += 1;
            markers.count(c);
        }
    }
    counts[Script::Cyrillic as usize] += cyrillic;
    (counts, markers)
}

/// The `Fast` detector over one sample.
fn detect_fast(sample: &str) -> Option<&'static str> {
    let (counts, markers) = census(sample);
    let (best, &letters) = counts
        .iter()
        .enumerate()
        .max_by_key(|&(i, n)| (n, usize::MAX - i))?;
    if letters < MIN_LETTERS {
        return None;
    }
    Some(match SCRIPTS[best] {
        Script::Cyrillic => return cyrillic(sample, &markers),
        Script::Arabic => {
            if markers.of(Marker::Ur) > 0 && markers.of(Marker::Ur) >= markers.of(Marker::Fa) / 2 {
                "ur"
            } else if markers.of(Marker::Fa) > 0 {
                "fa"
            } else {
                "ar"
            }
        }
        Script::Latin => return latin(sample, &markers),
        Script::Greek => "el",
        Script::Armenian => "hy",
        Script::Hebrew => "he",
        Script::Devanagari => "hi",
        Script::Bengali => "bn",
        Script::Thai => "th",
        Script::Georgian => "ka",
        Script::Hangul => "ko",
        // Japanese mixes kana with kanji; kana alone outnumbering Han is rare, so any
        // kana beside Han text also says Japanese.
        Script::Kana => "ja",
        Script::Han if counts[Script::Kana as usize] * 10 >= letters => "ja",
        Script::Han => "zh",
        Script::Ethiopic => "am",
    })
}

fn cyrillic(sample: &str, m: &Markers) -> Option<&'static str> {
    Some(
        if m.of(Marker::Uz) > 0 || (m.of(Marker::Be) > 0 && m.of(Marker::Kk) > 0) {
            "uz"
        } else if m.of(Marker::Kk) >= 1 && m.of(Marker::Kk) + m.of(Marker::Turkic) >= 2 {
            "kk"
        } else if m.of(Marker::Turkic) >= 2 {
            // Kyrgyz, Tatar, Mongolian…: not Russian, and not a language labelled here.
            return None;
        } else if m.of(Marker::Uk) > 0 && m.of(Marker::Ru) > 0 && belarusian_spelling(sample) >= 2 {
            // і beside ы/э is Belarusian, or Ukrainian and Russian paragraphs in one post;
            // Belarusian's дз/ц before ы, э, е tells which.
            "be"
        } else if m.of(Marker::Be) > 0
            && (m.of(Marker::Ru) > 0 || m.of(Marker::Be) * 2 >= m.of(Marker::Uk))
        {
            "be"
        } else if m.of(Marker::Uk) > m.of(Marker::Ru) {
            "uk"
        } else if m.of(Marker::Mk) > 0 {
            "mk"
        } else if m.of(Marker::Sr) > 0 {
            "sr"
        } else if m.of(Marker::Ru) == 0 && m.of(Marker::BgHardSign) >= 2 {
            // Bulgarian writes ъ as a vowel, often; Russian rarely, and never without ы/э/ё
            // in a sample this long.
            "bg"
        } else {
            "ru"
        },
    )
}

/// Belarusian spellings Russian and Ukrainian do not use (цы, цэ, дзе, дзя…), counted
/// in `sample`.
fn belarusian_spelling(sample: &str) -> usize {
    ["цы", "цэ", "дзе", "дзя", "дзі", "цца", "ўс", "ня"]
        .iter()
        .map(|m| sample.matches(m).count())
        .sum()
}

fn latin(sample: &str, m: &Markers) -> Option<&'static str> {
    // ı/ğ with ş, ç, ö or ü around them: Turkish even when only one of the first two is
    // there.
    let turkish = if m.of(Marker::Tr) >= 1 {
        m.of(Marker::Tr)
            + sample
                .matches(['ş', 'ç', 'ö', 'ü', 'Ş', 'Ç', 'Ö', 'Ü'])
                .count() as u32
    } else {
        0
    };
    let marked = [
        (m.of(Marker::Pl), "pl"),
        (m.of(Marker::Cs), "cs"),
        (m.of(Marker::Ro), "ro"),
        (m.of(Marker::Hu), "hu"),
        (m.of(Marker::Sq), "sq"),
        (turkish.min(2), "tr"),
    ];
    if let Some(&(_, code)) = marked
        .iter()
        .filter(|(n, _)| *n >= 2)
        .max_by_key(|(n, _)| *n)
    {
        // ə beside ı/ğ is Azerbaijani, which is not labelled.
        if code == "tr" && m.of(Marker::Az) > 0 {
            return None;
        }
        return Some(code);
    }
    if m.of(Marker::Sk) > 0 || m.of(Marker::Az) > 0 {
        return None;
    }
    if uzbek_latin(sample) >= 2 {
        return Some("uz");
    }
    if m.of(Marker::Shtokavian) + m.of(Marker::Caron) >= 2 {
        // Croatian or Serbian (in Latin script), told apart by how they spell the old
        // yat (cijena / cena) and a few words of their own. When nothing tells, the
        // text goes on to the checks below, which name neither.
        match shtokavian(&head_of(sample, 2 * LATIN_SAMPLE_BYTES).to_lowercase()) {
            std::cmp::Ordering::Greater => return Some("hr"),
            std::cmp::Ordering::Less => return Some("sr"),
            std::cmp::Ordering::Equal => {}
        }
    }
    // Every answer below needs the words to read like the language it names, so text
    // that reads like none of them is null whatever whichlang would say: it is not asked
    // (on text without function words, a headline or a list of names, it was the most
    // costly step).
    let words = Words::of(sample);
    if !words.read_as_any() {
        return None;
    }
    let code = whichlang_code(sample)?;
    // whichlang always names one of the languages it knows; the words it was given must
    // also read like that language, or the text is in another one (Indonesian, Finnish,
    // Swahili…) and the answer is null.
    if WHICHLANG_CODES
        .iter()
        .position(|&c| c == code)
        .is_some_and(|language| words.read_as(language))
    {
        return Some(code);
    }
    // Then the languages whichlang does not know, by their own function words.
    words.listed_language()
}

/// What `whichlang` says of the Latin-script words of `sample`, as a code; `None` for a
/// non-Latin answer, which for Latin text means the model has no idea.
fn whichlang_code(sample: &str) -> Option<&'static str> {
    use whichlang::Lang;
    Some(match whichlang::detect_language(&latin_words(sample)) {
        Lang::Eng => "en",
        Lang::Deu => "de",
        Lang::Fra => "fr",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Nld => "nl",
        Lang::Swe => "sv",
        Lang::Tur => "tr",
        Lang::Vie => "vi",
        Lang::Ara | Lang::Cmn | Lang::Hin | Lang::Jpn | Lang::Kor | Lang::Rus => return None,
    })
}

/// Uzbek's apostrophe letters (oʻ, gʻ, written with U+02BB, U+2018 or an ASCII
/// apostrophe) in `sample`.
fn uzbek_latin(sample: &str) -> usize {
    let mut count = 0;
    for apostrophe in ['ʻ', '‘', '\''] {
        if !sample.contains(apostrophe) {
            continue;
        }
        for letter in ["o", "g", "O", "G"] {
            count += sample.matches(&format!("{letter}{apostrophe}")).count();
        }
    }
    count
}

/// Croatian against Serbian in lower-cased Latin text: `Greater` for Croatian.
fn shtokavian(lower: &str) -> std::cmp::Ordering {
    const CROATIAN: [&str; 9] = [
        "ije", "tje", "sje", "mje", "priopć", "tisuć", "tijek", "također", "kazao",
    ];
    const SERBIAN: [&str; 9] = [
        "saopšt", "hiljad", "opšt", "sled", "nedelj", "cene", "uopšte", "takođe", "vreme",
    ];
    let count = |words: &[&str]| {
        words
            .iter()
            .map(|w| lower.matches(w).count())
            .sum::<usize>()
    };
    count(&CROATIAN).cmp(&count(&SERBIAN))
}

/// The first `limit` bytes of `text`, cut at a character boundary.
fn head_of(text: &str, limit: usize) -> &str {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Bytes of Latin-script words given to `whichlang`. Its cost is per byte (three hashed
/// n-grams per letter), and twenty-odd words decide between the ten languages it knows
/// (on ../shared/realdata, 128, 256 and 384 bytes agree with whatlang equally often).
const LATIN_SAMPLE_BYTES: usize = 128;

/// What a character of a sample is to [`latin_words`].
enum WordChar {
    Latin,
    Other,
    /// Whitespace; `latin` when ASCII, the only whitespace inside the Latin ranges.
    Space {
        latin: bool,
    },
}

/// The character at `at` (a character boundary) of `text`, and its length. ASCII and
/// U+00C0–U+024F (Latin-1 letters, Latin Extended-A and -B; in UTF-8, the two-byte
/// sequences C3 80 to C9 8F) are told from the bytes; only the rest is decoded.
fn word_char_at(text: &str, at: usize) -> (WordChar, usize) {
    let b = text.as_bytes();
    match b.get(at) {
        // `char::is_whitespace` in ASCII: with the vertical tab, unlike
        // `u8::is_ascii_whitespace`.
        Some(b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') => (WordChar::Space { latin: true }, 1),
        Some(0..0x80) => (WordChar::Latin, 1),
        Some(0xC3..=0xC8) => (WordChar::Latin, 2),
        Some(0xC9) if b.get(at + 1).is_some_and(|&next| next <= 0x8F) => (WordChar::Latin, 2),
        _ => match text.get(at..).and_then(|rest| rest.chars().next()) {
            Some(c) if c.is_whitespace() => (WordChar::Space { latin: false }, c.len_utf8()),
            Some(c) => (WordChar::Other, c.len_utf8()),
            None => (WordChar::Other, 1),
        },
    }
}

/// The words of `sample` written in Latin script, up to [`LATIN_SAMPLE_BYTES`]: words in
/// other scripts say nothing about which Latin-script language a post is in.
fn latin_words(sample: &str) -> std::borrow::Cow<'_, str> {
    let mut words = String::with_capacity(LATIN_SAMPLE_BYTES + 64);
    // A short sample may yet turn out Latin throughout, and then it is taken whole.
    let short = sample.len() <= LATIN_SAMPLE_BYTES;
    let mut all_latin = true;
    let mut word_start = 0;
    let mut word_is_latin = true;
    let mut at = 0;
    while at < sample.len() {
        let (kind, len) = word_char_at(sample, at);
        match kind {
            WordChar::Latin => {}
            WordChar::Other => {
                all_latin = false;
                word_is_latin = false;
            }
            WordChar::Space { latin } => {
                all_latin &= latin;
                if word_is_latin && word_start < at {
                    words.push_str(&sample[word_start..at]);
                    words.push(' ');
                    if words.len() >= LATIN_SAMPLE_BYTES && !short {
                        return words.into();
                    }
                }
                word_start = at + len;
                word_is_latin = true;
            }
        }
        at += len;
    }
    // A short sample that is Latin throughout is taken as it is, spacing and all.
    if all_latin && short {
        return sample.into();
    }
    if word_is_latin && word_start < sample.len() {
        words.push_str(&sample[word_start..]);
        words.push(' ');
    }
    words.into()
}

#[cfg(test)]
mod tests;

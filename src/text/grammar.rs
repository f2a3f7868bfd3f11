//! Classifies one display-normalised line of a plain-text dump into its SPEC §3 kind.
//!
//! Each grammar rule is one small nom function with the rule in its doc comment. The
//! rules return their leftover input; [`classify`] decides which must consume the whole
//! line. Nothing here allocates except the small vectors of reactions and hashtags.

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag, take_while, take_while_m_n, take_while1},
    character::complete::{char, digit1, space0, space1},
    combinator::{all_consuming, eof, map_opt, opt, recognize, rest, verify},
    error::{Error as NomError, ErrorKind},
    multi::many1,
    sequence::{preceded, terminated},
};
use unicode_properties::UnicodeEmoji;
use unicode_segmentation::UnicodeSegmentation;

/// A time of day as found in dumps and exports; seconds and UTC offset when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Time {
    pub hour: u8,
    pub minute: u8,
    pub second: Option<u8>,
    /// Minutes east of UTC (`+03:00` = 180).
    pub offset_minutes: Option<i16>,
}

/// A calendar date, optionally with a time of day, as found in dumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub time: Option<Time>,
}

impl Date {
    /// A date that exists in the Gregorian calendar, or `None`.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&day).then_some(Date {
            year,
            month,
            day,
            time: None,
        })
    }

    /// The same date at a time of day, if the time exists.
    pub fn at(self, hour: u8, minute: u8, second: Option<u8>) -> Option<Date> {
        (hour < 24 && minute < 60 && second.is_none_or(|s| s < 60)).then_some(Date {
            time: Some(Time {
                hour,
                minute,
                second,
                offset_minutes: None,
            }),
            ..self
        })
    }

    /// ISO 8601: `2023-01-19`, `2023-01-19T14:05`, `2020-08-01T22:01:49+03:00`.
    pub fn iso(&self) -> String {
        let mut out = format!("{:04}-{:02}-{:02}", self.year, self.month, self.day);
        if let Some(t) = self.time {
            out.push_str(&format!("T{:02}:{:02}", t.hour, t.minute));
            if let Some(s) = t.second {
                out.push_str(&format!(":{s:02}"));
            }
            match t.offset_minutes {
                None => {}
                Some(0) => out.push('Z'),
                Some(m) => {
                    let sign = if m < 0 { '-' } else { '+' };
                    let m = m.unsigned_abs();
                    out.push_str(&format!("{sign}{:02}:{:02}", m / 60, m % 60));
                }
            }
        }
        out
    }
}

/// One reaction of a reactions line: an emoji and how many times it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction<'a> {
    pub emoji: &'a str,
    pub count: u64,
}

/// The kind of one non-blank line (SPEC §3), borrowing from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    ForwardHeader(&'a str),
    DesktopHeader {
        name: &'a str,
        date: Date,
    },
    Reactions(Vec<Reaction<'a>>),
    LinkLabel,
    Hashtags(Vec<&'a str>),
    Boilerplate,
    PlaceDate {
        place: Option<&'a str>,
        date: Date,
    },
    /// A time stamp alone on its line: it belongs to the next line of text.
    Timestamp(u32),
    Transcript {
        t: u32,
        text: &'a str,
    },
    Bullet {
        marker: &'a str,
        emoji: bool,
        text: &'a str,
    },
    Quote {
        marker: &'a str,
        text: &'a str,
    },
    Text(&'a str),
}

/// A classified line. `glued_boilerplate` is the boilerplate phrase that was stuck to the
/// front of the line (`Be the first to commentBelarus’ Foreign Minister…`) and cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified<'a> {
    pub glued_boilerplate: Option<&'a str>,
    pub line: Line<'a>,
}

type Res<'a, T> = IResult<&'a str, T>;

fn fail<T>(i: &str) -> Res<'_, T> {
    Err(nom::Err::Error(NomError::new(i, ErrorKind::Verify)))
}

/// True when a grapheme cluster is an emoji: its first character has the Unicode
/// `Emoji` property and is not ASCII (digits, `#` and `*` are `Emoji` only as keycap
/// bases), or it is a keycap sequence such as `1️⃣`.
pub fn is_emoji_grapheme(g: &str) -> bool {
    let Some(first) = g.chars().next() else {
        return false;
    };
    // A cluster of one character (most markers) cannot hold the keycap mark.
    if g.len() > first.len_utf8() && g.contains('\u{20E3}') {
        return true;
    }
    !first.is_ascii() && is_emoji_char(first)
}

/// The symbol and pictograph blocks where line markers and reactions come from.
const SYMBOLS: std::ops::RangeInclusive<u32> = 0x2190..=0x2BFF;
const PICTOGRAPHS: std::ops::RangeInclusive<u32> = 0x1F300..=0x1FAFF;

/// `UnicodeEmoji::is_emoji_char`, answered from a bitmap for the two blocks most markers
/// come from: the bitmap is built from `is_emoji_char` itself, once, so the answers are
/// the same, without a table search per character.
fn is_emoji_char(c: char) -> bool {
    static BITS: std::sync::LazyLock<Vec<u64>> = std::sync::LazyLock::new(|| {
        let len = SYMBOLS.clone().count() + PICTOGRAPHS.clone().count();
        let mut bits = vec![0u64; len.div_ceil(64)];
        for (i, cp) in SYMBOLS.chain(PICTOGRAPHS).enumerate() {
            if char::from_u32(cp).is_some_and(|c| c.is_emoji_char()) {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    });
    let cp = c as u32;
    let index = if SYMBOLS.contains(&cp) {
        cp - SYMBOLS.start()
    } else if PICTOGRAPHS.contains(&cp) {
        cp - PICTOGRAPHS.start() + (SYMBOLS.end() - SYMBOLS.start() + 1)
    } else {
        return c.is_emoji_char();
    } as usize;
    BITS.get(index / 64)
        .is_some_and(|w| w >> (index % 64) & 1 == 1)
}

/// Latin and Cyrillic letters: never emoji, never keycap bases, and never joined to
/// the character before them in one grapheme cluster.
fn is_plain_letter(c: char) -> bool {
    matches!(c as u32, 0xC0..=0x24F | 0x400..=0x482 | 0x48A..=0x52F)
}

/// Quick and exact rejection for the common case of a line of words: an ASCII
/// character other than a keycap base, or a Latin or Cyrillic letter, followed by
/// nothing, ASCII or such a letter, is a grapheme cluster of one character that is no
/// emoji. This saves grapheme segmentation on most lines.
fn cannot_begin_emoji(i: &str) -> bool {
    let mut chars = i.chars();
    let Some(first) = chars.next() else {
        return true;
    };
    let plain_first = if first.is_ascii() {
        !matches!(first, '0'..='9' | '#' | '*')
    } else {
        is_plain_letter(first)
    };
    plain_first
        && chars
            .next()
            .is_none_or(|c| c.is_ascii() || is_plain_letter(c))
}

/// emoji = one grapheme cluster that is an emoji (flag, ZWJ sequence, keycap, VS16 form)
pub fn emoji(i: &str) -> Res<'_, &str> {
    if cannot_begin_emoji(i) {
        return fail(i);
    }
    let g = match lone_symbol(i) {
        Some(len) => &i[..len],
        None => match i.graphemes(true).next() {
            Some(g) => g,
            None => return fail(i),
        },
    };
    if is_emoji_grapheme(g) {
        Ok((&i[g.len()..], g))
    } else {
        fail(i)
    }
}

/// Length of the first grapheme cluster of `i` in the common case of a symbol or
/// pictograph alone (`☝️ text`, `🔥12`), found without grapheme segmentation: a character
/// of the arrow-to-dingbat or pictograph blocks, an optional VS16, then the end, ASCII
/// or a plain letter, none of which extends a cluster. `None` for anything else; the
/// exhaustive test checks it against the segmenter.
fn lone_symbol(i: &str) -> Option<usize> {
    let mut chars = i.chars();
    let first = chars.next()?;
    let cp = first as u32;
    if !SYMBOLS.contains(&cp) && !PICTOGRAPHS.contains(&cp) {
        return None;
    }
    let mut len = first.len_utf8();
    let mut next = chars.next();
    if next == Some('\u{FE0F}') {
        len += 3;
        next = chars.next();
    }
    match next {
        None => Some(len),
        Some(c) if c.is_ascii() || is_plain_letter(c) => Some(len),
        Some(_) => None,
    }
}

/// emoji_run = 1*emoji   (so `🇷🇺🇦🇿` is one marker)
pub fn emoji_run(i: &str) -> Res<'_, &str> {
    recognize(many1(emoji)).parse(i)
}

const FORWARD_PHRASES: [&str; 2] = ["Forwarded from", "Переслано от"];

/// forward_header = ["["] ("Forwarded from" / "Переслано от") [":"] SP source ["]"]
pub fn forward_header(i: &str) -> Res<'_, &str> {
    let (i, open) = opt(char('[')).parse(i)?;
    let (i, _) = alt(FORWARD_PHRASES.map(phrase_no_case)).parse(i)?;
    let (i, _) = (opt(char(':')), space1).parse(i)?;
    let source = if open.is_some() {
        match i.trim_end().strip_suffix(']') {
            Some(s) => s.trim(),
            None => return fail(i),
        }
    } else {
        i.trim()
    };
    if source.is_empty() {
        return fail(i);
    }
    Ok(("", source))
}

/// two_digits = 1*2DIGIT
fn small_number(i: &str) -> Res<'_, u8> {
    map_opt(
        take_while_m_n(1, 2, |c: char| c.is_ascii_digit()),
        |s: &str| s.parse().ok(),
    )
    .parse(i)
}

/// year = 4DIGIT   (1900–2100, the years a dump can talk about)
fn year(i: &str) -> Res<'_, u16> {
    map_opt(
        take_while_m_n(4, 4, |c: char| c.is_ascii_digit()),
        |s: &str| s.parse().ok().filter(|y| (1900..=2100).contains(y)),
    )
    .parse(i)
}

/// desktop_stamp = "[" DD "." MM "." (YY / YYYY) SP HH ":" MM [":" SS] "]"
pub fn desktop_stamp(i: &str) -> Res<'_, Date> {
    let (i, _) = char('[').parse(i)?;
    let (i, (day, _, month, _)) = (small_number, char('.'), small_number, char('.')).parse(i)?;
    let (i, yy) = alt((
        year,
        map_opt(
            take_while_m_n(2, 2, |c: char| c.is_ascii_digit()),
            |s: &str| s.parse::<u16>().ok().map(|y| 2000 + y),
        ),
    ))
    .parse(i)?;
    let (i, (_, hour, _, minute)) = (space1, small_number, char(':'), small_number).parse(i)?;
    let (i, _) = opt((char(':'), small_number)).parse(i)?;
    let (i, _) = char(']').parse(i)?;
    match Date::new(yy, month, day).and_then(|d| d.at(hour, minute, None)) {
        Some(d) => Ok((i, d)),
        None => fail(i),
    }
}

/// utc_offset = "UTC" ("+" / "-") 2DIGIT ":" 2DIGIT   (minutes east of UTC)
fn utc_offset(i: &str) -> Res<'_, i16> {
    let (i, (_, sign, h, _, m)) = (
        tag("UTC"),
        alt((char('+'), char('-'))),
        small_number,
        char(':'),
        small_number,
    )
        .parse(i)?;
    let minutes = i16::from(h) * 60 + i16::from(m);
    Ok((i, if sign == '-' { -minutes } else { minutes }))
}

/// export_datetime = DD "." MM "." YYYY SP HH ":" MM ":" SS [SP utc_offset]
/// (the `title` of a Telegram Desktop HTML export's date: `02.09.2017 23:45:41 UTC+03:00`)
pub fn export_datetime(i: &str) -> Res<'_, Date> {
    let (i, (day, _, month, _, y)) =
        (small_number, char('.'), small_number, char('.'), year).parse(i)?;
    let (i, (_, hour, _, minute, _, second)) = (
        space1,
        small_number,
        char(':'),
        small_number,
        char(':'),
        small_number,
    )
        .parse(i)?;
    let (i, offset) = opt(preceded(space1, utc_offset)).parse(i)?;
    match Date::new(y, month, day).and_then(|d| d.at(hour, minute, Some(second))) {
        Some(mut d) => {
            if let Some(t) = d.time.as_mut() {
                t.offset_minutes = offset;
            }
            Ok((i, d))
        }
        None => fail(i),
    }
}

/// desktop_header = name "," SP desktop_stamp   (Telegram Desktop "copy" of a message)
pub fn desktop_header(i: &str) -> Res<'_, (&str, Date)> {
    let Some(at) = i.rfind(", [") else {
        return fail(i);
    };
    let name = i[..at].trim();
    if name.is_empty() {
        return fail(i);
    }
    let (left, date) = desktop_stamp(&i[at + 2..])?;
    Ok((left, (name, date)))
}

/// count = 1*DIGIT ["." 1*DIGIT] ["K" / "M" / "К" / "М"]   (`1.2K` = 1200)
pub fn reaction_count(i: &str) -> Res<'_, u64> {
    let (i, (int, frac, suffix)) = (
        digit1,
        opt(preceded(char('.'), digit1)),
        opt(alt((
            phrase_no_case("k"),
            phrase_no_case("m"),
            phrase_no_case("к"),
            phrase_no_case("м"),
        ))),
    )
        .parse(i)?;
    let mult: u64 = match suffix.map(str::to_lowercase).as_deref() {
        Some("k") | Some("к") => 1_000,
        Some("m") | Some("м") => 1_000_000,
        _ => 1,
    };
    let value = (|| {
        let whole: u64 = int.parse().ok()?;
        let mut v = whole.checked_mul(mult)?;
        if let Some(f) = frac {
            if mult == 1 || f.len() > 6 {
                return None;
            }
            let fv: u64 = f.parse().ok()?;
            v = v.checked_add(fv * mult / 10u64.pow(f.len() as u32))?;
        }
        Some(v)
    })();
    match value {
        Some(v) => Ok((i, v)),
        None => fail(i),
    }
}

/// reaction = emoji *SP count
pub fn reaction(i: &str) -> Res<'_, Reaction<'_>> {
    let (i, (emoji, _, count)) = (emoji, space0, reaction_count).parse(i)?;
    Ok((i, Reaction { emoji, count }))
}

/// reactions_line = 1*(*SP reaction) *SP   (`❤1👍1`, `👍 12 🔥 3`, `🔥1.2K`)
pub fn reactions_line(i: &str) -> Res<'_, Vec<Reaction<'_>>> {
    terminated(many1(preceded(space0, reaction)), space0).parse(i)
}

/// label = "Read in full" / "Read more" / "Learn more" / "Continue reading" / "Full text"
///       / "Читать полностью" / "Читать далее" / "Подробнее"
fn label_phrase(i: &str) -> Res<'_, &str> {
    alt(LABEL_PHRASES.map(phrase_no_case)).parse(i)
}

const LABEL_PHRASES: [&str; 8] = [
    "Read in full",
    "Read more",
    "Learn more",
    "Continue reading",
    "Full text",
    "Читать полностью",
    "Читать далее",
    "Подробнее",
];

/// link_label = [emoji_run *SP] label *(SP / "." / ":" / "…" / "→" / "»" / ">") [emoji_run]
pub fn link_label(i: &str) -> Res<'_, &str> {
    let (i, _) = opt((emoji_run, space0)).parse(i)?;
    // Most lines that start with an emoji are bullets: their first word tells at once.
    if !LABEL_HEADS.admit(&head_of(i)) {
        return fail(i);
    }
    let (i, label) = label_phrase(i)?;
    let (i, _) = take_while(|c| matches!(c, ' ' | '.' | ':' | '…' | '→' | '»' | '>')).parse(i)?;
    let (i, _) = opt(emoji_run).parse(i)?;
    Ok((i, label))
}

/// True for characters that may continue a hashtag or a mention.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// hashtag = "#" 1*(letter / digit / "_")
pub fn hashtag(i: &str) -> Res<'_, &str> {
    preceded(char('#'), take_while1(is_word_char)).parse(i)
}

/// hashtag_line = 1*(*SP hashtag) *SP
pub fn hashtag_line(i: &str) -> Res<'_, Vec<&str>> {
    terminated(many1(preceded(space0, hashtag)), space0).parse(i)
}

/// boilerplate = "Be the first to comment" / "This media is not supported in your browser"
///             / "VIEW IN TELEGRAM" / "Please open Telegram to view this post"
pub fn boilerplate(i: &str) -> Res<'_, &str> {
    alt(BOILERPLATE_PHRASES.map(phrase_no_case)).parse(i)
}

const BOILERPLATE_PHRASES: [&str; 4] = [
    "Be the first to comment",
    "This media is not supported in your browser",
    "VIEW IN TELEGRAM",
    "Please open Telegram to view this post",
];

/// sixty = 2DIGIT below 60   (minutes or seconds of a stamp)
fn sixty(i: &str) -> Res<'_, u32> {
    map_opt(
        take_while_m_n(2, 2, |c: char| c.is_ascii_digit()),
        |s: &str| s.parse::<u32>().ok().filter(|v| *v < 60),
    )
    .parse(i)
}

/// timestamp = 1*2DIGIT ":" sixty ":" sixty / 1*2DIGIT ":" sixty   (seconds from the start)
pub fn timestamp(i: &str) -> Res<'_, u32> {
    let hours = (small_number, char(':'), sixty, char(':'), sixty)
        .map(|(h, _, m, _, s)| u32::from(h) * 3600 + m * 60 + s);
    let minutes = (small_number, char(':'), sixty).map(|(m, _, s)| u32::from(m) * 60 + s);
    alt((hours, minutes)).parse(i)
}

/// transcript_line = timestamp *SP text   (`00:14Mr. Politan…`)
///
/// Seconds always have two digits, so in `05:3626 сентября` the stamp is `05:36` and the
/// text starts at `26`: copied transcripts glue the text to the stamp.
pub fn transcript_line(i: &str) -> Res<'_, (u32, &str)> {
    let (i, t) = timestamp(i)?;
    if i.starts_with(':') {
        return fail(i);
    }
    let (i, _) = space0(i)?;
    let (i, text) = rest(i)?;
    Ok((i, (t, text)))
}

/// Month number of an English or Russian month name (full, genitive or 3-letter).
fn month_number(name: &str) -> Option<u8> {
    // Lower-cased into a small buffer, and only when the word can be a month: most words
    // tried here are the first words of ordinary lines.
    let name = name.trim_end_matches('.');
    let mut chars = name.chars();
    let first = chars.next().map(lower_char)?;
    if !matches!(
        first,
        'j' | 'f'
            | 'm'
            | 'a'
            | 's'
            | 'o'
            | 'n'
            | 'd'
            | 'я'
            | 'ф'
            | 'м'
            | 'а'
            | 'и'
            | 'с'
            | 'о'
            | 'н'
            | 'д'
    ) {
        return None;
    }
    let mut buf = [0u8; 40];
    let mut len = 0;
    // `lower_char` is `to_lowercase` wherever that gives one character; where it gives
    // more (İ), no month name can match either way.
    for c in name.chars().map(lower_char) {
        let end = len + c.len_utf8();
        c.encode_utf8(buf.get_mut(len..end)?);
        len = end;
    }
    let lower = std::str::from_utf8(&buf[..len]).ok()?;
    let n = match lower {
        "january" | "jan" | "январь" | "января" | "янв" => 1,
        "february" | "feb" | "февраль" | "февраля" | "фев" => 2,
        "march" | "mar" | "март" | "марта" | "мар" => 3,
        "april" | "apr" | "апрель" | "апреля" | "апр" => 4,
        "may" | "май" | "мая" => 5,
        "june" | "jun" | "июнь" | "июня" | "июн" => 6,
        "july" | "jul" | "июль" | "июля" | "июл" => 7,
        "august" | "aug" | "август" | "августа" | "авг" => 8,
        "september" | "sep" | "sept" | "сентябрь" | "сентября" | "сен" => 9,
        "october" | "oct" | "октябрь" | "октября" | "окт" => 10,
        "november" | "nov" | "ноябрь" | "ноября" | "ноя" => 11,
        "december" | "dec" | "декабрь" | "декабря" | "дек" => 12,
        _ => return None,
    };
    Some(n)
}

/// month = 1*letter ["."]   (English or Russian, see `month_number`)
pub fn month(i: &str) -> Res<'_, u8> {
    map_opt(
        recognize((take_while1(is_letter), opt(char('.')))),
        month_number,
    )
    .parse(i)
}

/// date_month_first = month SP day [","] SP year   (`January 19, 2023`)
fn date_month_first(i: &str) -> Res<'_, Date> {
    map_opt(
        (month, space1, small_number, opt(char(',')), space1, year),
        |(m, _, d, _, _, y)| Date::new(y, m, d),
    )
    .parse(i)
}

/// date_day_first = day SP month [","] SP year [SP ("г." / "года")]   (`1 December 2022`)
fn date_day_first(i: &str) -> Res<'_, Date> {
    let (i, date) = map_opt(
        (small_number, space1, month, opt(char(',')), space1, year),
        |(d, _, m, _, _, y)| Date::new(y, m, d),
    )
    .parse(i)?;
    let (i, _) = opt((space1, alt((tag("года"), tag("г."), tag("г"))))).parse(i)?;
    Ok((i, date))
}

/// date_iso = year "-" 2DIGIT "-" 2DIGIT   (`2024-11-22`)
fn date_iso(i: &str) -> Res<'_, Date> {
    map_opt(
        (year, char('-'), small_number, char('-'), small_number),
        |(y, _, m, _, d)| Date::new(y, m, d),
    )
    .parse(i)
}

/// date_dotted = 1*2DIGIT "." 1*2DIGIT "." year   (`22.11.2024`)
fn date_dotted(i: &str) -> Res<'_, Date> {
    map_opt(
        (small_number, char('.'), small_number, char('.'), year),
        |(d, _, m, _, y)| Date::new(y, m, d),
    )
    .parse(i)
}

/// date = date_month_first / date_day_first / date_iso / date_dotted
pub fn date(i: &str) -> Res<'_, Date> {
    alt((date_month_first, date_day_first, date_iso, date_dotted)).parse(i)
}

/// `char::is_alphabetic`, with ASCII and basic Cyrillic answered without the general
/// letter table: its search, for the words that month names and places are looked for
/// in, was 1% of a profile.
fn is_letter(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | 'Ѐ'..='џ' => true,
        _ if c.is_ascii() => false,
        _ => c.is_alphabetic(),
    }
}

/// A character of a place name: a letter, or one of ` -.'’`.
fn is_place_char(c: char) -> bool {
    is_letter(c) || matches!(c, ' ' | '-' | '.' | '\'' | '’')
}

/// place = 1*(letter / SP / "-" / "." / "'") "," SP   (at most 48 characters, starts upper-case)
pub fn place(i: &str) -> Res<'_, &str> {
    // The upper-case start is checked first, so a line of words fails at once.
    if !i.starts_with(char::is_uppercase) {
        return fail(i);
    }
    terminated(
        // At most 48 characters: a longer run is not followed by the comma, so the
        // scan of a long line of words stops early.
        verify(take_while_m_n(1, 48, is_place_char), |p: &str| {
            p.starts_with(char::is_uppercase)
        }),
        (char(','), space1),
    )
    .parse(i)
    .map(|(i, p)| (i, p.trim_end()))
}

/// section = *SP ("/" / "|" / "—" / "–" / "·") *SP 1*40char   (`2024-11-22 / Новости`)
fn section(i: &str) -> Res<'_, &str> {
    preceded(
        (
            space0,
            alt((tag("/"), tag("|"), tag("—"), tag("–"), tag("·"))),
            space0,
        ),
        verify(rest, |s: &str| s.chars().count() <= 40),
    )
    .parse(i)
}

/// place_date = [emoji_run *SP] place_date_body   (`📍 Minsk, January 19, 2023`)
pub fn place_date(i: &str) -> Res<'_, (Option<&str>, Date)> {
    let (i, _) = opt((emoji_run, space0)).parse(i)?;
    place_date_body(i)
}

/// place_date_body = [place] date [section]
fn place_date_body(i: &str) -> Res<'_, (Option<&str>, Date)> {
    let (i, (place, date)) = (opt(place), date).parse(i)?;
    let (i, _) = opt(section).parse(i)?;
    Ok((i, (place, date)))
}

/// title_place_date = "(" [place] date ")" at the end of a title
/// (`… talks (Moscow, March 20, 2023)`); returns place and date.
pub fn title_place_date(title: &str) -> Option<(Option<&str>, Date)> {
    let inner = title.trim_end().strip_suffix(')')?;
    let open = inner.rfind('(')?;
    all_consuming((opt(place), date))
        .parse(&inner[open + 1..])
        .ok()
        .map(|(_, pd)| pd)
}

/// numbered_marker = 1*3DIGIT (")" / ".") SP
fn numbered_marker(i: &str) -> Res<'_, &str> {
    terminated(
        recognize((
            take_while_m_n(1, 3, |c: char| c.is_ascii_digit()),
            alt((char(')'), char('.'))),
        )),
        space1,
    )
    .parse(i)
}

/// symbol_marker = ("•" / "▪" / "·" / "-" / "–" / "*") SP
fn symbol_marker(i: &str) -> Res<'_, &str> {
    terminated(
        alt((tag("•"), tag("▪"), tag("·"), tag("-"), tag("–"), tag("*"))),
        space1,
    )
    .parse(i)
}

/// bullet = (emoji_run *SP / numbered_marker / symbol_marker) text
/// Returns the marker, whether it is an emoji, and the text.
pub fn bullet(i: &str) -> Res<'_, (&str, bool, &str)> {
    if let Ok((j, marker)) = terminated(emoji_run, space0).parse(i) {
        return Ok(("", (marker, true, j)));
    }
    let (j, marker) = alt((numbered_marker, symbol_marker)).parse(i)?;
    Ok(("", (marker, false, j)))
}

/// quote = (">" / "»" / "—") *SP text   (quoted or reported speech)
pub fn quote(i: &str) -> Res<'_, (&str, &str)> {
    let (j, marker) = terminated(alt((tag(">"), tag("»"), tag("—"))), space0).parse(i)?;
    verify(rest, |s: &str| !s.is_empty())
        .parse(j)
        .map(|(left, text)| (left, (marker, text)))
}

/// True when `p` consumes all of `i` (leftover only spaces).
fn whole<'a, O>(i: &'a str, p: impl Fn(&'a str) -> Res<'a, O>) -> Option<O> {
    match terminated(p, (space0, eof)).parse(i) {
        Ok((_, o)) => Some(o),
        Err(_) => None,
    }
}

/// Classifies one non-empty display line. Order matters: the most specific kinds are
/// tried first, plain text is what is left.
pub fn classify(line: &str) -> Classified<'_> {
    let shape = Shape::of(line);
    if BOILERPLATE_HEADS.admit(&shape.head)
        && let Ok((after, phrase)) = boilerplate(line)
    {
        let after = after.trim_start();
        if after.is_empty() {
            return Classified {
                glued_boilerplate: None,
                line: Line::Boilerplate,
            };
        }
        return Classified {
            glued_boilerplate: Some(phrase),
            line: classify_content(after),
        };
    }
    Classified {
        glued_boilerplate: None,
        line: classify_content_shaped(line, shape),
    }
}

/// Longest line, in characters, that can be a place/date line: a place is at most 48
/// characters, a date about 20, a section 40; the rest is room for a marker.
pub const MAX_PLACE_DATE_CHARS: usize = 160;

/// Cheap necessary conditions, checked before the parsers that would fail anyway: most
/// lines of a dump are long paragraphs of text, and classifying them should cost little.
struct Shape {
    first: u8,
    last: u8,
    /// Short enough for a place/date line and holding a digit, as every date form does.
    may_be_place_date: bool,
    /// The first four characters, lower-cased as `tag_no_case` compares them: a
    /// case-insensitive phrase can only match a line whose head is the phrase's head.
    head: Head,
}

/// Up to four characters, each lower-cased to one character (`'\0'` past the end, and
/// for a character whose lower case is not a single character, which no phrase has).
type Head = [char; 4];

fn lower_char(c: char) -> char {
    match c {
        _ if c.is_ascii() => c.to_ascii_lowercase(),
        'а'..='я' => c,
        // А–Я lower-case to а–я, 0x20 on.
        'А'..='Я' => char::from_u32(c as u32 + 0x20).unwrap_or('\0'),
        // Ѐ–Џ (Ё among them) lower-case to ѐ–џ, 0x50 on; ѐ–џ are lower case.
        'Ѐ'..='Џ' => char::from_u32(c as u32 + 0x50).unwrap_or('\0'),
        'ѐ'..='џ' => c,
        // Quotes, dashes and other punctuation that start lines («, —, “): no case.
        '\u{00A0}'..='\u{00BF}' | '\u{2000}'..='\u{206F}' => c,
        // Emoji markers head many lines; these blocks have no case at all, which spares
        // the case table search.
        '\u{2190}'..='\u{23FF}'
        | '\u{2500}'..='\u{27BF}'
        | '\u{FE0F}'
        | '\u{1F300}'..='\u{1FAFF}' => c,
        _ => {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => '\0',
            }
        }
    }
}

fn head_of(s: &str) -> Head {
    let mut head = ['\0'; 4];
    for (slot, c) in head.iter_mut().zip(s.chars()) {
        *slot = lower_char(c);
    }
    head
}

/// `tag_no_case(phrase)`, character by character: the common pairs are compared
/// directly (an ASCII character against an ASCII one, a basic Cyrillic letter against
/// another, whose lower cases are a fixed offset apart, see [`lower_char`]), any other
/// pair through `to_lowercase` as nom does. nom's own lower-cased every character
/// through `to_lowercase` (2.5% of a profile, as every header, label and boilerplate
/// candidate is compared with its phrases), and it cuts the input at the phrase's length
/// in bytes, which splits a character (a panic) when an input character is longer than
/// the phrase character it matches: the Kelvin sign `K` against `k`. Display text never
/// has one (NFC makes it `K`); here the match ends after as many input characters as the
/// phrase has.
fn phrase_no_case(phrase: &'static str) -> impl Fn(&str) -> Res<'_, &str> {
    move |i: &str| {
        let cyrillic = |c: char| matches!(c, 'А'..='я' | 'Ё' | 'ё');
        let mut input = i.char_indices();
        let mut end = 0;
        for p in phrase.chars() {
            let Some((at, c)) = input.next() else {
                return Err(nom::Err::Error(NomError::new(i, ErrorKind::Tag)));
            };
            let same = if p.is_ascii() && c.is_ascii() {
                p.eq_ignore_ascii_case(&c)
            } else if cyrillic(p) && cyrillic(c) {
                lower_char(p) == lower_char(c)
            } else {
                p.to_lowercase().eq(c.to_lowercase())
            };
            if !same {
                return Err(nom::Err::Error(NomError::new(i, ErrorKind::Tag)));
            }
            end = at + c.len_utf8();
        }
        Ok((&i[end..], &i[..end]))
    }
}

/// The heads of a list of phrases, worked out once.
struct PhraseHeads(std::sync::LazyLock<Vec<Head>>);

impl PhraseHeads {
    fn admit(&self, head: &Head) -> bool {
        self.0.contains(head)
    }
}

static BOILERPLATE_HEADS: PhraseHeads = PhraseHeads(std::sync::LazyLock::new(|| {
    BOILERPLATE_PHRASES.map(head_of).to_vec()
}));
static FORWARD_HEADS: PhraseHeads = PhraseHeads(std::sync::LazyLock::new(|| {
    FORWARD_PHRASES.map(head_of).to_vec()
}));
static LABEL_HEADS: PhraseHeads = PhraseHeads(std::sync::LazyLock::new(|| {
    LABEL_PHRASES.map(head_of).to_vec()
}));

impl Shape {
    fn of(line: &str) -> Shape {
        let b = line.as_bytes();
        // A character takes at most four bytes. The digit test is branch-free, so it
        // vectorises (the digits of a long line of words, if any, are usually near its
        // end); characters are counted only for a line that has a digit.
        let may_be_place_date = b.len() <= 4 * MAX_PLACE_DATE_CHARS
            && b.iter().fold(false, |acc, c| acc | c.is_ascii_digit())
            && (b.len() <= MAX_PLACE_DATE_CHARS
                || crate::text::swar::char_count(b) <= MAX_PLACE_DATE_CHARS);
        Shape {
            first: b.first().copied().unwrap_or(0),
            last: b.last().copied().unwrap_or(0),
            may_be_place_date,
            head: head_of(line),
        }
    }
}

fn classify_content(line: &str) -> Line<'_> {
    classify_content_shaped(line, Shape::of(line))
}

fn classify_content_shaped(line: &str, shape: Shape) -> Line<'_> {
    if (shape.first == b'[' || FORWARD_HEADS.admit(&shape.head))
        && let Some(src) = whole(line, forward_header)
    {
        return Line::ForwardHeader(src);
    }
    // A desktop-copy header ends with its `[dd.mm.yy HH:MM]` stamp.
    if shape.last == b']'
        && let Some((name, date)) = whole(line, desktop_header)
    {
        return Line::DesktopHeader { name, date };
    }
    // The emoji run a line starts with, if any, found once: reactions, labels and
    // bullets all start with one, and most lines that have one are bullets.
    let lead = if cannot_begin_emoji(line) {
        None
    } else {
        terminated(emoji_run, space0).parse(line).ok()
    };
    // A reactions line starts with one emoji and its count (display lines have no
    // leading space; the test keeps the rule exact for any line).
    let count_after_lead =
        lead.is_some_and(|(after_run, _)| after_run.starts_with(|c: char| c.is_ascii_digit()));
    if (count_after_lead || line.starts_with([' ', '\t']))
        && let Some(reactions) = whole(line, reactions_line)
    {
        return Line::Reactions(reactions);
    }
    // A label, or an emoji run before one.
    // The label itself comes first, or right after the emoji run: its head tells.
    let label_head = match lead {
        Some((after_run, _)) => LABEL_HEADS.admit(&head_of(after_run)),
        None => LABEL_HEADS.admit(&shape.head),
    };
    if label_head && whole(line, link_label).is_some() {
        return Line::LinkLabel;
    }
    if shape.first == b'#'
        && let Some(tags) = whole(line, hashtag_line)
    {
        return Line::Hashtags(tags);
    }
    // `place_date` after the emoji run found above, if any.
    if shape.may_be_place_date
        && let Some((place, date)) = whole(
            lead.map_or(line, |(after_run, _)| after_run),
            place_date_body,
        )
    {
        return Line::PlaceDate { place, date };
    }
    if shape.first.is_ascii_digit() {
        if let Some(t) = whole(line, timestamp) {
            return Line::Timestamp(t);
        }
        if let Ok((_, (t, text))) = transcript_line(line) {
            return Line::Transcript { t, text };
        }
    }
    // Quote markers start with `>`, or the lead byte of `»` (C2) or `—` (E2).
    if matches!(shape.first, b'>' | 0xC2 | 0xE2)
        && let Ok((_, (marker, text))) = quote(line)
    {
        return Line::Quote { marker, text };
    }
    // `bullet` with the emoji run found above: its first form.
    if let Some((text, marker)) = lead {
        return Line::Bullet {
            marker,
            emoji: true,
            text,
        };
    }
    if let Ok((_, (marker, emoji, text))) = bullet(line) {
        return Line::Bullet {
            marker,
            emoji,
            text,
        };
    }
    Line::Text(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nom::bytes::complete::tag_no_case;
    use proptest::prelude::*;

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    /// What `tag_no_case` means, by characters: as many input characters as the phrase
    /// has, each lower-casing as the phrase's does.
    fn tag_no_case_by_chars<'a>(phrase: &str, s: &'a str) -> Option<(&'a str, &'a str)> {
        let n = phrase.chars().count();
        if s.chars().count() < n {
            return None;
        }
        let end = s.char_indices().nth(n).map_or(s.len(), |(at, _)| at);
        let (head, rest) = s.split_at(end);
        head.chars()
            .zip(phrase.chars())
            .all(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
            .then_some((rest, head))
    }

    /// Every code point in every position of every phrase, and the phrases cut short,
    /// against nom's `tag_no_case` and against its meaning by characters.
    #[test]
    fn phrases_match_as_tag_no_case_does() {
        let phrases = FORWARD_PHRASES
            .iter()
            .chain(&LABEL_PHRASES)
            .chain(&BOILERPLATE_PHRASES)
            // The count suffixes of reactions (`1.2K`, `3к`).
            .chain(&["k", "m", "к", "м"]);
        for phrase in phrases {
            let chars: Vec<char> = phrase.chars().collect();
            let check = |s: &str| {
                let ours = phrase_no_case(phrase)(s);
                assert_eq!(
                    ours.clone().ok(),
                    tag_no_case_by_chars(phrase, s),
                    "{phrase:?} on {s:?}"
                );
                // nom cuts inside the Kelvin sign (see `phrase_no_case`).
                if !s.contains('\u{212A}') {
                    let nom: Res<'_, &str> = tag_no_case(*phrase).parse(s);
                    assert_eq!(ours, nom, "{phrase:?} on {s:?}");
                }
            };
            for k in 0..chars.len() {
                let head: String = chars[..k].iter().collect();
                let tail: String = chars[k + 1..].iter().collect();
                check(&head);
                // Every one- and two-byte character, a spread of the rest.
                let code_points = (0..0x800).chain((0x800..=0x10FFFF).step_by(251));
                for c in code_points.filter_map(char::from_u32) {
                    check(&format!("{head}{c}{tail} x"));
                }
                for c in [
                    'K', 'k', '\u{212A}', 'İ', 'ı', 'Ё', 'ё', 'Е', 'е', 'Ъ', 'ſ', 'ß',
                ] {
                    check(&format!("{head}{c}{tail} x"));
                }
            }
            check(&phrase.to_uppercase());
            check(&phrase.to_lowercase());
        }
    }

    #[test]
    fn iso_forms() {
        let day = d(2020, 8, 1);
        assert_eq!(day.iso(), "2020-08-01");
        let t = day.at(22, 1, Some(49)).unwrap();
        assert_eq!(t.iso(), "2020-08-01T22:01:49");
        let mut z = t;
        z.time.as_mut().unwrap().offset_minutes = Some(0);
        assert_eq!(z.iso(), "2020-08-01T22:01:49Z");
        z.time.as_mut().unwrap().offset_minutes = Some(-210);
        assert_eq!(z.iso(), "2020-08-01T22:01:49-03:30");
        assert!(day.at(24, 0, None).is_none());
    }

    #[test]
    fn emoji_run_takes_flags_and_vs16_as_one_marker() {
        assert_eq!(emoji_run("🇷🇺🇦🇿 On December"), Ok((" On December", "🇷🇺🇦🇿")));
        assert_eq!(emoji_run("☝️text"), Ok(("text", "☝️")));
        assert_eq!(emoji_run("👨‍👩‍👧 x"), Ok((" x", "👨‍👩‍👧")));
        assert!(emoji_run("1) text").is_err());
        assert!(emoji_run("#tag").is_err());
    }

    #[test]
    fn forward_header_forms() {
        assert_eq!(
            forward_header("Forwarded from Russian MFA 🇷🇺"),
            Ok(("", "Russian MFA 🇷🇺"))
        );
        assert_eq!(forward_header("[Forwarded from X]"), Ok(("", "X")));
        assert!(forward_header("[Forwarded from X").is_err());
        assert!(forward_header("Forwarded from ").is_err());
        assert!(forward_header("He forwarded from X").is_err());
    }

    #[test]
    fn desktop_header_parses_name_and_stamp() {
        let (left, (name, date)) = desktop_header("Russian MFA 🇷🇺, [19.01.23 14:05]").unwrap();
        assert_eq!(left, "");
        assert_eq!(name, "Russian MFA 🇷🇺");
        assert_eq!(date.iso(), "2023-01-19T14:05");
        assert!(desktop_header("Text, [31.02.23 14:05]").is_err());
        assert!(desktop_header(", [19.01.23 14:05]").is_err());
    }

    #[test]
    fn export_datetimes() {
        let (left, date) = export_datetime("02.09.2017 23:45:41 UTC+03:00").unwrap();
        assert_eq!(left, "");
        assert_eq!(date.iso(), "2017-09-02T23:45:41+03:00");
        assert_eq!(
            export_datetime("02.09.2017 23:45:41").map(|(l, d)| (l, d.iso())),
            Ok(("", "2017-09-02T23:45:41".to_owned()))
        );
        assert!(export_datetime("31.09.2017 23:45:41").is_err());
    }

    #[test]
    fn reaction_counts() {
        assert_eq!(reaction_count("1.2K rest"), Ok((" rest", 1200)));
        assert_eq!(reaction_count("13K"), Ok(("", 13_000)));
        assert_eq!(reaction_count("2.5M"), Ok(("", 2_500_000)));
        assert_eq!(reaction_count("12"), Ok(("", 12)));
        // The Kelvin sign lower-cases to `k` in three bytes; nom's `tag_no_case` split it.
        assert_eq!(reaction_count("3\u{212A} x"), Ok((" x", 3000)));
        assert!(reaction_count("99999999999999999999").is_err());
        assert!(reaction_count("x").is_err());
    }

    #[test]
    fn reactions_lines() {
        let r = |e, c| Reaction { emoji: e, count: c };
        assert_eq!(reactions_line("❤1"), Ok(("", vec![r("❤", 1)])));
        assert_eq!(
            reactions_line("❤1👍1"),
            Ok(("", vec![r("❤", 1), r("👍", 1)]))
        );
        assert_eq!(
            reactions_line("👍 12 🔥 3"),
            Ok(("", vec![r("👍", 12), r("🔥", 3)]))
        );
        assert_eq!(reactions_line("🔥1.2K"), Ok(("", vec![r("🔥", 1200)])));
        assert_eq!(
            reactions_line("👍1 and more"),
            Ok(("and more", vec![r("👍", 1)]))
        );
        // Display lines never start with a space, but the rule allows it, and so does
        // `classify`.
        assert_eq!(
            classify(" \t👍 12").line,
            Line::Reactions(vec![r("👍", 12)])
        );
    }

    #[test]
    fn link_labels() {
        assert_eq!(link_label("Read in full"), Ok(("", "Read in full")));
        assert_eq!(link_label("👉Read in full"), Ok(("", "Read in full")));
        assert_eq!(link_label("Learn more →"), Ok(("", "Learn more")));
        assert_eq!(link_label("Читать полностью"), Ok(("", "Читать полностью")));
        assert_eq!(
            link_label("Read in full here"),
            Ok(("here", "Read in full"))
        );
    }

    #[test]
    fn hashtags() {
        assert_eq!(hashtag("#OSCE, more"), Ok((", more", "OSCE")));
        assert_eq!(
            hashtag_line("#RussiaBelarus #UnionState"),
            Ok(("", vec!["RussiaBelarus", "UnionState"]))
        );
        assert_eq!(hashtag_line("#OSCE is"), Ok(("is", vec!["OSCE"])));
    }

    #[test]
    fn boilerplate_phrases() {
        assert_eq!(
            boilerplate("Be the first to commentBelarus"),
            Ok(("Belarus", "Be the first to comment"))
        );
        assert!(boilerplate("Be first").is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp("00:14Mr."), Ok(("Mr.", 14)));
        assert_eq!(timestamp("1:02:03 text"), Ok((" text", 3723)));
        assert_eq!(timestamp("10:26"), Ok(("", 626)));
        assert!(timestamp("10:75").is_err());
        assert_eq!(
            transcript_line("00:14Mr. Politan"),
            Ok(("", (14, "Mr. Politan")))
        );
        assert_eq!(
            transcript_line("05:3626 сентября"),
            Ok(("", (336, "26 сентября")))
        );
        assert!(transcript_line("10:30:").is_err());
    }

    #[test]
    fn dates_and_places() {
        assert_eq!(date("January 19, 2023"), Ok(("", d(2023, 1, 19))));
        assert_eq!(date("1 December 2022 x"), Ok((" x", d(2022, 12, 1))));
        assert_eq!(date("19 января 2023 г."), Ok(("", d(2023, 1, 19))));
        assert_eq!(
            date("2024-11-22 / Новости"),
            Ok((" / Новости", d(2024, 11, 22)))
        );
        assert_eq!(date("22.11.2024"), Ok(("", d(2024, 11, 22))));
        assert!(date("February 30, 2023").is_err());
        assert_eq!(place("Minsk, January"), Ok(("January", "Minsk")));
        assert_eq!(
            place_date("📍 Minsk, January 19, 2023"),
            Ok(("", (Some("Minsk"), d(2023, 1, 19))))
        );
        assert_eq!(
            place_date("Lodz, 1 December 2022"),
            Ok(("", (Some("Lodz"), d(2022, 12, 1))))
        );
        assert_eq!(
            place_date("2024-11-22 / Новости"),
            Ok(("", (None, d(2024, 11, 22))))
        );
        assert_eq!(
            title_place_date("🎙 Lavrov's interview to RBC TV channel (Moscow, March 16, 2022)"),
            Some((Some("Moscow"), d(2022, 3, 16)))
        );
        assert_eq!(
            title_place_date("interview (December 29, 2022)"),
            Some((None, d(2022, 12, 29)))
        );
        assert_eq!(title_place_date("no date (just words)"), None);
    }

    #[test]
    fn quick_emoji_rejection_is_exact() {
        // Every pair the quick test rejects really starts with a one-character cluster
        // that is no emoji.
        let plain: Vec<char> = (0..=0x52Fu32)
            .filter_map(char::from_u32)
            .chain(['\u{20E3}', '\u{FE0F}', '\u{200D}', '\u{0301}', '🔥'])
            .collect();
        for &a in &plain {
            for &b in &plain {
                let s = format!("{a}{b}");
                if cannot_begin_emoji(&s) {
                    let g = s.graphemes(true).next().unwrap();
                    assert!(!is_emoji_grapheme(g), "{s:?}");
                    // (CR LF is one cluster, but never inside a line.)
                    assert!(g.chars().count() == 1 || s == "\r\n", "{s:?}");
                }
            }
        }
        assert!(!cannot_begin_emoji("1\u{20E3}"));
        assert!(!cannot_begin_emoji("a\u{20E3}"));
        assert!(cannot_begin_emoji("Жизнь"));
    }

    #[test]
    fn bullets_and_quotes() {
        assert_eq!(bullet("💬 text"), Ok(("", ("💬", true, "text"))));
        assert_eq!(bullet("☝️text"), Ok(("", ("☝️", true, "text"))));
        assert_eq!(bullet("1) reducing"), Ok(("", ("1)", false, "reducing"))));
        assert_eq!(bullet("• item"), Ok(("", ("•", false, "item"))));
        assert!(bullet("1)no space").is_err());
        assert!(bullet("Plain").is_err());
        assert_eq!(quote("> cited"), Ok(("", (">", "cited"))));
        assert!(quote(">").is_err());
    }

    #[test]
    fn lone_symbols_are_whole_grapheme_clusters() {
        let after = ["", " x", "a", "1", "#", "Жизнь", "é", "\u{24F}"];
        let ranges = SYMBOLS.chain(PICTOGRAPHS);
        for c in ranges.filter_map(char::from_u32) {
            for vs16 in ["", "\u{FE0F}"] {
                for rest in after {
                    let line = format!("{c}{vs16}{rest}");
                    let g = line.graphemes(true).next().unwrap();
                    assert_eq!(lone_symbol(&line), Some(g.len()), "{line:?}");
                }
            }
            for joined in [
                "\u{200D}🔥",
                "\u{1F3FB}",
                "\u{20E3}",
                "\u{0301}",
                "\u{FE0F}\u{20E3}",
            ] {
                assert_eq!(lone_symbol(&format!("{c}{joined}")), None);
            }
        }
    }

    /// `classify` without any of the quick guards (phrase heads, first and last byte,
    /// digits, the emoji rejection): only the place/date length limit, which is part of
    /// the rule, stays.
    fn classify_unguarded(line: &str) -> Classified<'_> {
        if let Ok((after, phrase)) = boilerplate(line) {
            let after = after.trim_start();
            return Classified {
                glued_boilerplate: (!after.is_empty()).then_some(phrase),
                line: if after.is_empty() {
                    Line::Boilerplate
                } else {
                    content_unguarded(after)
                },
            };
        }
        Classified {
            glued_boilerplate: None,
            line: content_unguarded(line),
        }
    }

    fn content_unguarded(line: &str) -> Line<'_> {
        if let Some(src) = whole(line, forward_header) {
            return Line::ForwardHeader(src);
        }
        if let Some((name, date)) = whole(line, desktop_header) {
            return Line::DesktopHeader { name, date };
        }
        if let Some(reactions) = whole(line, reactions_line) {
            return Line::Reactions(reactions);
        }
        if whole(line, link_label).is_some() {
            return Line::LinkLabel;
        }
        if let Some(tags) = whole(line, hashtag_line) {
            return Line::Hashtags(tags);
        }
        if line.chars().count() <= MAX_PLACE_DATE_CHARS
            && let Some((place, date)) = whole(line, place_date)
        {
            return Line::PlaceDate { place, date };
        }
        if let Some(t) = whole(line, timestamp) {
            return Line::Timestamp(t);
        }
        if let Ok((_, (t, text))) = transcript_line(line) {
            return Line::Transcript { t, text };
        }
        if let Ok((_, (marker, text))) = quote(line) {
            return Line::Quote { marker, text };
        }
        if let Ok((_, (marker, emoji, text))) = bullet(line) {
            return Line::Bullet {
                marker,
                emoji,
                text,
            };
        }
        Line::Text(line)
    }

    #[rustfmt::skip]
    const OTHER_PIECES: &[&str] = &[
        "[", "]", "(", ")", ", ", " ", "#", "#tag", "1", "12", "1.2K", "19.01.23",
        "14:05", "January 19, 2023", "2023-01-19", "Minsk", "Минск", ">", "»",
        "—", "•", "- ", "1) ", "👍", "🔥", "☝️", "❗️", "🇷🇺", "1️⃣", "👨‍👩‍👧", "→",
        "…", ":", "word", "Слово", "ß", "İ", "K", "ſ", "/", "|", "x",
    ];

    /// Pieces of lines: every phrase, marker and date form, in any case, among words.
    fn line_piece() -> impl Strategy<Value = String> {
        let phrases: Vec<&str> = LABEL_PHRASES
            .iter()
            .chain(&BOILERPLATE_PHRASES)
            .chain(&FORWARD_PHRASES)
            .copied()
            .collect();
        let fixed = prop::sample::select(
            phrases
                .into_iter()
                .chain(OTHER_PIECES.iter().copied())
                .collect::<Vec<_>>(),
        );
        (fixed, any::<u8>()).prop_map(|(p, case)| match case % 3 {
            0 => p.to_owned(),
            1 => p.to_uppercase(),
            _ => p.to_lowercase(),
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// The guards only skip parsers that would fail: every line classifies as it
        /// would without them.
        #[test]
        fn guards_never_change_a_classification(
            pieces in proptest::collection::vec(line_piece(), 1..7)
        ) {
            let line = pieces.concat();
            let line = line.trim();
            if !line.is_empty() {
                proptest::prop_assert_eq!(classify(line), classify_unguarded(line), "{:?}", line);
            }
        }
    }

    #[test]
    fn the_emoji_bitmap_answers_as_the_property_does() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(is_emoji_char(c), c.is_emoji_char(), "{c:?}");
        }
    }

    /// `month_number` as first written (lower-case the whole word, then look it up).
    fn month_number_reference(name: &str) -> Option<u8> {
        let lower = name.to_lowercase();
        let all = [
            "january jan январь января янв",
            "february feb февраль февраля фев",
            "march mar март марта мар",
            "april apr апрель апреля апр",
            "may май мая",
            "june jun июнь июня июн",
            "july jul июль июля июл",
            "august aug август августа авг",
            "september sep sept сентябрь сентября сен",
            "october oct октябрь октября окт",
            "november nov ноябрь ноября ноя",
            "december dec декабрь декабря дек",
        ];
        let word = lower.trim_end_matches('.');
        (1u8..)
            .zip(all)
            .find(|(_, names)| names.split(' ').any(|n| n == word))
            .map(|(n, _)| n)
    }

    proptest! {
        #[test]
        fn month_numbers_as_lower_casing_the_whole_word_gave(
            word in "(JAN|Jan|jan|SEPT|Sept|МАЯ|Мая|мая|Сентября|İ|K|march|Dec|x|ы|\\.){1,3}"
        ) {
            prop_assert_eq!(month_number(&word), month_number_reference(&word), "{:?}", word);
        }
    }

    #[test]
    fn every_month_name_in_every_case() {
        for names in month_number_reference_names() {
            for name in names.split(' ') {
                for form in [name.to_owned(), name.to_uppercase(), format!("{name}.")] {
                    assert!(month_number(&form).is_some(), "{form}");
                    assert_eq!(month_number(&form), month_number_reference(&form), "{form}");
                }
            }
        }
    }

    fn month_number_reference_names() -> [&'static str; 2] {
        [
            "january feb мар апреля may июня jul августа sept окт ноябрь dec",
            "сентябрь сен",
        ]
    }

    #[test]
    fn place_characters_are_letters_and_name_punctuation() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(is_letter(c), c.is_alphabetic(), "{c:?}");
            let expected = c.is_alphabetic() || matches!(c, ' ' | '-' | '.' | '\'' | '’');
            assert_eq!(is_place_char(c), expected, "{c:?}");
        }
    }

    #[test]
    fn heads_lower_case_as_tag_no_case_compares() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let mut lower = c.to_lowercase();
            let expected = match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => '\0',
            };
            assert_eq!(lower_char(c), expected, "{c:?}");
        }
    }

    #[test]
    fn shape_guards_do_not_change_classification() {
        // Lines each rule accepts, with the guard's edge cases: they must still classify.
        let c = |s| classify(s).line;
        assert_eq!(c("Be the first to comment"), Line::Boilerplate);
        assert_eq!(c("view in telegram"), Line::Boilerplate);
        assert_eq!(
            classify("Please open Telegram to view this postText").glued_boilerplate,
            Some("Please open Telegram to view this post")
        );
        assert_eq!(c("[Forwarded from X]"), Line::ForwardHeader("X"));
        assert_eq!(c("FORWARDED FROM Y"), Line::ForwardHeader("Y"));
        assert_eq!(c("Переслано от Z"), Line::ForwardHeader("Z"));
        assert_eq!(c("переслано от Z"), Line::ForwardHeader("Z"));
        for label in [
            "Read more",
            "👉 Подробнее",
            "Читать далее →",
            "learn more",
            "Full text:",
            "continue reading…",
            "🇷🇺 Read in full 🇷🇺",
        ] {
            assert_eq!(c(label), Line::LinkLabel, "{label}");
        }
        assert!(matches!(c("1️⃣ point"), Line::Bullet { emoji: true, .. }));
        assert!(matches!(c("#️⃣7"), Line::Reactions(_)));
        assert!(matches!(c("Жизнь"), Line::Text(_)));
        assert!(matches!(
            c("Name, [19.01.23 14:05]"),
            Line::DesktopHeader { .. }
        ));
        assert!(matches!(c("#A"), Line::Hashtags(_)));
        assert!(matches!(c("Lodz, 1 December 2022"), Line::PlaceDate { .. }));
        assert!(matches!(c("9:59"), Line::Timestamp(599)));
        let long_place = format!("📍 {}, 1 December 2022", "Л".repeat(48));
        assert!(matches!(c(&long_place), Line::PlaceDate { .. }));
        // The one thing the length limit changes: a marker run so long that the whole
        // line passes MAX_PLACE_DATE_CHARS is text, though `place_date` alone accepts it.
        let long_marker = format!(
            "{} Minsk, January 19, 2023",
            "📍".repeat(MAX_PLACE_DATE_CHARS)
        );
        assert!(place_date(&long_marker).is_ok_and(|(rest, _)| rest.is_empty()));
        assert!(matches!(c(&long_marker), Line::Bullet { .. }));
    }

    #[test]
    fn classify_orders_the_rules() {
        let c = |s| classify(s).line;
        assert_eq!(c("Forwarded from A"), Line::ForwardHeader("A"));
        assert_eq!(
            c("👍1"),
            Line::Reactions(vec![Reaction {
                emoji: "👍",
                count: 1
            }])
        );
        assert_eq!(c("👉Read in full"), Line::LinkLabel);
        assert_eq!(c("#A #B"), Line::Hashtags(vec!["A", "B"]));
        assert_eq!(c("VIEW IN TELEGRAM"), Line::Boilerplate);
        assert_eq!(c("1:02"), Line::Timestamp(62));
        assert_eq!(
            c("🔹 The West"),
            Line::Bullet {
                marker: "🔹",
                emoji: true,
                text: "The West"
            }
        );
        assert_eq!(c("#OSCE is here"), Line::Text("#OSCE is here"));
        assert_eq!(c("Key points:"), Line::Text("Key points:"));
        let glued = classify("Be the first to commentBelarus’ minister");
        assert_eq!(glued.glued_boilerplate, Some("Be the first to comment"));
        assert_eq!(glued.line, Line::Text("Belarus’ minister"));
    }
}

//! Writes a synthetic plain-text channel dump of the seed-004 kind to stdout: forward
//! headers, emoji titles and bullets, preview-plus-expanded repeated blocks, link labels,
//! hashtag lines, reactions, and about 30% re-forwarded posts with Unicode perturbations.
//!
//! `cargo run --release --example gen_dump -- --mb 1000 --seed 1 > dump.txt`
//! (`--posts N` stops after N posts, so that every format holds the same posts)
//! prints on stderr how many posts and distinct long paragraphs it wrote, so a run of
//! `tgclean` over the dump can be checked against a known answer. With
//! `--format tg-json` the same posts are written as a Telegram Desktop `result.json`
//! (one message per post, text as an array of strings and entities, reactions), and
//! with `--format jsonl` as scraper JSON Lines (one `{id, date, channel,
//! forwarded_from, text}` object per line, the reaction line ending the text).
//! `--format tgdataset` writes one TGDataset object of channels of 2,000 posts;
//! `--format tg-html --out-dir DIR` Telegram Desktop HTML pages of 1,000 messages
//! (`messages.html`, `messages2.html`, …; a message forwarded from the same source as
//! the one before it is `joined` and names no source, as the app writes it), and
//! `--format tme-html --out-dir DIR` t.me/s pages of 20 posts. The reaction line ends
//! the text in these too.
//! `--footers` adds a footer of each forward source (a subscribe line whose link varies)
//! to about 60% of the posts: repeated blocks for `--boilerplate channel` to find.
//! `--edited` makes about 10% of the posts edited reposts of a recent original: a line
//! added under it, one word inserted, or a link line added. Each is a near-duplicate of
//! its original (similarity well above 0.8) and of nothing else, so a run with
//! `--near-dup 0.8` should count exactly as many `near_duplicate_posts` as printed. Its
//! words come from 5,000 made-up words rather than the default profile's 47, as in
//! real text, where two unrelated posts share few word pairs.
//! `--profile cyrillic-short` draws another shape of channel: 70 % of the words
//! Cyrillic, posts of 20–80 words in 3–8 bulleted paragraphs, reactions on 85 % of the
//! posts (30 % re-forwards, as in the default profile).

use std::io::{self, BufWriter, Write};

/// splitmix64: a tiny, well-known generator; the dump only needs to be reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "minister",
    "talks",
    "cooperation",
    "security",
    "dialogue",
    "partners",
    "relations",
    "bilateral",
    "regional",
    "international",
    "agenda",
    "platform",
    "sovereignty",
    "union",
    "state",
    "council",
    "meeting",
    "delegation",
    "statement",
    "declaration",
    "interests",
    "approach",
    "development",
    "architecture",
    "integration",
    "Eurasian",
    "OSCE",
    "NATO",
    "сотрудничество",
    "безопасность",
    "диалог",
    "государство",
    "интеграция",
    "встреча",
];
const SOURCES: &[&str] = &[
    "Russian MFA 🇷🇺",
    "Russia in OSCE/Россия в ОБСЕ",
    "TASS",
    "MID Belarus",
];
const TITLE_EMOJI: &[&str] = &["🎙", "🔵", "📄", "🇷🇺🇦🇿", "🇷🇺🇧🇾", "❗️"];
const BULLETS: &[&str] = &["💬", "🔹", "☝️", "👉", "🤝"];
const LABELS: &[&str] = &[
    "Read in full",
    "Learn more",
    "👉Read in full",
    "Читать полностью",
];
const TAGS: &[&str] = &[
    "#OSCE",
    "#NATO",
    "#UN",
    "#RussiaBelarus #UnionState",
    "#Ukraine",
];
const REACTIONS: &[&str] = &["❤1", "👍1", "❤1👍1", "👍 12 🔥 3", "🔥1.2K"];

/// A vocabulary of `n` made-up words of two or three syllables, the same every run.
fn vocabulary(n: usize) -> Vec<String> {
    const SYLLABLES: [&str; 24] = [
        "ka", "lo", "mi", "ne", "ru", "sta", "pre", "ven", "dor", "tal", "gri", "so", "ber", "ni",
        "ko", "vla", "de", "mar", "ti", "zo", "pol", "un", "ex", "cha",
    ];
    let mut rng = Rng(7);
    let mut seen = std::collections::HashSet::new();
    while seen.len() < n {
        let syllables = 2 + rng.below(2);
        let w: String = (0..syllables)
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
            .collect();
        seen.insert(w);
    }
    let mut words: Vec<String> = seen.into_iter().collect();
    words.sort();
    words
}

/// Words of the `cyrillic-short` profile: the 6 Cyrillic words of [`WORDS`] and these 24,
/// and the 28 Latin ones of [`WORDS`] with [`MORE_LATIN`].
const MORE_CYRILLIC: &[&str] = &[
    "министр",
    "переговоры",
    "заявление",
    "делегация",
    "развитие",
    "партнёры",
    "союз",
    "регион",
    "совет",
    "решение",
    "вопрос",
    "позиция",
    "граждане",
    "экономика",
    "визит",
    "соглашение",
    "президент",
    "правительство",
    "проект",
    "санкции",
    "отношения",
    "мир",
    "новости",
    "город",
];
const MORE_LATIN: &[&str] = &["summit", "forum"];

fn sentence(rng: &mut Rng, serial: u64, vocabulary: &[&str]) -> String {
    let len = 12 + rng.below(30);
    sentence_of(rng, serial, vocabulary, len)
}

fn sentence_of(rng: &mut Rng, serial: u64, vocabulary: &[&str], len: usize) -> String {
    let mut s = String::with_capacity(len * 10);
    for i in 0..len {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(vocabulary));
    }
    // The serial makes the paragraph distinct: digits are part of the key.
    s.push_str(&format!(" ({serial})."));
    s
}

/// The same paragraph as a re-forward would show it: other case, curly quotes,
/// non-breaking or doubled spaces, a zero-width space.
fn perturb(rng: &mut Rng, s: &str) -> String {
    match rng.below(4) {
        0 => s.to_uppercase(),
        1 => format!("“{}”", s.replacen(' ', "\u{00A0}", 3)),
        2 => s.replacen(' ', "  ", 5),
        _ => s.replacen(' ', " \u{200B}", 2),
    }
}

/// The formats written as pages or channels rather than one message after another:
/// TGDataset (channels of [`Layout::posts_per_unit`] posts in one object on stdout),
/// Telegram Desktop HTML (`messages.html`, `messages2.html`, … of 1,000 messages, as the
/// app pages an export) and t.me/s pages (20 posts a page), both in `--out-dir`.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    TgDataset,
    TgHtml,
    TmeHtml,
}

impl Layout {
    fn from_format(format: &str) -> Option<Layout> {
        match format {
            "tgdataset" => Some(Layout::TgDataset),
            "tg-html" => Some(Layout::TgHtml),
            "tme-html" => Some(Layout::TmeHtml),
            _ => None,
        }
    }

    fn posts_per_unit(self) -> u64 {
        match self {
            Layout::TgDataset => 2000,
            Layout::TgHtml => 1000,
            Layout::TmeHtml => 20,
        }
    }

    /// The file of page `unit` (from 0), for the paged formats.
    fn page_name(self, unit: u64) -> String {
        match self {
            Layout::TgHtml if unit == 0 => "messages.html".to_owned(),
            Layout::TgHtml => format!("messages{}.html", unit + 1),
            _ => format!("page-{:06}.html", unit + 1),
        }
    }

    fn open(self, unit: u64) -> String {
        match self {
            Layout::TgDataset => {
                let sep = if unit > 0 { ",\n" } else { "{" };
                let id = 1_000_000 + unit;
                format!(
                    "{sep}\"{id}\": {{\"_id\": {id}, \"creation_date\": 1581437440.0, \"username\": \"generated{unit}\", \"title\": \"Generated channel {unit}\", \"scam\": false, \"text_messages\": {{"
                )
            }
            Layout::TgHtml => "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\"/>\n<title>Exported Data</title>\n</head>\n<body>\n<div class=\"page_wrap\">\n<div class=\"page_header\"><div class=\"content\"><div class=\"text bold\">\nGenerated channel\n</div></div></div>\n<div class=\"page_body chat_page\">\n<div class=\"history\">\n".to_owned(),
            Layout::TmeHtml => "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Generated channel – Telegram</title></head>\n<body class=\"widget_frame_base tgme_webpreview_body\"><section class=\"tgme_channel_history js-message_history\">\n".to_owned(),
        }
    }

    fn close(self) -> &'static str {
        match self {
            Layout::TgDataset => "}, \"generic_media\": {}, \"language\": \"en\"}",
            Layout::TgHtml => "</div>\n</div>\n</div>\n</body>\n</html>\n",
            Layout::TmeHtml => "</section></body></html>\n",
        }
    }

    /// Message `id`, forwarded from `source`. `joined`: a Telegram Desktop message that
    /// follows one forwarded from the same source, shown without its name.
    fn message(self, id: u64, source: &str, source_id: usize, text: &str, joined: bool) -> String {
        let (day, hour, minute) = (1 + id % 28, id % 24, id % 60);
        match self {
            Layout::TgDataset => {
                let epoch = 1_672_531_200 + id * 60;
                let message = serde_json::json!({
                    "message": text,
                    "date": epoch as f64,
                    "author": null,
                    "is_forwarded": true,
                    "forwarded_from_id": source_id,
                    "forwarded_message_date": (epoch - 3600) as f64,
                });
                format!("\"{id}\": {message}")
            }
            Layout::TgHtml => {
                let from = if joined {
                    String::new()
                } else {
                    format!(
                        "<div class=\"from_name\">\n{} <span class=\"details\"> {day:02}.01.2023 {hour:02}:{minute:02}:00</span>\n</div>\n",
                        html_escape(source)
                    )
                };
                let class = if joined { " joined" } else { "" };
                format!(
                    "<div class=\"message default clearfix{class}\" id=\"message{id}\">\n<div class=\"body\">\n<div class=\"pull_right date details\" title=\"{day:02}.01.2023 {hour:02}:{minute:02}:00\">\n{hour:02}:{minute:02}\n</div>\n<div class=\"forwarded body\">\n{from}<div class=\"text\">\n{}\n</div>\n</div>\n</div>\n</div>\n",
                    html_lines(text)
                )
            }
            Layout::TmeHtml => format!(
                "<div class=\"tgme_widget_message_wrap js-widget_message_wrap\"><div class=\"tgme_widget_message text_not_supported_wrap js-widget_message\" data-post=\"generated/{id}\">\n <div class=\"tgme_widget_message_bubble\">\n  <div class=\"tgme_widget_message_author accent_color\"><a class=\"tgme_widget_message_owner_name\" href=\"https://t.me/generated\"><span dir=\"auto\">Generated channel</span></a></div>\n  <div class=\"tgme_widget_message_forwarded_from accent_color\">Forwarded from <a class=\"tgme_widget_message_forwarded_from_name\" href=\"https://t.me/source{source_id}\"><span dir=\"auto\">{}</span></a></div>\n  <div class=\"tgme_widget_message_text js-message_text\" dir=\"auto\">{}</div>\n  <div class=\"tgme_widget_message_footer compact js-message_footer\"><div class=\"tgme_widget_message_info short js-message_info\"><span class=\"tgme_widget_message_views\">{}.{}K</span><span class=\"copyonly\"> views</span><span class=\"tgme_widget_message_meta\"><a class=\"tgme_widget_message_date\" href=\"https://t.me/generated/{id}\"><time datetime=\"2023-01-{day:02}T{hour:02}:{minute:02}:00+00:00\" class=\"time\">{hour:02}:{minute:02}</time></a></span></div></div>\n </div></div></div>\n",
                html_escape(source),
                html_lines(text),
                1 + id % 40,
                id % 10
            ),
        }
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Text as Telegram writes it into HTML: escaped, a `<br>` for each line break.
fn html_lines(text: &str) -> String {
    html_escape(text.trim_end_matches('\n')).replace('\n', "<br>")
}

/// Where the paged formats go: TGDataset's channels to stdout, HTML pages to files.
struct Pages<'o> {
    stdout: &'o mut dyn Write,
    dir: Option<std::path::PathBuf>,
    page: Option<BufWriter<std::fs::File>>,
    /// Units (pages or channels) opened so far, and posts in the current one.
    units: u64,
    in_unit: u64,
}

impl Pages<'_> {
    fn out(&mut self) -> &mut dyn Write {
        match &mut self.page {
            Some(page) => page,
            None => &mut *self.stdout,
        }
    }

    /// Writes one message, opening a new page or channel when the current one is full;
    /// returns the bytes written.
    fn write(&mut self, layout: Layout, message: &str) -> io::Result<u64> {
        let mut written = 0;
        if self.units == 0 || self.in_unit == layout.posts_per_unit() {
            written += self.close(layout)?;
            if let Some(dir) = &self.dir {
                let path = dir.join(layout.page_name(self.units));
                self.page = Some(BufWriter::with_capacity(
                    1 << 20,
                    std::fs::File::create(path)?,
                ));
            }
            let head = layout.open(self.units);
            self.out().write_all(head.as_bytes())?;
            written += head.len() as u64;
            self.units += 1;
            self.in_unit = 0;
        }
        if layout == Layout::TgDataset && self.in_unit > 0 {
            self.out().write_all(b", ")?;
            written += 2;
        }
        self.out().write_all(message.as_bytes())?;
        self.in_unit += 1;
        Ok(written + message.len() as u64)
    }

    /// Ends the current page or channel, if one is open.
    fn close(&mut self, layout: Layout) -> io::Result<u64> {
        if self.units == 0 {
            return Ok(0);
        }
        let tail = layout.close();
        self.out().write_all(tail.as_bytes())?;
        if let Some(mut page) = self.page.take() {
            page.flush()?;
        }
        Ok(tail.len() as u64)
    }
}

struct Post {
    title: String,
    paragraphs: Vec<(String, String)>,
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let target = arg("--mb", 100) * 1_000_000;
    // `--posts N` stops after N posts instead: the same posts in every `--format`.
    let max_posts = arg("--posts", u64::MAX);
    let format_is = |name: &str| args.windows(2).any(|w| w[0] == "--format" && w[1] == name);
    let tg_json = format_is("tg-json");
    let jsonl = format_is("jsonl");
    let format_name = args
        .windows(2)
        .find(|w| w[0] == "--format")
        .map_or("text", |w| w[1].as_str());
    let layout = Layout::from_format(format_name);
    // The HTML formats are pages: `--out-dir DIR` says where they go.
    let out_dir = args
        .windows(2)
        .find(|w| w[0] == "--out-dir")
        .map(|w| std::path::PathBuf::from(&w[1]));
    if matches!(layout, Some(Layout::TgHtml | Layout::TmeHtml)) {
        let Some(dir) = &out_dir else {
            eprintln!("gen_dump: --format {format_name} writes pages: give --out-dir DIR");
            std::process::exit(2);
        };
        std::fs::create_dir_all(dir)?;
    }
    // `--footers`: each source stamps its own footer (a subscribe line with a link that
    // varies) on most of its posts, so that the channel-boilerplate rule has work to do.
    let footers = args.iter().any(|a| a == "--footers");
    let edited_reposts = args.iter().any(|a| a == "--edited");
    // With the 47 words of the default profile any two posts share about an eighth of
    // their MinHash values, which real text (thousands of words) never does: a dump made
    // for near-duplicates draws from 5,000 made-up words instead.
    let big_vocabulary = if edited_reposts {
        vocabulary(5000)
    } else {
        Vec::new()
    };
    let cyrillic_short = args
        .windows(2)
        .any(|w| w[0] == "--profile" && w[1] == "cyrillic-short");
    let words: Vec<&str> = if edited_reposts {
        big_vocabulary.iter().map(String::as_str).collect()
    } else if cyrillic_short {
        // Lists of 30, drawn from uniformly: 7 Cyrillic words in 10.
        let latin: Vec<&str> = WORDS
            .iter()
            .copied()
            .filter(|w| w.is_ascii())
            .chain(MORE_LATIN.iter().copied())
            .collect();
        let cyrillic: Vec<&str> = WORDS
            .iter()
            .copied()
            .filter(|w| !w.is_ascii())
            .chain(MORE_CYRILLIC.iter().copied())
            .collect();
        let mut w = Vec::new();
        (0..7).for_each(|_| w.extend_from_slice(&cyrillic));
        (0..3).for_each(|_| w.extend_from_slice(&latin));
        w
    } else {
        WORDS.to_vec()
    };
    let mut rng = Rng(arg("--seed", 1));
    let mut written: u64 = 0;
    let mut serial: u64 = 0;
    let (mut posts, mut reforwards, mut distinct, mut edited) = (0u64, 0u64, 0u64, 0u64);
    // Recent originals, re-forwarded later with perturbations.
    let mut recent: Vec<Post> = Vec::new();
    let mut buf = String::with_capacity(64 * 1024);
    let mut stdout = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let mut pages = Pages {
        stdout: &mut stdout,
        dir: out_dir.filter(|_| layout != Some(Layout::TgDataset)),
        page: None,
        units: 0,
        in_unit: 0,
    };
    let mut last_source = "";
    if tg_json {
        let head = "{\n \"name\": \"Generated channel\",\n \"type\": \"public_channel\",\n \"id\": 1,\n \"messages\": [\n";
        pages.out().write_all(head.as_bytes())?;
        written += head.len() as u64;
    }
    while written < target && posts < max_posts {
        buf.clear();
        let reforward = !recent.is_empty() && rng.below(10) < 3;
        let edit = !reforward && edited_reposts && !recent.is_empty() && rng.below(9) == 0;
        let post = if edit {
            edited += 1;
            serial += 1;
            let old = &recent[rng.below(recent.len())];
            let mut paragraphs = old.paragraphs.clone();
            match rng.below(3) {
                0 => paragraphs.push((
                    String::new(),
                    format!("🔥 Update {serial}: more to follow."),
                )),
                1 => {
                    let at = rng.below(paragraphs.len());
                    let (_, p) = &mut paragraphs[at];
                    *p = p.replacen(' ', &format!(" reportedly{serial} "), 1);
                }
                _ => paragraphs.push((
                    String::new(),
                    format!("Read more: https://example.org/story/{serial}"),
                )),
            }
            Post {
                title: old.title.clone(),
                paragraphs,
            }
        } else if reforward {
            reforwards += 1;
            let old = &recent[rng.below(recent.len())];
            Post {
                title: old.title.clone(),
                paragraphs: old
                    .paragraphs
                    .iter()
                    .map(|(m, p)| (m.clone(), perturb(&mut rng, p)))
                    .collect(),
            }
        } else {
            serial += 1;
            // The emoji is drawn first, as it always was: the default dumps stay the same.
            let emoji = rng.pick(TITLE_EMOJI);
            let title = if cyrillic_short {
                let len = 3 + rng.below(4);
                sentence_of(&mut rng, serial, &words, len)
            } else {
                sentence(&mut rng, serial, &words)
            };
            let title = format!("{emoji} {title}");
            let n = if cyrillic_short {
                3 + rng.below(6)
            } else {
                3 + rng.below(8)
            };
            // cyrillic-short: 20–80 words in all, shared among the paragraphs.
            let total_words = if cyrillic_short {
                20 + rng.below(61)
            } else {
                0
            };
            let mut paragraphs = Vec::with_capacity(n);
            for _ in 0..n {
                serial += 1;
                let marker = if cyrillic_short || rng.below(2) == 0 {
                    rng.pick(BULLETS)
                } else {
                    ""
                };
                let text = if cyrillic_short {
                    sentence_of(&mut rng, serial, &words, (total_words / n).max(3))
                } else {
                    sentence(&mut rng, serial, &words)
                };
                paragraphs.push((marker.to_owned(), text));
            }
            distinct += 1 + n as u64;
            let post = Post { title, paragraphs };
            if recent.len() < 64 {
                recent.push(Post {
                    title: post.title.clone(),
                    paragraphs: post.paragraphs.clone(),
                });
            } else {
                let i = rng.below(64);
                recent[i] = Post {
                    title: post.title.clone(),
                    paragraphs: post.paragraphs.clone(),
                };
            }
            post
        };
        posts += 1;
        let source = rng.pick(SOURCES);
        // Drawn in every format, so that `--posts` gives the same posts in each.
        let header_twice = rng.below(4) == 0;
        if !tg_json && !jsonl {
            buf.push_str(&format!("Forwarded from {source}\n"));
            if header_twice {
                buf.push_str(&format!("Forwarded from {source}\n"));
            }
        }
        buf.push_str(&post.title);
        buf.push('\n');
        // Web-view copies show a preview and then the expanded post: the block repeats.
        let copies = if rng.below(2) == 0 { 2 } else { 1 };
        for _ in 0..copies {
            for (marker, p) in &post.paragraphs {
                if !marker.is_empty() {
                    buf.push_str(marker);
                    buf.push(' ');
                }
                buf.push_str(p);
                buf.push('\n');
            }
            if rng.below(2) == 0 {
                buf.push_str(rng.pick(LABELS));
                buf.push('\n');
            }
            if rng.below(3) == 0 {
                buf.push_str(rng.pick(TAGS));
                buf.push('\n');
            }
        }
        if footers && rng.below(10) < 6 {
            let slug: String = source
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_lowercase();
            buf.push_str(&format!(
                "Subscribe to {source} and share with friends: t.me/{slug}?ref={}\n",
                rng.below(5)
            ));
        }
        let reaction = rng.pick(REACTIONS);
        // Drawn in this profile only, so that the default profile's dumps stay the same.
        let reaction = if cyrillic_short && rng.below(20) < 3 {
            ""
        } else {
            reaction
        };
        let chunk = if tg_json {
            let message = serde_json::json!({
                "id": posts,
                "type": "message",
                "date": format!("2023-01-{:02}T{:02}:{:02}:00", 1 + posts % 28, posts % 24, posts % 60),
                "from": "Generated channel",
                "from_id": "channel1",
                "forwarded_from": source,
                "text": [buf.as_str(), {"type": "hashtag", "text": "#Generated"}],
                "reactions": [{"type": "emoji", "count": 1 + posts % 50, "emoji": "👍"}],
            });
            let sep = if posts > 1 { ",\n" } else { "" };
            format!("{sep}  {message}")
        } else if let Some(layout) = &layout {
            // The reaction line stays in the text, as in JSON Lines: the grammar reads it.
            buf.push_str(reaction);
            let source_id = 1000 + SOURCES.iter().position(|s| *s == source).unwrap_or(0);
            let joined = source == last_source && pages.in_unit > 0;
            last_source = source;
            layout.message(posts, source, source_id, &buf, joined)
        } else if jsonl {
            // The reaction line stays in the text, as in the text dump: the grammar reads it.
            buf.push_str(reaction);
            let record = serde_json::json!({
                "id": posts,
                "date": format!("2023-01-{:02}T{:02}:{:02}:00+00:00", 1 + posts % 28, posts % 24, posts % 60),
                "channel": "Generated channel",
                "forwarded_from": source,
                "text": buf.as_str(),
            });
            format!("{record}\n")
        } else {
            if !reaction.is_empty() {
                buf.push_str(reaction);
                buf.push('\n');
            }
            std::mem::take(&mut buf)
        };
        if let Some(layout) = &layout {
            written += pages.write(*layout, &chunk)?;
            continue;
        }
        buf.clear();
        pages.out().write_all(chunk.as_bytes())?;
        written += chunk.len() as u64;
    }
    if tg_json {
        pages.out().write_all(b"\n ]\n}\n")?;
    }
    if let Some(layout) = layout {
        written += pages.close(layout)?;
        if layout == Layout::TgDataset {
            pages.out().write_all(b"}\n")?;
            written += 2;
        }
    }
    pages.out().flush()?;
    eprintln!(
        "gen_dump: {written} bytes, {posts} posts ({reforwards} re-forwards, {edited} edited reposts), {distinct} distinct paragraphs incl. titles"
    );
    Ok(())
}

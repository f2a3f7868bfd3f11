//! Reads TGDataset files (SPEC §2): one JSON object keyed by channel id, each channel
//! `{username, title, text_messages: {message_id: {message, date, is_forwarded,
//! forwarded_from_id, …}}, generic_media: {message_id: …}, …}`.
//!
//! The files are large (the published dataset is hundreds of GB in a few hundred
//! files), so the object is streamed with serde_json: one channel at a time is held in
//! memory and its messages handed on before the next is read. A channel's name may come
//! after its messages in the object, which is why a whole channel is read before any of
//! its messages goes on.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::ItemSink;
use crate::error::Error;
use crate::formats::message::{Item, Message, Skip};
use crate::text::grammar::Date;

/// How the engine reads TGDataset: parsed on the reader thread, channel by channel.
pub static STREAM: super::StreamFormat = super::StreamFormat {
    format: crate::config::Format::TgDataset,
    read: |name, reader, _, sink| read(name, reader, sink).map(|()| 0),
    framing: None,
};

/// One text message as TGDataset stores it; fields not listed are passed over.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TextMessage {
    message: Option<String>,
    /// Seconds since the epoch, UTC, as a float.
    date: Option<f64>,
    is_forwarded: Option<bool>,
    forwarded_from_id: Option<serde_json::Value>,
}

/// A map read as its entries in file order.
#[derive(Debug, Default)]
struct Entries<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for EntriesVisitor<T> {
            type Value = Entries<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object keyed by message id")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<Cow<'de, str>, T>()? {
                    entries.push((key.into_owned(), value));
                }
                Ok(Entries(entries))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Entries(Vec::new()))
            }
        }
        d.deserialize_any(EntriesVisitor(std::marker::PhantomData))
    }
}

/// One channel, with what tgclean reads of it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Channel {
    username: Option<String>,
    title: Option<String>,
    text_messages: Entries<TextMessage>,
    generic_media: Entries<IgnoredAny>,
}

/// The message's date: the float epoch as a UTC date-time, whole seconds.
fn epoch_date(seconds: f64) -> Option<Date> {
    if !seconds.is_finite() {
        return None;
    }
    let utc = chrono::DateTime::from_timestamp(seconds.floor() as i64, 0)?;
    let mut date = super::tg_json::date_from_naive(&utc.naive_utc())?;
    if let Some(time) = date.time.as_mut() {
        time.offset_minutes = Some(0);
    }
    Some(date)
}

/// The forward source of a forwarded message, as `channel_id:<id>`.
fn forward_source(id: &serde_json::Value) -> Option<String> {
    match id {
        serde_json::Value::Number(n) => Some(format!("channel_id:{n}")),
        serde_json::Value::String(s) if !s.trim().is_empty() => {
            Some(format!("channel_id:{}", s.trim()))
        }
        _ => None,
    }
}

/// The items of one channel: its text messages in file order, then one media-only skip
/// for each media entry with no text message of the same id.
fn channel_items(channel: Channel) -> impl Iterator<Item = Item> {
    let name = [&channel.title, &channel.username]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .map(str::to_owned);
    let texts: std::collections::HashSet<&str> = channel
        .text_messages
        .0
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    let media_only = channel
        .generic_media
        .0
        .iter()
        .filter(|(id, _)| !texts.contains(id.as_str()))
        .count();
    let messages: Vec<Item> = channel
        .text_messages
        .0
        .into_iter()
        .map(|(id, m)| {
            let text = m.message.unwrap_or_default();
            if text.trim().is_empty() {
                return Item::Skipped(Skip::MediaOnly);
            }
            let forwarded_from = if m.is_forwarded == Some(true) {
                m.forwarded_from_id.as_ref().and_then(forward_source)
            } else {
                None
            };
            Item::Message(Message {
                message_id: id.trim().parse().ok(),
                channel: name.clone(),
                forwarded_from,
                date: m.date.and_then(epoch_date),
                text,
                ..Message::default()
            })
        })
        .collect();
    messages.into_iter().chain(std::iter::repeat_n(
        Item::Skipped(Skip::MediaOnly),
        media_only,
    ))
}

/// Reads the top-level object channel by channel, handing each channel's items on.
struct Channels<'s> {
    sink: &'s mut dyn ItemSink,
    /// A failure of the sink (the output), which stops the reading.
    failed: Option<Error>,
}

impl<'de> Visitor<'de> for &mut Channels<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TGDataset object keyed by channel id")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            let channel: Channel = map.next_value()?;
            for item in channel_items(channel) {
                if let Err(e) = self.sink.item(item) {
                    self.failed = Some(e);
                    return Err(de::Error::custom("the output failed"));
                }
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for &mut Channels<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

/// Reads a TGDataset file from `reader`, sending every channel's messages to `sink`.
/// A file that is not such an object stops with an error at its line; what was read
/// before it has been handed on.
pub fn read(name: &str, reader: impl Read, sink: &mut dyn ItemSink) -> Result<(), Error> {
    let mut channels = Channels { sink, failed: None };
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let result = (&mut channels).deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = channels.failed {
        return Err(e);
    }
    result.map_err(|e| Error::Parse {
        path: name.to_owned(),
        line: e.line().max(1) as u64,
        what: format!(
            "not a readable TGDataset file: {}",
            e.to_string()
                .rsplit_once(" at line ")
                .map_or_else(|| e.to_string(), |(what, _)| what.to_owned())
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::CollectSink;

    const TWO_CHANNELS: &str = r#"{
  "1001": {
    "_id": 1001,
    "text_messages": {
      "7": {"message": "First post\n\nBody line", "date": 1672531200.5, "author": null,
            "is_forwarded": false, "forwarded_from_id": null},
      "8": {"message": "", "date": 1672531300.0, "is_forwarded": false},
      "9": {"message": "Forwarded news", "date": 1672617600.0, "is_forwarded": true,
            "forwarded_from_id": 1234567, "forwarded_message_date": 1672600000.0}
    },
    "generic_media": {"9": {"type": "photo"}, "10": {"type": "video"}},
    "username": "chan_one",
    "title": "Channel One"
  },
  "-1002": {"username": "second", "title": "", "text_messages": {"1": {"message": "Hi there"}}}
}"#;

    #[test]
    fn channels_are_read_in_order_with_their_names_dates_and_forwards() {
        let mut sink = CollectSink::default();
        read("d.json", TWO_CHANNELS.as_bytes(), &mut sink).unwrap();
        assert!(sink.problems.is_empty(), "{:?}", sink.problems);
        let msgs = sink.messages();
        assert_eq!(msgs.len(), 3);
        // The title wins, although it comes after the messages.
        assert_eq!(msgs[0].channel.as_deref(), Some("Channel One"));
        assert_eq!(msgs[0].message_id, Some(7));
        assert_eq!(msgs[0].text, "First post\n\nBody line");
        let date = msgs[0].date.unwrap();
        assert_eq!((date.year, date.month, date.day), (2023, 1, 1));
        let time = date.time.unwrap();
        assert_eq!(
            (time.hour, time.minute, time.second, time.offset_minutes),
            (0, 0, Some(0), Some(0))
        );
        assert_eq!(msgs[0].forwarded_from, None);
        assert_eq!(
            msgs[1].forwarded_from.as_deref(),
            Some("channel_id:1234567")
        );
        // An empty title falls back to the username.
        assert_eq!(msgs[2].channel.as_deref(), Some("second"));
        assert_eq!(msgs[2].message_id, Some(1));
        assert_eq!(msgs[2].date, None);
    }

    #[test]
    fn empty_messages_and_media_without_text_are_media_only() {
        let mut sink = CollectSink::default();
        read("d.json", TWO_CHANNELS.as_bytes(), &mut sink).unwrap();
        let media_only = sink
            .items
            .iter()
            .filter(|i| matches!(i, Item::Skipped(Skip::MediaOnly)))
            .count();
        // Message 8 has no text; media 10 has no message; media 9 has one.
        assert_eq!(media_only, 2);
    }

    #[test]
    fn a_broken_file_is_an_error_at_its_line_after_the_channels_before_it() {
        let broken = "{\"1\": {\"title\": \"A\", \"text_messages\": {\"1\": {\"message\": \"ok\"}}},\n\"2\": {\"title\": oops}}";
        let mut sink = CollectSink::default();
        let e = read("d.json", broken.as_bytes(), &mut sink).unwrap_err();
        assert_eq!(sink.messages().len(), 1);
        let report = e.report();
        assert!(
            report.starts_with("d.json:2: not a readable TGDataset file"),
            "{report}"
        );
    }

    #[test]
    fn epoch_dates_are_utc_and_bad_ones_none() {
        let d = epoch_date(86_400.0 * 365.0).unwrap();
        assert_eq!((d.year, d.month, d.day), (1971, 1, 1));
        assert_eq!(epoch_date(f64::NAN), None);
        assert_eq!(epoch_date(1e300), None);
    }
}

//! One message of a Telegram Desktop export, deserialised straight into the fields
//! tgclean uses, borrowing its strings where the JSON has no escapes: no
//! `serde_json::Value` tree is built per message.
//!
//! Every field takes any JSON value, as reading it from a `Value` would: a field of the
//! wrong type counts as absent, a repeated key keeps its last value, unknown keys are
//! skipped, and a message that is not an object has no fields.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// What a visitor gives for each kind of JSON value; containers are consumed.
trait AnyValue<'de>: Sized {
    const EXPECTING: &'static str;
    fn none() -> Self;
    fn string(_: Cow<'de, str>) -> Self {
        Self::none()
    }
    fn integer(_: Option<i64>) -> Self {
        Self::none()
    }
    fn seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::none())
    }
    fn map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::none())
    }
}

struct AnyVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: AnyValue<'de>> Visitor<'de> for AnyVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
        Ok(T::none())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(T::integer(Some(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::integer(i64::try_from(v).ok()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<T, E> {
        Ok(T::integer(None))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<T, E> {
        Ok(T::string(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::string(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        Ok(T::string(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::none())
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::none())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::map(map)
    }
}

fn any<'de, T: AnyValue<'de>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(AnyVisitor(std::marker::PhantomData))
}

/// A string, or `None` for any other value (`Value::as_str`).
#[derive(Debug, Default)]
pub struct MaybeStr<'a>(pub Option<Cow<'a, str>>);

impl<'de> AnyValue<'de> for MaybeStr<'de> {
    const EXPECTING: &'static str = "any value";
    fn none() -> Self {
        MaybeStr(None)
    }
    fn string(s: Cow<'de, str>) -> Self {
        MaybeStr(Some(s))
    }
}

/// An integer given as a JSON number or a string of digits (`tg_json::int_of`).
#[derive(Debug, Default)]
pub struct IntLike(pub Option<i64>);

impl<'de> AnyValue<'de> for IntLike {
    const EXPECTING: &'static str = "any value";
    fn none() -> Self {
        IntLike(None)
    }
    fn string(s: Cow<'de, str>) -> Self {
        IntLike(s.trim().parse().ok())
    }
    fn integer(n: Option<i64>) -> Self {
        IntLike(n)
    }
}

/// One element of a text array: a string, an entity object, or something else.
#[derive(Debug)]
pub enum TextPart<'a> {
    Str(Cow<'a, str>),
    Entity {
        kind: Option<Cow<'a, str>>,
        text: Option<Cow<'a, str>>,
        href: Option<Cow<'a, str>>,
    },
    Other,
}

impl<'de> AnyValue<'de> for TextPart<'de> {
    const EXPECTING: &'static str = "a string or an entity object";
    fn none() -> Self {
        TextPart::Other
    }
    fn string(s: Cow<'de, str>) -> Self {
        TextPart::Str(s)
    }
    fn map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let (mut kind, mut text, mut href) = (None, None, None);
        while let Some(key) = map.next_key::<MaybeStr<'de>>()? {
            let slot = match key.0.as_deref() {
                Some("type") => &mut kind,
                Some("text") => &mut text,
                Some("href") => &mut href,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value::<MaybeStr<'de>>()?.0;
        }
        Ok(TextPart::Entity { kind, text, href })
    }
}

/// A `text` or `text_entities` value: a string, an array of parts, or something else.
#[derive(Debug, Default)]
pub enum Text<'a> {
    Str(Cow<'a, str>),
    Parts(Vec<TextPart<'a>>),
    #[default]
    Other,
}

impl<'de> AnyValue<'de> for Text<'de> {
    const EXPECTING: &'static str = "a string or an array of text parts";
    fn none() -> Self {
        Text::Other
    }
    fn string(s: Cow<'de, str>) -> Self {
        Text::Str(s)
    }
    fn seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(part) = seq.next_element::<TextPart<'de>>()? {
            parts.push(part);
        }
        Ok(Text::Parts(parts))
    }
}

/// The fields of one message that tgclean reads.
#[derive(Debug, Default)]
pub struct Fields<'a> {
    pub kind: Option<Cow<'a, str>>,
    pub id: Option<i64>,
    pub text: Text<'a>,
    pub text_entities: Text<'a>,
    pub forwarded_from: Option<Cow<'a, str>>,
    pub date: Option<Cow<'a, str>>,
    pub date_unixtime: Option<i64>,
    /// Small and of many shapes, so read as a `Value`.
    pub reactions: Option<Value>,
}

impl<'de> AnyValue<'de> for Fields<'de> {
    const EXPECTING: &'static str = "a message object";
    fn none() -> Self {
        Fields::default()
    }
    fn map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut f = Fields::default();
        while let Some(key) = map.next_key::<MaybeStr<'de>>()? {
            match key.0.as_deref() {
                Some("type") => f.kind = map.next_value::<MaybeStr<'de>>()?.0,
                Some("id") => f.id = map.next_value::<IntLike>()?.0,
                Some("text") => f.text = map.next_value()?,
                Some("text_entities") => f.text_entities = map.next_value()?,
                Some("forwarded_from") => f.forwarded_from = map.next_value::<MaybeStr<'de>>()?.0,
                Some("date") => f.date = map.next_value::<MaybeStr<'de>>()?.0,
                Some("date_unixtime") => f.date_unixtime = map.next_value::<IntLike>()?.0,
                Some("reactions") => f.reactions = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(f)
    }
}

/// Each of them deserialises from any JSON value, through its [`AnyValue`] answers.
macro_rules! deserialize_any {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                any(d)
            }
        }
    )*};
}

deserialize_any!(
    MaybeStr<'de>,
    IntLike,
    TextPart<'de>,
    Text<'de>,
    Fields<'de>
);

//! Why paragraphs are dropped, and their counts per reason: the accounting that every
//! stage adds to, so that `written + Σ dropped = read` holds for every post and run.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Why an input paragraph was not written. Every paragraph read is either written or
/// counted under exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reason {
    RepeatedInPost,
    Duplicate,
    DuplicatePost,
    Boilerplate,
    Label,
    Reactions,
    Header,
    Hashtags,
    Metadata,
    Timestamp,
    NoText,
    /// A repeated block of the post's origin (SPEC §7).
    ChannelBoilerplate,
    /// A paragraph of a near-duplicate post (SPEC §8).
    NearDuplicate,
}

impl Reason {
    pub const ALL: [Reason; 13] = [
        Reason::RepeatedInPost,
        Reason::Duplicate,
        Reason::DuplicatePost,
        Reason::Boilerplate,
        Reason::Label,
        Reason::Reactions,
        Reason::Header,
        Reason::Hashtags,
        Reason::Metadata,
        Reason::Timestamp,
        Reason::NoText,
        Reason::ChannelBoilerplate,
        Reason::NearDuplicate,
    ];

    /// The name used in records, stats and docs.
    pub fn name(self) -> &'static str {
        match self {
            Reason::RepeatedInPost => "repeated_in_post",
            Reason::Duplicate => "duplicate",
            Reason::DuplicatePost => "duplicate_post",
            Reason::Boilerplate => "boilerplate",
            Reason::Label => "label",
            Reason::Reactions => "reactions",
            Reason::Header => "header",
            Reason::Hashtags => "hashtags",
            Reason::Metadata => "metadata",
            Reason::Timestamp => "timestamp",
            Reason::NoText => "no_text",
            Reason::ChannelBoilerplate => "channel_boilerplate",
            Reason::NearDuplicate => "near_duplicate",
        }
    }
}

/// Paragraph counts per drop reason. Serialised as an object with every reason present,
/// in a fixed order, so records always have the same keys — `channel_boilerplate` and
/// `near_duplicate` only in runs where their rule is on, so that `--boilerplate off` and
/// `--near-dup off` write what tgclean wrote before the rule existed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropCounts {
    counts: [u64; Reason::ALL.len()],
    channel_rule: bool,
    near_rule: bool,
}

impl DropCounts {
    pub fn get(&self, reason: Reason) -> u64 {
        self.counts[reason as usize]
    }

    pub fn add(&mut self, reason: Reason, n: u64) {
        self.counts[reason as usize] += n;
    }

    pub fn merge(&mut self, other: &DropCounts) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.channel_rule |= other.channel_rule;
        self.near_rule |= other.near_rule;
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Marks the counts as those of a run with the channel-boilerplate rule on.
    pub fn with_channel_rule(mut self, on: bool) -> Self {
        self.channel_rule = on;
        self
    }

    /// Marks the counts as those of a run with the near-duplicate rule on.
    pub fn with_near_rule(mut self, on: bool) -> Self {
        self.near_rule = on;
        self
    }

    /// The reasons written, in order.
    pub fn written_reasons(&self) -> impl Iterator<Item = Reason> + use<> {
        let (channel, near) = (self.channel_rule, self.near_rule);
        Reason::ALL.into_iter().filter(move |r| match r {
            Reason::ChannelBoilerplate => channel,
            Reason::NearDuplicate => near,
            _ => true,
        })
    }
}

impl Serialize for DropCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for reason in self.written_reasons() {
            map.serialize_entry(reason.name(), &self.get(reason))?;
        }
        map.end()
    }
}

/// Reads what `Serialize` writes (a shard's stats sent back to the driver of a run):
/// the counts by reason name, a rule's reason present exactly when the rule was on.
impl<'de> serde::Deserialize<'de> for DropCounts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let named = std::collections::BTreeMap::<String, u64>::deserialize(d)?;
        let mut counts = DropCounts::default();
        for (name, n) in named {
            let reason = Reason::ALL
                .into_iter()
                .find(|r| r.name() == name)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown reason {name:?}")))?;
            counts.add(reason, n);
            counts.channel_rule |= reason == Reason::ChannelBoilerplate;
            counts.near_rule |= reason == Reason::NearDuplicate;
        }
        Ok(counts)
    }
}

/// [`DropCounts`] as its counts and rule flag, for a post spilled and read back within
/// a run (its `Serialize` writes the record's object, which drops the flag).
pub mod drop_counts_raw {
    use super::{DropCounts, Reason};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(d: &DropCounts, s: S) -> Result<S::Ok, S::Error> {
        (d.counts, d.channel_rule, d.near_rule).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DropCounts, D::Error> {
        let (counts, channel_rule, near_rule) =
            <([u64; Reason::ALL.len()], bool, bool)>::deserialize(d)?;
        Ok(DropCounts {
            counts,
            channel_rule,
            near_rule,
        })
    }
}

/// One dropped input paragraph, kept for `--explain`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Explained {
    pub reason: Reason,
    pub line: Option<u64>,
    pub text: String,
}

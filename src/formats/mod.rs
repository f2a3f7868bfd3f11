//! Readers for the structured inputs (SPEC §2): each turns one input into messages,
//! which then go through the same grammar, dedup and records as plain text.

pub mod export_split;
pub mod html;
pub mod jsonl;
pub mod markdown;
pub mod message;
pub mod tg_html;
pub mod tg_json;
pub mod tg_message;
pub mod tme_html;

use crate::error::Error;
use crate::formats::message::Item;

/// Where a reader sends what it finds.
pub trait ItemSink {
    /// One message (or a skipped one). An error here is fatal for the run (output failed)
    /// and the reader must stop and return it.
    fn item(&mut self, item: Item) -> Result<(), Error>;
    /// A problem with one part of the input (a bad JSON line); the reader goes on.
    fn problem(&mut self, error: Error);
}

/// Collects items and problems in memory; used by tests.
#[derive(Debug, Default)]
pub struct CollectSink {
    pub items: Vec<Item>,
    pub problems: Vec<String>,
}

impl ItemSink for CollectSink {
    fn item(&mut self, item: Item) -> Result<(), Error> {
        self.items.push(item);
        Ok(())
    }

    fn problem(&mut self, error: Error) {
        self.problems.push(error.report());
    }
}

impl CollectSink {
    /// The messages collected, skipping skipped items.
    pub fn messages(&self) -> Vec<&crate::formats::message::Message> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Message(m) => Some(m),
                Item::Skipped(_) => None,
            })
            .collect()
    }
}

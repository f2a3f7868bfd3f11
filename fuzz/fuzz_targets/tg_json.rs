//! Fuzzes the Telegram Desktop JSON export reader (split into messages, each parsed with
//! escape repair): no input may panic it, and how the input is read must not matter.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use tgclean::formats::CollectSink;
use tgclean::formats::export_split::split_export;

#[path = "common.rs"]
mod common;
use common::check;

/// Hands the input over a few bytes at a time.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(self.1).min(out.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn split(data: &[u8], step: usize) -> (Vec<(u64, Vec<u8>, Option<String>)>, Option<String>) {
    let mut found = Vec::new();
    let result = split_export("fuzz.json", Trickle(data, step), &mut |m| {
        found.push((m.line, m.bytes.to_vec(), m.channel.map(|c| c.to_string())));
        Ok(())
    });
    (found, result.err().map(|e| e.report()))
}

fuzz_target!(|data: &[u8]| {
    let mut sink = CollectSink::default();
    let _ = tgclean::formats::tg_json::read("fuzz.json", data, &mut sink);
    check(sink);
    assert_eq!(split(data, 1), split(data, usize::MAX));
});

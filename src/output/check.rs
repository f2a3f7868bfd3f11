//! `tgclean check`: validates JSON Lines records against the record schema and finds
//! post ids and paragraph keys written twice across the files checked.

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::Value;

use crate::dedup::DEFAULT_MIN_DEDUP_CHARS;
use crate::output::record::SCHEMA_JSON;
use crate::text::normalise;

/// Where something was first written: index into the file names, and line.
type Place = (usize, u64);

/// Remembers ids and long paragraph keys across files and reports repeats.
#[derive(Debug, Default)]
pub struct RepeatFinder {
    files: Vec<String>,
    ids: HashMap<String, Place>,
    keys: HashMap<String, Place>,
    /// Paragraph keys shorter than this recur by design (`--min-dedup-chars`).
    pub min_chars: usize,
}

impl RepeatFinder {
    pub fn new(min_chars: usize) -> Self {
        RepeatFinder {
            min_chars,
            ..RepeatFinder::default()
        }
    }

    fn at(&self, place: Place) -> String {
        format!("{}:{}", self.files[place.0], place.1)
    }

    /// Problems of one record: an id already written (unless the record is a kept
    /// duplicate, which shares its id by design) or a long paragraph key already written.
    pub fn observe(&mut self, file: &str, line: u64, record: &Value) -> Vec<String> {
        if self.files.last().map(String::as_str) != Some(file) {
            self.files.push(file.to_owned());
        }
        let here = (self.files.len() - 1, line);
        let mut problems = Vec::new();
        if !record["duplicate_of"].is_string() {
            if let Some(id) = record["id"].as_str() {
                if let Some(first) = self.ids.get(id) {
                    problems.push(format!(
                        "post id {id} already written at {}",
                        self.at(*first)
                    ));
                } else {
                    self.ids.insert(id.to_owned(), here);
                }
            }
            for (i, p) in record["paragraphs"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let (Some(key), Some(text)) = (p["key"].as_str(), p["text"].as_str()) else {
                    continue;
                };
                if normalise::key_text(text).chars().count() < self.min_chars {
                    continue;
                }
                if let Some(first) = self.keys.get(key) {
                    problems.push(format!(
                        "paragraphs[{i}]: key {key} already written at {}",
                        self.at(*first)
                    ));
                } else {
                    self.keys.insert(key.to_owned(), here);
                }
            }
        }
        problems
    }
}

/// Validates records against the embedded JSON Schema and finds repeats.
pub struct RecordChecker {
    validator: jsonschema::Validator,
    /// The schema with only `id` required: for projections (`--fields`), whose other
    /// fields are checked as far as they are there.
    projection: jsonschema::Validator,
    required: usize,
    repeats: RepeatFinder,
}

impl RecordChecker {
    /// Compiles the embedded schema. It is part of the binary, so failure here is a bug
    /// that the tests catch; it is still reported as an error, never a panic.
    pub fn new() -> Result<Self, String> {
        let schema: serde_json::Value =
            serde_json::from_str(SCHEMA_JSON).map_err(|e| format!("embedded schema: {e}"))?;
        let validator =
            jsonschema::validator_for(&schema).map_err(|e| format!("embedded schema: {e}"))?;
        let required = schema["required"].as_array().map_or(0, Vec::len);
        let mut relaxed = schema.clone();
        relaxed["required"] = serde_json::json!(["id"]);
        let projection =
            jsonschema::validator_for(&relaxed).map_err(|e| format!("embedded schema: {e}"))?;
        Ok(RecordChecker {
            validator,
            projection,
            required,
            repeats: RepeatFinder::new(DEFAULT_MIN_DEDUP_CHARS),
        })
    }

    /// Sets the length below which repeated paragraph keys are not reported.
    pub fn with_min_dedup_chars(mut self, n: usize) -> Self {
        self.repeats.min_chars = n;
        self
    }

    /// Problems with one line of JSON, each as `what` (no location).
    pub fn check_line(&mut self, file: &str, line_no: u64, line: &str) -> Vec<String> {
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return vec![format!("not JSON: {e}")],
        };
        // A record with fewer fields than a whole one is a projection (`--fields`).
        let fields = value.as_object().map_or(0, serde_json::Map::len);
        let validator = if fields < self.required {
            &self.projection
        } else {
            &self.validator
        };
        let mut problems: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect();
        problems.extend(self.repeats.observe(file, line_no, &value));
        problems
    }

    /// Checks every non-blank line of `reader`; returns `name:line: what` problems and
    /// the number of records seen.
    pub fn check_reader(&mut self, name: &str, reader: impl BufRead) -> (Vec<String>, u64) {
        let mut problems = Vec::new();
        let mut records = 0;
        for (n, line) in reader.lines().enumerate() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    problems.push(format!("{name}:{}: {e}", n + 1));
                    break;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            records += 1;
            for what in self.check_line(name, n as u64 + 1, &line) {
                problems.push(format!("{name}:{}: {what}", n + 1));
            }
        }
        (problems, records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_bad_lines_with_numbers() {
        let mut checker = RecordChecker::new().unwrap();
        let input = "{\"id\":1}\n\nnot json\n";
        let (problems, records) = checker.check_reader("f.jsonl", input.as_bytes());
        assert_eq!(records, 2);
        assert!(problems.iter().any(|p| p.starts_with("f.jsonl:1: ")));
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("f.jsonl:3: not JSON"))
        );
    }

    #[test]
    fn repeats_across_files_are_reported_with_both_places() {
        let mut finder = RepeatFinder::new(24);
        let long = "A paragraph long enough to count as a repeat.";
        let rec = |id: &str, text: &str, dup: Value| {
            serde_json::json!({"id": id, "duplicate_of": dup,
                "paragraphs": [{"key": normalise::hex16(&normalise::digest(normalise::key_text(text))), "text": text}]})
        };
        assert!(
            finder
                .observe("a.jsonl", 1, &rec("01", long, Value::Null))
                .is_empty()
        );
        assert!(
            finder
                .observe("a.jsonl", 2, &rec("02", "Short", Value::Null))
                .is_empty()
        );
        assert!(
            finder
                .observe("b.jsonl", 1, &rec("03", "Short", Value::Null))
                .is_empty()
        );
        let p = finder.observe("b.jsonl", 7, &rec("01", long, Value::Null));
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0], "post id 01 already written at a.jsonl:1");
        assert!(
            p[1].starts_with("paragraphs[0]: key ")
                && p[1].ends_with("already written at a.jsonl:1")
        );
        let kept = finder.observe("b.jsonl", 8, &rec("01", long, Value::String("01".into())));
        assert!(kept.is_empty(), "kept duplicates share ids by design");
    }
}

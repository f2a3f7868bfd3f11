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
        // A projection may leave out `similarity` whatever its schema version.
        if let Some(o) = relaxed.as_object_mut() {
            for k in ["if", "then", "else"] {
                o.remove(k);
            }
        }
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
        // A record with fewer fields than a whole one is a projection (`--fields`); a
        // whole one of schema 2 has `similarity` too.
        let fields = value.as_object().map_or(0, serde_json::Map::len);
        let whole = self.required + usize::from(value.get("schema") == Some(&Value::from(2)));
        let validator = if fields < whole {
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

    /// A whole record of `schema`, with `similarity` when given.
    fn whole(schema: u32, similarity: Option<Value>) -> String {
        let mut v = serde_json::json!({
            "id": "0123456789abcdef0123456789abcdef", "schema": schema,
            "source": {"file": "a.txt", "format": "text", "line": 1, "message_id": null},
            "channel": null, "forwarded_from": null, "date": null, "place": null,
            "title": null, "text": "Hello",
            "paragraphs": [{"kind": "text", "marker": null, "t": null, "text": "Hello",
                            "key": "0123456789abcdef0123456789abcdef"}],
            "hashtags": [], "mentions": [], "links": [], "reactions": [], "views": null,
            "lang": null, "dropped": {}, "duplicate_of": null
        });
        if let Some(s) = similarity {
            v["similarity"] = s;
        }
        v.to_string()
    }

    #[test]
    fn similarity_belongs_to_schema_2_records_only() {
        // A checker per line: the same id twice would be a repeat.
        let problems = |line: String| RecordChecker::new().unwrap().check_line("f", 1, &line);
        assert_eq!(problems(whole(1, None)), Vec::<String>::new());
        assert_eq!(problems(whole(2, Some(Value::Null))), Vec::<String>::new());
        assert_eq!(
            problems(whole(2, Some(serde_json::json!(0.853)))),
            Vec::<String>::new()
        );
        assert_eq!(
            problems(whole(2, Some(serde_json::json!(1)))),
            Vec::<String>::new()
        );
        assert!(
            !problems(whole(1, Some(Value::Null))).is_empty(),
            "schema 1 has none"
        );
        assert!(!problems(whole(2, Some(serde_json::json!(1.5)))).is_empty());
        assert!(!problems(whole(3, Some(Value::Null))).is_empty());
        // A projection of a schema 2 record may leave similarity out.
        let line = r#"{"id":"0123456789abcdef0123456789abcdef","schema":2,"text":"x"}"#;
        assert_eq!(problems(line.to_owned()), Vec::<String>::new());
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

//! `tgclean check`: validates JSON Lines records against the record schema.

use std::io::BufRead;

use crate::record::SCHEMA_JSON;

/// Validates records against the embedded JSON Schema.
pub struct RecordChecker {
    validator: jsonschema::Validator,
}

impl RecordChecker {
    /// Compiles the embedded schema. It is part of the binary, so failure here is a bug
    /// that the tests catch; it is still reported as an error, never a panic.
    pub fn new() -> Result<Self, String> {
        let schema: serde_json::Value =
            serde_json::from_str(SCHEMA_JSON).map_err(|e| format!("embedded schema: {e}"))?;
        let validator =
            jsonschema::validator_for(&schema).map_err(|e| format!("embedded schema: {e}"))?;
        Ok(RecordChecker { validator })
    }

    /// Problems with one line of JSON, each as `what` (no location).
    pub fn check_line(&self, line: &str) -> Vec<String> {
        let value: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return vec![format!("not JSON: {e}")],
        };
        self.validator
            .iter_errors(&value)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect()
    }

    /// Checks every non-blank line of `reader`; returns `name:line: what` problems and
    /// the number of records seen.
    pub fn check_reader(&self, name: &str, reader: impl BufRead) -> (Vec<String>, u64) {
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
            for what in self.check_line(&line) {
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
        let checker = RecordChecker::new().unwrap();
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
}

//! Golden tests: runs the real `tgclean` binary on every `fixtures/<case>/` and compares
//! its stdout with `expected.jsonl`, field by field, printing a readable diff.
//!
//! A case directory holds `input.txt` (or whatever its `args` name), `expected.jsonl`,
//! and optionally `args` (one argument per line; default `clean --quiet input.txt`) and
//! `expected.code` (exit code; default 0), and `stdin` (fed to standard input). Run with `TGCLEAN_BLESS=1` to rewrite the
//! expected files from the current output — then read every changed line before
//! committing: the expected files are reviewed by eye, not trusted.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn case_args(case: &Path) -> Vec<String> {
    match fs::read_to_string(case.join("args")) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        Err(_) => ["clean", "--quiet", "input.txt"]
            .map(str::to_owned)
            .to_vec(),
    }
}

/// Describes how two JSON values differ, one line per differing leaf, with its path.
fn json_diff(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => json_diff(&format!("{path}.{k}"), ev, av, out),
                    None => out.push(format!("  {path}.{k}: missing (expected {ev})")),
                }
            }
            for k in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("  {path}.{k}: unexpected field {}", a[k]));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            for i in 0..e.len().max(a.len()) {
                match (e.get(i), a.get(i)) {
                    (Some(ev), Some(av)) => json_diff(&format!("{path}[{i}]"), ev, av, out),
                    (Some(ev), None) => out.push(format!("  {path}[{i}]: missing {ev}")),
                    (None, Some(av)) => out.push(format!("  {path}[{i}]: unexpected {av}")),
                    (None, None) => {}
                }
            }
        }
        (e, a) if e != a => out.push(format!("  {path}:\n    expected {e}\n    actual   {a}")),
        _ => {}
    }
}

fn diff_outputs(expected: &str, actual: &str) -> Vec<String> {
    let exp: Vec<&str> = expected.lines().collect();
    let act: Vec<&str> = actual.lines().collect();
    let mut out = Vec::new();
    if exp.len() != act.len() {
        out.push(format!(
            "record count: expected {}, actual {}",
            exp.len(),
            act.len()
        ));
    }
    for i in 0..exp.len().max(act.len()) {
        match (exp.get(i), act.get(i)) {
            (Some(e), Some(a)) if e == a => {}
            (Some(e), Some(a)) => {
                out.push(format!("record {} (line {}):", i, i + 1));
                match (
                    serde_json::from_str::<Value>(e),
                    serde_json::from_str::<Value>(a),
                ) {
                    (Ok(ev), Ok(av)) => {
                        let before = out.len();
                        json_diff("", &ev, &av, &mut out);
                        if out.len() == before {
                            out.push("  same JSON, different bytes (key order or spacing)".into());
                        }
                    }
                    _ => out.push(format!("  expected {e}\n  actual   {a}")),
                }
            }
            (Some(e), None) => out.push(format!("record {i}: missing {e}")),
            (None, Some(a)) => out.push(format!("record {i}: unexpected {a}")),
            (None, None) => {}
        }
    }
    out
}

fn run_case(case: &Path) -> Result<(), String> {
    run_case_with(case, &[], |expected| expected.to_owned())
}

/// Runs `case` with `extra` arguments after the command name, comparing its output with
/// its `expected.jsonl` as `expect` rewrites it.
fn run_case_with(
    case: &Path,
    extra: &[&str],
    expect: impl Fn(&str) -> String,
) -> Result<(), String> {
    let mut args = case_args(case);
    let at = 1.min(args.len());
    args.splice(at..at, extra.iter().map(|a| (*a).to_owned()));
    // A case with a `stdin` file feeds it to standard input (its args then name `-`).
    let stdin = match fs::File::open(case.join("stdin")) {
        Ok(f) => std::process::Stdio::from(f),
        Err(_) => std::process::Stdio::null(),
    };
    let output = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(&args)
        .current_dir(case)
        .stdin(stdin)
        .output()
        .map_err(|e| format!("cannot run tgclean: {e}"))?;
    let actual = String::from_utf8_lossy(&output.stdout).into_owned();
    let code = output.status.code().unwrap_or(-1);
    let expected_code: i32 = fs::read_to_string(case.join("expected.code"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let expected_path = case.join("expected.jsonl");
    if std::env::var_os("TGCLEAN_BLESS").is_some() && extra.is_empty() {
        fs::write(&expected_path, &actual).map_err(|e| e.to_string())?;
    }
    let expected = expect(
        &fs::read_to_string(&expected_path)
            .map_err(|e| format!("{}: {e}", expected_path.display()))?,
    );
    let mut problems = Vec::new();
    if code != expected_code {
        problems.push(format!(
            "exit code {code}, expected {expected_code}; stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    problems.extend(diff_outputs(&expected, &actual));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn golden_fixtures() {
    let mut cases: Vec<PathBuf> = fs::read_dir(fixtures_dir())
        .expect("fixtures/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "expected the fixture cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(report) = run_case(case) {
            failures.push(format!("== {} ==\n{report}", case.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// A schema 2 record as the engine without the near-duplicate rule wrote it: schema 1,
/// no `similarity`, no `near_duplicate` count.
fn as_schema_1(expected: &str) -> String {
    expected
        .lines()
        .map(|line| {
            let line = line.replacen("\"schema\":2,", "\"schema\":1,", 1);
            let line = line.replacen(",\"near_duplicate\":0}", "}", 1);
            let cut = line.rfind(",\"similarity\":").unwrap_or(line.len() - 1);
            format!("{}}}\n", &line[..cut])
        })
        .collect()
}

/// `--near-dup off` gives, on every case without near-duplicates, the records of the
/// engine without the rule: the same bytes less what schema 2 added.
#[test]
fn near_dup_off_writes_the_records_of_the_engine_without_the_rule() {
    let mut cases: Vec<PathBuf> = fs::read_dir(fixtures_dir())
        .expect("fixtures/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && !p.ends_with("near-dup") && !p.ends_with("near-dup-keep"))
        .filter(|p| !case_args(p).iter().any(|a| a == "--near-dup"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10);
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            run_case_with(case, &["--near-dup", "off"], as_schema_1)
                .err()
                .map(|report| format!("== {} ==\n{report}", case.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn diff_names_the_differing_field() {
    let report = diff_outputs("{\"a\":1,\"b\":[1,2]}\n", "{\"a\":1,\"b\":[1,3]}\n");
    assert_eq!(report.len(), 2);
    assert!(report[1].contains(".b[1]"), "{report:?}");
}

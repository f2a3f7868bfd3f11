//! Behaviour of the `tgclean` command line: exit codes, streams, determinism, accounting.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tgclean(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run tgclean")
}

fn records(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

const SEED_004: &str = "seeds/004_938382bba7e78ea9.txt";

#[test]
fn seed_004_has_one_clean_record_per_post() {
    let out = tgclean(&["clean", "--quiet", SEED_004]);
    assert_eq!(out.status.code(), Some(0));
    let recs = records(&out.stdout);
    // Counted by hand: forward headers start posts at lines 1, 21 (three identical
    // headers), 50, 63, 87, 111, 126, 147 and 164.
    let lines: Vec<u64> = recs
        .iter()
        .map(|r| r["source"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [1, 21, 50, 63, 87, 111, 126, 147, 164]);
    let sources: Vec<&str> = recs
        .iter()
        .map(|r| r["forwarded_from"].as_str().unwrap())
        .collect();
    assert_eq!(sources[1], "Russia in OSCE/Россия в ОБСЕ");
    assert!(
        sources
            .iter()
            .enumerate()
            .all(|(i, s)| i == 1 || *s == "Russian MFA 🇷🇺")
    );
    let reactions: Vec<String> = recs
        .iter()
        .map(|r| {
            r["reactions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| format!("{}{}", x["emoji"].as_str().unwrap(), x["count"]))
                .collect::<String>()
        })
        .collect();
    assert_eq!(
        reactions,
        ["", "❤1", "❤1👍1", "", "", "👍1", "👍1", "👍1", "👍1"]
    );
    let mut seen = HashSet::new();
    for r in &recs {
        let text = r["text"].as_str().unwrap();
        for line in text.lines() {
            assert!(
                !line.contains("Read in full") && !line.contains("Learn more"),
                "{line}"
            );
            assert!(!line.starts_with("Forwarded from"), "{line}");
            assert!(!["❤1", "👍1", "❤1👍1"].contains(&line), "{line}");
        }
        for p in r["paragraphs"].as_array().unwrap() {
            assert!(
                seen.insert(p["key"].as_str().unwrap().to_owned()),
                "written twice: {p}"
            );
        }
    }
}

#[test]
fn articles_and_transcript_seeds() {
    let out = tgclean(&["clean", "--quiet", "seeds"]);
    assert_eq!(out.status.code(), Some(0));
    let recs = records(&out.stdout);
    let by_file = |prefix: &str| -> Vec<&Value> {
        recs.iter()
            .filter(|r| r["source"]["file"].as_str().unwrap().contains(prefix))
            .collect()
    };
    for (prefix, title) in [
        (
            "000_",
            "Brest Staples: Russia and Belarus adopted a document on multipolarity",
        ),
        (
            "001_",
            "Top Russian diplomat to meet with Belarusian counterpart in Brest",
        ),
        (
            "003_",
            "Russian Foreign Ministry: Belarus-Russia relations can serve as a model of equal co-operation",
        ),
    ] {
        let r = by_file(prefix);
        assert_eq!(r.len(), 1, "{prefix}");
        assert_eq!(r[0]["title"], title);
    }
    let transcript = by_file("002_");
    assert_eq!(transcript.len(), 1);
    let t = transcript[0];
    let paragraphs = t["paragraphs"].as_array().unwrap();
    assert!(
        paragraphs[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Belarus’ Foreign Minister has voiced")
    );
    assert_eq!(t["dropped"]["boilerplate"], 1);
    let text = t["text"].as_str().unwrap();
    assert!(!text.contains("Be the first to comment"));
    let stamped = text
        .lines()
        .filter(|l| {
            l.len() > 5
                && l.as_bytes()[2] == b':'
                && l.as_bytes()[..2].iter().all(u8::is_ascii_digit)
        })
        .count();
    assert_eq!(stamped, 0, "no line keeps its time stamp");
    // 95 stamped lines in the seed, each a transcript paragraph with its seconds.
    let stamps: Vec<u64> = paragraphs.iter().filter_map(|p| p["t"].as_u64()).collect();
    assert_eq!(stamps.len(), 95);
    assert_eq!(stamps[0], 14);
    assert!(stamps.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn stats_account_for_every_paragraph() {
    let dir = tempfile::tempdir().unwrap();
    let stats_path = dir.path().join("stats.json");
    let out = tgclean(&[
        "clean",
        "--quiet",
        "seeds",
        "--stats",
        stats_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stats: Value = serde_json::from_str(&fs::read_to_string(&stats_path).unwrap()).unwrap();
    crate::balanced_dropped_total(&stats);
    let p = &stats["paragraphs"];
    let recs = records(&out.stdout);
    assert_eq!(
        stats["records_written"].as_u64().unwrap(),
        recs.len() as u64
    );
    let written: usize = recs
        .iter()
        .map(|r| r["paragraphs"].as_array().unwrap().len())
        .sum();
    assert_eq!(p["written"].as_u64().unwrap(), written as u64);
    assert_eq!(stats["inputs"], 5);
    assert_eq!(stats["bytes"], 68588);
    assert!(out.stderr.is_empty(), "--quiet prints nothing");
}

#[test]
fn summary_line_goes_to_stderr_unless_quiet() {
    let out = tgclean(&["clean", SEED_004]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("tgclean: 1 input(s)"), "{err}");
    assert!(err.contains("9 records"), "{err}");
}

#[test]
fn output_file_is_written_and_checks_against_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("clean.jsonl");
    let out = tgclean(&[
        "clean",
        "--quiet",
        "seeds",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let check = tgclean(&["check", out_path.to_str().unwrap()]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let mut text = fs::read_to_string(&out_path).unwrap();
    text.push_str("{\"id\":\"nothex\"}\n");
    let bad = dir.path().join("bad.jsonl");
    fs::write(&bad, text).unwrap();
    let check = tgclean(&["check", bad.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(1));
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(err.contains(&format!("{}:14: ", bad.display())), "{err}");
}

#[test]
fn schema_command_prints_the_schema() {
    let out = tgclean(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        schema["properties"]["schema"]["enum"],
        serde_json::json!([1, 2])
    );
    assert_eq!(schema["required"].as_array().unwrap().len(), 18);
    assert_eq!(
        schema["then"]["required"],
        serde_json::json!(["similarity"])
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        tgclean(&["clean", "--dedup", "sometimes"]).status.code(),
        Some(2)
    );
    assert_eq!(tgclean(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(tgclean(&["clean", "--threads", "0"]).status.code(), Some(2));
}

#[test]
fn unwritable_output_is_an_error_and_leaves_nothing() {
    let out = tgclean(&[
        "clean",
        "--quiet",
        SEED_004,
        "-o",
        "/nonexistent-dir/out.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("writing /nonexistent-dir/out.jsonl"), "{err}");
}

#[test]
fn stdin_is_read_with_dash_and_by_default() {
    for args in [&["clean", "--quiet", "-"][..], &["clean", "--quiet"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tgclean"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"Forwarded from A\nHello from standard input.\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let recs = records(&out.stdout);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0]["source"]["file"], "-");
        assert_eq!(recs[0]["text"], "Hello from standard input.");
    }
}

#[test]
fn closed_stdout_is_success() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_generated_dump(dir.path(), 3000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(["clean", "--quiet", input.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A dump of `posts` forwarded posts where every third repeats an earlier one with
/// changed case, quotes and spacing, and every post shares a short line.
pub fn write_generated_dump(dir: &Path, posts: usize) -> PathBuf {
    let mut text = String::new();
    for i in 0..posts {
        let n = if i % 3 == 2 { i / 2 } else { i };
        text.push_str(&format!("Forwarded from Channel {}\n", i % 7));
        text.push_str(&format!(
            "🎙 Statement number {n} on the “situation” today\n"
        ));
        text.push_str("Key points:\n");
        if i % 3 == 2 {
            text.push_str(&format!(
                "💬 THE FIRST POINT OF STATEMENT {n},  WITH  DETAILS.\n"
            ));
        } else {
            text.push_str(&format!(
                "💬 The first point of statement {n}, with details.\n"
            ));
        }
        text.push_str(&format!(
            "🔹 A second point that mentions #Tag{} and 57 states.\n",
            n % 11
        ));
        text.push_str("Read in full\n");
        text.push_str(&format!("👍{}\n", i % 5 + 1));
    }
    let path = dir.join("generated.txt");
    fs::write(&path, text).unwrap();
    path
}

/// `tgclean clean --quiet --threads N --explain FILE [extra] input`: the process output
/// and the explain lines.
fn clean_explaining(
    dir: &Path,
    input: &Path,
    threads: &str,
    extra: &[&str],
) -> (std::process::Output, Vec<u8>) {
    let explain = dir.join(format!("explain-{threads}.jsonl"));
    let mut args = vec![
        "clean",
        "--quiet",
        "--threads",
        threads,
        "--explain",
        explain.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(input.to_str().unwrap());
    let out = tgclean(&args);
    let lines = fs::read(&explain).unwrap();
    (out, lines)
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    // About 3 MB: several chunks, segmented in parallel.
    let input = write_generated_dump(dir.path(), 12000);
    // Records, explain lines and the state file: all must be the same bytes.
    let run = |threads: &str| {
        let state = dir.path().join(format!("state-{threads}"));
        let (out, explain) = clean_explaining(
            dir.path(),
            &input,
            threads,
            &["--state", state.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0));
        (out.stdout, explain, fs::read(&state).unwrap())
    };
    let one = run("1");
    assert!(records(&one.0).len() > 6000);
    assert!(
        records(&one.0).len() < 12000,
        "the generated duplicates are removed"
    );
    assert!(!one.1.is_empty());
    assert_eq!(one, run("2"));
    assert_eq!(one, run("4"));
}

/// A Telegram Desktop export is parsed on the reader thread with one worker and on the
/// workers with more: the records, explain lines and errors must not differ.
#[test]
fn tg_json_output_is_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut messages = Vec::new();
    for i in 0..3000 {
        let n = if i % 3 == 2 { i / 2 } else { i };
        messages.push(match i % 97 {
            // A service message, a photo alone, and a message that is not JSON.
            13 => r#"{"id": 1, "type": "service", "action": "pin_message"}"#.to_owned(),
            29 => format!(r#"{{"id": {i}, "type": "message", "photo": "p.jpg", "text": ""}}"#),
            // A raw control character inside a string is not JSON.
            61 => format!(
                "{{\"id\": {i}, \"type\": \"message\", \"text\": \"bad {}\"}}",
                '\u{1}'
            ),
            _ => format!(
                r##"{{"id": {i}, "type": "message", "date": "2023-01-19T14:05:00", "forwarded_from": "Channel {}",
                   "text": ["Statement {n} on the situation today\n", {{"type": "hashtag", "text": "#Tag{}"}},
                            "\nThe first point of statement {n}, with details."],
                   "reactions": [{{"type": "emoji", "count": {}, "emoji": "👍"}}]}}"##,
                i % 7,
                n % 11,
                i % 5 + 1
            ),
        });
    }
    let input = dir.path().join("result.json");
    let export = format!(
        "{{\"name\": \"C\", \"messages\": [\n{}\n]}}",
        messages.join(",\n")
    );
    fs::write(&input, export).unwrap();
    let run = |threads: &str| {
        let (out, explain) = clean_explaining(dir.path(), &input, threads, &[]);
        // The broken messages are errors: everything else is written, and the exit
        // code says some input could not be read.
        assert_eq!(out.status.code(), Some(1));
        (out.stdout, explain, out.stderr)
    };
    let one = run("1");
    assert!(records(&one.0).len() > 1000);
    let errors = String::from_utf8_lossy(&one.2);
    assert_eq!(
        errors
            .matches("not a readable Telegram Desktop message")
            .count(),
        31,
        "{errors}"
    );
    assert_eq!(one, run("2"));
    assert_eq!(one, run("4"));
}

/// Cutting the text into chunks (segmented in parallel, or continued when no cut turns
/// up) must not change a byte: tiny chunks against one chunk for the whole input.
#[test]
fn chunk_size_never_changes_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_generated_dump(dir.path(), 3000);
    let doc = dir.path().join("document.txt");
    // A long header-less document: no cut at all, so chunks continue one another.
    let body: String = (0..4000)
        .map(|i| format!("Plain paragraph {i} of a document.\n"))
        .collect();
    fs::write(&doc, "A title line\n".to_owned() + &body).unwrap();
    let run = |block: &str, max: &str, path: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_tgclean"))
            .args([
                "clean",
                "--quiet",
                "--threads",
                "2",
                "--max-post-bytes",
                "20000",
            ])
            .arg(path)
            .env("TGCLEAN_CHUNK_BYTES", block)
            .env("TGCLEAN_MAX_CHUNK_BYTES", max)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (out.stdout, out.stderr)
    };
    for path in [&input, &doc] {
        let whole = run("1000000000", "1000000000", path);
        assert!(records(&whole.0).len() > 5);
        for (block, max) in [("512", "2048"), ("4096", "4096"), ("65536", "1000000")] {
            assert_eq!(
                run(block, max, path),
                whole,
                "blocks of {block}, chunks up to {max}"
            );
        }
    }
}

/// A file of several inputs up to 32 blocks is read whole by one worker; a bigger one is
/// cut into chunks (text) or framed into messages (JSON) for all the workers. Shrinking
/// the block moves every file here from the first path to the second: the records, the
/// problems and the summary must not change.
#[test]
fn small_files_read_whole_give_what_chunks_and_frames_give() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs");
    fs::create_dir(&inputs).unwrap();
    write_generated_dump(&inputs, 400);
    let mut jsonl = Vec::new();
    for i in 0..400 {
        match i {
            150 => jsonl.extend_from_slice(b"{\"id\": 150, \"text\": \"cut off\n"),
            200 => jsonl.extend_from_slice(b"\n"),
            250 => jsonl.extend_from_slice(
                b"{\"id\": 250, \"text\": \"Broken \xC3\x28 byte, message 250.\"}\n",
            ),
            _ => writeln!(
                jsonl,
                r#"{{"id": {i}, "channel": "Feed {}", "text": "**Update {}**\n\nThe __{}th__ line of the feed, #tag{}.\n\nSubscribe: [link](https://t.me/feed)"}}"#,
                i % 3,
                i / 2,
                i,
                i % 5
            )
            .unwrap(),
        }
    }
    fs::write(inputs.join("feed.jsonl"), &jsonl).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    fs::copy(
        fixtures.join("tg-json/result.json"),
        inputs.join("result.json"),
    )
    .unwrap();
    fs::copy(
        fixtures.join("tgdataset/channels.json"),
        inputs.join("channels.json"),
    )
    .unwrap();
    fs::copy(
        fixtures.join("errors-mixed/export.json"),
        inputs.join("export.json"),
    )
    .unwrap();
    let run = |block: &str| {
        let stats = dir.path().join(format!("stats-{block}.json"));
        let out = Command::new(env!("CARGO_BIN_EXE_tgclean"))
            .args(["clean", "--quiet", "--threads", "2", "--stats"])
            .arg(&stats)
            .arg(&inputs)
            .env("TGCLEAN_CHUNK_BYTES", block)
            .env("TGCLEAN_MAX_CHUNK_BYTES", "65536")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut stats: Value = serde_json::from_slice(&fs::read(&stats).unwrap()).unwrap();
        let obj = stats.as_object_mut().unwrap();
        obj.remove("seconds");
        obj.remove("mb_per_s");
        (out.stdout, String::from_utf8(out.stderr).unwrap(), stats)
    };
    // 32 blocks of 1 MB: every file is read whole; 32 of 64 bytes: none is.
    let whole = run("1048576");
    let framed = run("64");
    let stderr = &whole.1;
    assert!(stderr.contains("feed.jsonl:151"), "{stderr}");
    assert!(stderr.contains("export.json"), "{stderr}");
    assert_eq!(whole.2["invalid_utf8"], 1);
    assert_eq!(whole.2["inputs"], 5);
    let written = records(&whole.0);
    for file in [
        "feed.jsonl",
        "result.json",
        "channels.json",
        "generated.txt",
    ] {
        assert!(
            written
                .iter()
                .any(|r| r["source"]["file"].as_str().unwrap().ends_with(file)),
            "no record from {file}"
        );
    }
    assert_eq!(framed, whole);
}

#[test]
fn empty_and_blank_files_give_no_record_and_no_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("empty.txt"), "").unwrap();
    fs::write(dir.path().join("blank.txt"), "\n\n  \r\n\t\n").unwrap();
    let out = tgclean(&["clean", "--quiet", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(out.stderr.is_empty());
}

#[test]
fn invalid_utf8_is_replaced_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.txt");
    fs::write(
        &input,
        b"Forwarded from A\nBroken \xC3\x28 byte in a post.\n",
    )
    .unwrap();
    let out = tgclean(&["clean", "--quiet", "--stats", "-", input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let recs = records(&out.stdout);
    assert_eq!(recs[0]["text"], "Broken \u{FFFD}( byte in a post.");
    let stats: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(stats["invalid_utf8"], 1);
}

#[test]
fn explain_accounts_for_every_drop_and_names_the_first_copy() {
    let dir = tempfile::tempdir().unwrap();
    let explain = dir.path().join("explain.jsonl");
    let stats_path = dir.path().join("stats.json");
    let out = tgclean(&[
        "clean",
        "--quiet",
        "fixtures/dedup-paragraph/input.txt",
        "--explain",
        explain.to_str().unwrap(),
        "--stats",
        stats_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let recs = records(&out.stdout);
    let lines: Vec<Value> = fs::read_to_string(&explain)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stats: Value = serde_json::from_str(&fs::read_to_string(&stats_path).unwrap()).unwrap();
    // One line per dropped paragraph, except a duplicate post, which is one line for all
    // of its paragraphs.
    let dup_post_paragraphs = stats["paragraphs"]["dropped"]["duplicate_post"]
        .as_u64()
        .unwrap();
    let dup_posts = stats["duplicate_posts"].as_u64().unwrap();
    let dropped = crate::balanced_dropped_total(&stats);
    assert_eq!(
        lines.len() as u64,
        dropped - dup_post_paragraphs + dup_posts
    );
    let dup = lines
        .iter()
        .find(|l| l["reason"] == "duplicate")
        .expect("a duplicate paragraph");
    assert_eq!(dup["source"]["line"], 12);
    assert_eq!(dup["duplicate_of"]["id"], recs[0]["id"]);
    assert_eq!(dup["duplicate_of"]["source"]["line"], 1);
    assert!(
        dup["text"]
            .as_str()
            .unwrap()
            .starts_with("The ministers discussed")
    );
    let post = lines
        .iter()
        .find(|l| l["reason"] == "duplicate_post")
        .unwrap();
    assert_eq!(post["source"]["line"], 6);
    assert_eq!(post["duplicate_of"]["id"], recs[0]["id"]);
    assert!(
        lines
            .iter()
            .any(|l| l["reason"] == "reactions" && l["text"] == "👍2")
    );
}

#[test]
fn ci_guards_exit_3_when_empty_and_4_when_mostly_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    fs::write(&empty, "").unwrap();
    let e = empty.to_str().unwrap();
    assert_eq!(tgclean(&["clean", "-q", e]).status.code(), Some(0));
    assert_eq!(
        tgclean(&["clean", "-q", "--fail-if-empty", e])
            .status
            .code(),
        Some(3)
    );
    // 6 posts, 3 of them duplicates: a ratio of 0.5.
    let f = "fixtures/dedup-paragraph/input.txt";
    assert_eq!(
        tgclean(&["clean", "-q", "--max-duplicate-ratio", "0.5", f])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        tgclean(&["clean", "-q", "--max-duplicate-ratio", "0.4", f])
            .status
            .code(),
        Some(4)
    );
    assert_eq!(
        tgclean(&["clean", "-q", "--max-duplicate-ratio", "1.5", f])
            .status
            .code(),
        Some(2)
    );
    let help = String::from_utf8_lossy(&tgclean(&["clean", "--help"]).stdout).into_owned();
    for code in ["0 ", "1 ", "2 ", "3 ", "4 ", "130 "] {
        assert!(
            help.contains(&format!("\n  {code}")),
            "--help documents exit {code}"
        );
    }
}

#[test]
fn check_reports_ids_and_keys_written_twice_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    let run = |out: &Path, args: &[&str]| {
        let mut all = vec!["clean", "-q", "-o", out.to_str().unwrap()];
        all.extend_from_slice(args);
        assert_eq!(tgclean(&all).status.code(), Some(0));
    };
    run(&a, &[SEED_004]);
    run(&b, &[SEED_004]);
    let ok = tgclean(&["check", a.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0));
    let both = tgclean(&["check", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(both.status.code(), Some(1));
    let err = String::from_utf8_lossy(&both.stderr);
    let first = format!("{}:1: post id ", b.display());
    assert!(err.contains(&first), "{err}");
    assert!(
        err.contains(&format!("already written at {}:1", a.display())),
        "{err}"
    );
    assert!(err.contains("paragraphs[1]: key "), "{err}");
}

#[test]
fn language_detector_is_chosen_with_lang() {
    let langs = |detector: &str| -> Vec<Value> {
        let out = tgclean(&["clean", "--quiet", "--lang", detector, "seeds"]);
        assert_eq!(out.status.code(), Some(0));
        records(&out.stdout)
            .iter()
            .map(|r| r["lang"].clone())
            .collect()
    };
    let fast = langs("fast");
    assert_eq!(fast, langs("fast"), "deterministic");
    // The seeds are English articles and an English channel copy.
    assert!(
        fast.iter().filter(|l| *l == "en").count() >= fast.len() - 1,
        "{fast:?}"
    );
    let whatlang = langs("whatlang");
    assert_eq!(whatlang.len(), fast.len());
    assert!(whatlang.iter().any(|l| l == "en"));
    assert!(langs("off").iter().all(Value::is_null));
    assert_eq!(
        tgclean(&["clean", "--lang", "klingon"]).status.code(),
        Some(2)
    );
}

#[test]
fn a_projection_has_its_fields_and_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lean.jsonl");
    let run = tgclean(&[
        "clean",
        "-q",
        "--fields",
        "text,lang,date",
        "-o",
        out.to_str().unwrap(),
        SEED_004,
    ]);
    assert_eq!(run.status.code(), Some(0));
    let text = fs::read_to_string(&out).unwrap();
    let full = records(&tgclean(&["clean", "-q", SEED_004]).stdout);
    let lean = records(text.as_bytes());
    assert_eq!(lean.len(), full.len());
    for (l, f) in lean.iter().zip(&full) {
        let keys: Vec<&String> = l.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{l}");
        for k in ["id", "date", "text", "lang"] {
            assert_eq!(l[k], f[k], "{k}");
        }
    }
    // Schema order in the bytes: id, date, text, lang.
    let first = text.lines().next().unwrap();
    let at = |k: &str| first.find(&format!("\"{k}\":")).unwrap();
    assert!(at("id") < at("date") && at("date") < at("text") && at("text") < at("lang"));
    let check = tgclean(&["check", out.to_str().unwrap()]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let bad = tgclean(&["clean", "-q", "--fields", "id,txt", SEED_004]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a record field"));
}

/// Runs `tgclean` under a pseudo-terminal (util-linux `script`), returning what the
/// terminal showed, or `None` when `script` is not there.
fn on_a_terminal(args: &str, dir: &Path) -> Option<String> {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_tgclean"));
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    assert!(out.status.success(), "script: {out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn progress_is_drawn_on_a_terminal_only_and_never_changes_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let seed = fs::read(repo().join(SEED_004)).unwrap();
    let mut input = Vec::new();
    // Enough posts for a run of a few tenths of a second, so that a line is drawn.
    for i in 0..300 {
        input.extend_from_slice(format!("Forwarded from Copy {i}\nPost number {i}\n").as_bytes());
        input.extend_from_slice(&seed);
    }
    fs::write(dir.path().join("in.txt"), &input).unwrap();
    let Some(shown) = on_a_terminal("clean -o tty.jsonl in.txt", dir.path()) else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    // The progress line is redrawn in place (carriage return, erase line) and carries
    // a rate; how far it got (an ETA once the size is known, a MiB/s or GiB/s rate)
    // depends on how fast the build reads, so only its shape is checked.
    const REDRAW: &str = "\r\u{1b}[2K";
    let progress = shown.split(REDRAW).next().unwrap_or_default();
    assert!(shown.contains(REDRAW), "no progress line: {shown:?}");
    assert!(progress.contains("B/s"), "no rate: {shown:?}");
    assert!(
        shown.contains(", 0 records") || shown.contains("writing, "),
        "{shown:?}"
    );
    assert!(shown.contains("posts -> "), "no summary line: {shown:?}");
    let quiet = on_a_terminal("clean --quiet -o quiet.jsonl in.txt", dir.path()).unwrap();
    assert!(
        !quiet.contains(REDRAW) && !quiet.contains("B/s"),
        "--quiet drew progress: {quiet:?}"
    );
    // Not a terminal: the summary line alone.
    let piped = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(["clean", "-o", "piped.jsonl", "in.txt"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        !stderr.contains('\r') && !stderr.contains(" ETA "),
        "{stderr:?}"
    );
    let tty = fs::read(dir.path().join("tty.jsonl")).unwrap();
    assert!(!tty.is_empty());
    assert_eq!(tty, fs::read(dir.path().join("piped.jsonl")).unwrap());
    assert_eq!(tty, fs::read(dir.path().join("quiet.jsonl")).unwrap());
}

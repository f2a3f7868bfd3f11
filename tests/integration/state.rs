//! `--state`: incremental runs, refusal of bad state files, and what survives a kill.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::cli::write_generated_dump;

fn tgclean_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run tgclean")
}

fn lines(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

fn first_posts(dump: &str, posts: usize) -> String {
    let mut out = String::new();
    let mut seen = 0;
    for line in dump.lines() {
        if line.starts_with("Forwarded from") {
            seen += 1;
            if seen > posts {
                break;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn second_run_writes_nothing_and_half_new_writes_the_new_half() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let full_path = write_generated_dump(d, 300);
    let full = fs::read_to_string(&full_path).unwrap();
    fs::write(d.join("half.txt"), first_posts(&full, 150)).unwrap();

    let run = |out: &str, input: &str| {
        let o = tgclean_in(
            d,
            &[
                "clean",
                "--quiet",
                "--state",
                "seen.state",
                "-o",
                out,
                input,
            ],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run("first.jsonl", "half.txt");
    run("second.jsonl", "generated.txt");
    run("third.jsonl", "generated.txt");
    // What a single stateless run over the whole dump writes, split in two.
    let whole = tgclean_in(
        d,
        &["clean", "--quiet", "-o", "whole.jsonl", "generated.txt"],
    );
    assert_eq!(whole.status.code(), Some(0));
    let (first, second) = (
        lines(&d.join("first.jsonl")),
        lines(&d.join("second.jsonl")),
    );
    assert!(first > 0 && second > 0);
    assert_eq!(first + second, lines(&d.join("whole.jsonl")));
    assert_eq!(
        lines(&d.join("third.jsonl")),
        0,
        "nothing new the third time"
    );
    // The ids written in the second run are exactly the ones the first did not write.
    let ids = |f: &str| -> Vec<String> {
        fs::read_to_string(d.join(f))
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let mut both = ids("first.jsonl");
    both.extend(ids("second.jsonl"));
    assert_eq!(both, ids("whole.jsonl"));
    let size = fs::metadata(d.join("seen.state")).unwrap().len();
    let keys_and_ids = 4 * 300; // an upper bound on paragraphs + posts of this dump
    // 16 bytes per key or id, 20 per template (at most one per key), 12 per origin,
    // and at most 106 + 4 × 128 per post kept for near-duplicates.
    assert!(
        size < 200 + (16 + 20 + 12) * keys_and_ids as u64 + (106 + 4 * 128) * 300,
        "{size} bytes"
    );
}

#[test]
fn a_near_duplicate_of_a_post_of_an_earlier_run_is_caught_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let body = "The city council approved a new budget for public transport on Tuesday, \
        adding forty electric buses and two tram lines to the network by the end of next \
        year, and residents can comment on the plan until March on the council website.";
    fs::write(
        d.join("monday.txt"),
        format!("Forwarded from City Desk\n{body}\n"),
    )
    .unwrap();
    fs::write(
        d.join("tuesday.txt"),
        format!("Forwarded from Aggregator\n⚡️ Transport news\n{body}\nMore at our channel\n"),
    )
    .unwrap();
    let run = |input: &str, out: &str, explain: &str| {
        let o = tgclean_in(
            d,
            &[
                "clean",
                "-q",
                "--state",
                "s.state",
                "-o",
                out,
                "--explain",
                explain,
                input,
            ],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run("monday.txt", "1.jsonl", "1.explain");
    assert_eq!(lines(&d.join("1.jsonl")), 1);
    let kept: serde_json::Value =
        serde_json::from_str(fs::read_to_string(d.join("1.jsonl")).unwrap().trim()).unwrap();
    run("tuesday.txt", "2.jsonl", "2.explain");
    assert_eq!(
        lines(&d.join("2.jsonl")),
        0,
        "the repost of Monday's post is dropped"
    );
    let explain = fs::read_to_string(d.join("2.explain")).unwrap();
    let line: serde_json::Value = explain
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["reason"] == "near_duplicate")
        .unwrap_or_else(|| panic!("no near_duplicate line in {explain}"));
    assert_eq!(line["duplicate_of"]["id"], kept["id"]);
    assert!(
        line["duplicate_of"]["source"].is_null(),
        "kept in an earlier run"
    );
    let s = line["similarity"].as_f64().unwrap();
    assert!((0.8..1.0).contains(&s), "{s}");
    assert!(line["text"].as_str().unwrap().contains("Transport news"));
}

#[test]
fn bad_state_files_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_generated_dump(d, 20);
    let ok = tgclean_in(
        d,
        &[
            "clean",
            "-q",
            "--state",
            "good.state",
            "-o",
            "o.jsonl",
            "generated.txt",
        ],
    );
    assert_eq!(ok.status.code(), Some(0));
    let good = fs::read(d.join("good.state")).unwrap();
    let mut flipped = good.clone();
    // A byte of the body (the output path's first), not a count: a count read wrong
    // would be found as a size that does not match before the checksum is.
    flipped[98] ^= 0x55;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "foreign.state",
            b"{\"seen\": []}".to_vec(),
            "not a tgclean state file",
        ),
        (
            "truncated.state",
            good[..good.len() - 7].to_vec(),
            "truncated",
        ),
        ("corrupt.state", flipped, "checksum"),
        ("empty.state", Vec::new(), "not a tgclean state file"),
    ];
    for (name, bytes, why) in cases {
        fs::write(d.join(name), &bytes).unwrap();
        fs::write(d.join("out.jsonl"), "old output\n").unwrap();
        let o = tgclean_in(
            d,
            &[
                "clean",
                "-q",
                "--state",
                name,
                "-o",
                "out.jsonl",
                "generated.txt",
            ],
        );
        assert_eq!(o.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(name) && err.contains(why), "{name}: {err}");
        assert_eq!(fs::read(d.join(name)).unwrap(), bytes, "{name} untouched");
        assert_eq!(
            fs::read_to_string(d.join("out.jsonl")).unwrap(),
            "old output\n"
        );
    }
}

#[test]
fn a_state_whose_output_never_landed_falls_back_to_its_base() {
    // The crash window between installing the state and installing the output: the
    // state is new, the output old. The next run must behave as if the state were old.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let full = fs::read_to_string(write_generated_dump(d, 200)).unwrap();
    fs::write(d.join("a.txt"), first_posts(&full, 100)).unwrap();
    let run = |input: &str| run_with_state(d, input);
    run("a.txt");
    let (state_a, out_a) = (
        fs::read(d.join("s")).unwrap(),
        fs::read(d.join("out.jsonl")).unwrap(),
    );
    run("generated.txt");
    let (state_b, out_b) = (
        fs::read(d.join("s")).unwrap(),
        fs::read(d.join("out.jsonl")).unwrap(),
    );
    assert_ne!(out_a, out_b);
    // Crash between the two renames of run B: new state, old output.
    fs::write(d.join("s"), &state_b).unwrap();
    fs::write(d.join("out.jsonl"), &out_a).unwrap();
    run("generated.txt");
    assert_eq!(
        fs::read(d.join("out.jsonl")).unwrap(),
        out_b,
        "B's records are written again"
    );
    assert_eq!(fs::read(d.join("s")).unwrap(), state_b);
    drop(state_a);
}

/// Old and new (state, output) of one run, and a fresh copy of the old pair in `work`.
struct Pair {
    old_state: Vec<u8>,
    old_out: Vec<u8>,
    new_state: Vec<u8>,
    new_out: Vec<u8>,
}

/// One `clean --state s -o out.jsonl INPUT` run in `work`, which must succeed. Channel
/// boilerplate is off: these runs check the generations of keys and ids, which a rule
/// learned over each run's own inputs would blur.
fn run_with_state(work: &Path, input: &str) {
    let o = tgclean_in(
        work,
        &[
            "clean",
            "-q",
            "--boilerplate",
            "off",
            "--state",
            "s",
            "-o",
            "out.jsonl",
            input,
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn reference_pair(work: &Path) -> Pair {
    let full = fs::read_to_string(write_generated_dump(work, 900)).unwrap();
    fs::write(work.join("first.txt"), first_posts(&full, 300)).unwrap();
    run_with_state(work, "first.txt");
    let old_state = fs::read(work.join("s")).unwrap();
    let old_out = fs::read(work.join("out.jsonl")).unwrap();
    run_with_state(work, "generated.txt");
    let pair = Pair {
        old_state,
        old_out,
        new_state: fs::read(work.join("s")).unwrap(),
        new_out: fs::read(work.join("out.jsonl")).unwrap(),
    };
    assert_ne!(pair.old_out, pair.new_out);
    pair
}

fn restore_old(work: &Path, pair: &Pair) {
    fs::write(work.join("s"), &pair.old_state).unwrap();
    fs::write(work.join("out.jsonl"), &pair.old_out).unwrap();
}

fn spawn_second_run(work: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args([
            "clean",
            "-q",
            "--boilerplate",
            "off",
            "--state",
            "s",
            "-o",
            "out.jsonl",
            "generated.txt",
        ])
        .current_dir(work)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn leftover_temp_files(work: &Path) -> usize {
    fs::read_dir(work)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".tgclean-")
        })
        .count()
}

#[test]
fn killed_at_any_moment_the_pair_is_old_or_new() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let pair = reference_pair(work);
    // How long a full second run takes here (the slower of two), to spread the kills over it.
    let mut full = Duration::ZERO;
    for _ in 0..2 {
        restore_old(work, &pair);
        let started = Instant::now();
        assert!(spawn_second_run(work).wait().unwrap().success());
        full = full.max(started.elapsed());
    }
    let trials = 16;
    let (mut saw_old, mut saw_new) = (0, 0);
    for i in 0..trials {
        restore_old(work, &pair);
        let mut child = spawn_second_run(work);
        // Offsets from 0 to 200% of a full run, so some kills land after it finished.
        std::thread::sleep(full.mul_f64(2.0 * f64::from(i) / f64::from(trials)));
        let _ = child.kill();
        let _ = child.wait();
        let state = fs::read(work.join("s")).unwrap();
        let out = fs::read(work.join("out.jsonl")).unwrap();
        assert!(
            state == pair.old_state || state == pair.new_state,
            "trial {i}: torn state"
        );
        assert!(
            out == pair.old_out || out == pair.new_out,
            "trial {i}: torn output"
        );
        if out == pair.new_out {
            assert_eq!(
                state, pair.new_state,
                "trial {i}: new output with old state"
            );
            saw_new += 1;
        } else {
            if state == pair.new_state {
                // Killed between the renames: the retry must write B's records again.
                let retry = spawn_second_run(work).wait().unwrap();
                assert!(retry.success());
                assert_eq!(
                    fs::read(work.join("out.jsonl")).unwrap(),
                    pair.new_out,
                    "trial {i}"
                );
            }
            saw_old += 1;
        }
        // A SIGKILL leaves the temporary files of the unfinished run; nothing else.
        for e in fs::read_dir(work).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with(".tgclean-") {
                fs::remove_file(work.join(name)).unwrap();
            }
        }
    }
    assert!(saw_old > 0 && saw_new > 0, "old {saw_old}, new {saw_new}");
}

#[test]
fn sigint_and_sigterm_stop_without_committing() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let pair = reference_pair(work);
    let dump = fs::read(work.join("generated.txt")).unwrap();
    for signal in ["-INT", "-TERM"] {
        restore_old(work, &pair);
        // The input comes through a pipe kept open, so the signal surely arrives in the
        // middle of the run, however fast the run is.
        let mut child = Command::new(env!("CARGO_BIN_EXE_tgclean"))
            .args(["clean", "-q", "--state", "s", "-o", "out.jsonl", "-"])
            .current_dir(work)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&dump[..dump.len() / 2]).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let pid = child.id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success());
        // The rest of the input, then its end: the run must still stop.
        let _ = stdin.write_all(&dump[dump.len() / 2..]);
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{signal}");
        assert_eq!(
            fs::read(work.join("s")).unwrap(),
            pair.old_state,
            "{signal}"
        );
        assert_eq!(
            fs::read(work.join("out.jsonl")).unwrap(),
            pair.old_out,
            "{signal}"
        );
        assert_eq!(
            leftover_temp_files(work),
            0,
            "{signal}: temporary files are removed"
        );
    }
}

/// Two runs sharing one `--state` take turns: the second waits for the first's lock (and
/// says so), then reads the state the first wrote, so that neither's keys are lost.
#[test]
fn two_runs_on_one_state_take_turns_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let full = fs::read_to_string(write_generated_dump(d, 200)).unwrap();
    let first = first_posts(&full, 100);
    fs::write(d.join("a.txt"), &first).unwrap();
    fs::write(d.join("b.txt"), &full[first.len()..]).unwrap();
    let args = |input: &str, out: &str| -> Vec<String> {
        [
            "clean",
            "-q",
            "--boilerplate",
            "off",
            "--state",
            "s.state",
            "-o",
            out,
            input,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    // The first run reads A through a pipe held open, so it holds the lock meanwhile.
    let mut one = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(args("-", "one.jsonl"))
        .current_dir(d)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = one.stdin.take().unwrap();
    pipe.write_all(first.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let two = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(args("b.txt", "two.jsonl"))
        .current_dir(d)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    drop(pipe);
    assert!(one.wait_with_output().unwrap().status.success());
    let two = two.wait_with_output().unwrap();
    assert!(two.status.success());
    assert!(
        String::from_utf8_lossy(&two.stderr).contains("another run is using this state"),
        "{}",
        String::from_utf8_lossy(&two.stderr)
    );
    // A run over either dump afterwards finds every post in the state.
    for (input, out) in [("a.txt", "three.jsonl"), ("b.txt", "four.jsonl")] {
        let again = args(input, out);
        let again: Vec<&str> = again.iter().map(String::as_str).collect();
        assert!(tgclean_in(d, &again).status.success());
        assert_eq!(lines(&d.join(out)), 0, "{input}");
    }
    // A run that will not wait gives up with a clear error while the lock is held.
    let _held = {
        let f = fs::OpenOptions::new()
            .write(true)
            .open(d.join("s.state.lock"))
            .unwrap();
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a descriptor this test owns.
        assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
        f
    };
    let mut impatient = args("a.txt", "five.jsonl");
    impatient.extend(["--lock-timeout".to_owned(), "0.3".to_owned()]);
    let five = tgclean_in(d, &impatient.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(five.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&five.stderr).contains("--lock-timeout"));
}

#[test]
fn clean_to_hands_over_the_records_and_a_refusal_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = |state: bool| tgclean::Config {
        inputs: vec![tgclean::InputSpec::Path("seeds".into())],
        output: Some(d.join("file.jsonl")),
        state: state.then(|| d.join("s.state")),
        quiet: true,
        ..tgclean::Config::default()
    };
    tgclean::clean(&config(false)).unwrap();
    let streamed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&streamed);
    let stats = tgclean::engine::clean_to(&config(false), move |lines| {
        sink.lock().unwrap().extend(lines.iter().flatten().copied());
        Ok(())
    })
    .unwrap();
    assert_eq!(stats.records_written, 13);
    assert_eq!(
        *streamed.lock().unwrap(),
        fs::read(d.join("file.jsonl")).unwrap()
    );
    // A caller that stops taking records stops the run: nothing is committed.
    let err = tgclean::engine::clean_to(&config(true), |_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "enough",
        ))
    })
    .unwrap_err();
    assert!(err.to_string().contains("record stream"), "{err}");
    assert!(!d.join("s.state").exists());
}

//! Never hang, never eat its own output: FIFOs, sockets and devices in input folders, a
//! signal while a read blocks, the run's own files in its input folder, and the
//! temporaries of killed runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SEED: &str = "seeds/004_938382bba7e78ea9.txt";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spawn(args: &[&str], dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tgclean")
}

/// Waits for `child` at most `limit`; a run still going then is killed and the test
/// fails, rather than hanging the suite.
fn finish_within(mut child: Child, limit: Duration, what: &str) -> (Output, Duration) {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return (child.wait_with_output().unwrap(), start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

fn temporaries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tgclean-"))
        .collect()
}

#[test]
fn a_folder_with_a_fifo_a_socket_and_a_device_is_read_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::copy(repo().join(SEED), data.join("dump.txt")).unwrap();
    mkfifo(&data.join("feed.fifo"));
    let _listener = std::os::unix::net::UnixListener::bind(data.join("app.sock")).unwrap();
    std::os::unix::fs::symlink("/dev/null", data.join("null")).unwrap();
    let child = spawn(
        &["clean", "data", "-o", "out.jsonl", "--stats", "stats.json"],
        dir.path(),
    );
    let (out, _) = finish_within(child, Duration::from_secs(30), "run over the folder");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for what in [
        "named pipe (FIFO), skipped",
        "a socket, skipped",
        "a device, skipped",
    ] {
        assert_eq!(
            stderr.matches(what).count(),
            1,
            "{what} noted once: {stderr}"
        );
    }
    let stats: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("stats.json")).unwrap()).unwrap();
    assert_eq!(stats["skipped_files"], 3);
    assert_eq!(stats["inputs"], 1);
    assert!(stderr.contains("3 skipped file(s)"), "{stderr}");
    // The regular file gives the records it gives alone.
    let alone = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(["clean", "-q", "data/dump.txt"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let written = fs::read(dir.path().join("out.jsonl")).unwrap();
    let strip = |b: &[u8]| String::from_utf8_lossy(b).replace("data/dump.txt", "");
    assert_eq!(strip(&written), strip(&alone.stdout));
}

#[test]
fn a_fifo_named_explicitly_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("feed");
    mkfifo(&fifo);
    let child = spawn(&["clean", "-q", "feed"], dir.path());
    // A writer opens the pipe, writes a post and closes it, as a scraper's feed would.
    let seed = fs::read(repo().join(SEED)).unwrap();
    fs::write(&fifo, &seed).unwrap();
    let (out, _) = finish_within(child, Duration::from_secs(30), "run on a FIFO");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() > 3);
}

/// A run blocked opening a FIFO that no one writes, with an old output and state beside
/// it: `signals` are sent, and the run must end with 130 within a second of the first,
/// leaving the old files as they were and no temporary.
fn blocked_run_ends_on(signals: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    fs::copy(repo().join(SEED), work.join("dump.txt")).unwrap();
    let first = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args([
            "clean",
            "-q",
            "dump.txt",
            "-o",
            "out.jsonl",
            "--state",
            "s.state",
        ])
        .current_dir(work)
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0));
    let old_out = fs::read(work.join("out.jsonl")).unwrap();
    let old_state = fs::read(work.join("s.state")).unwrap();
    mkfifo(&work.join("feed"));
    let args = [
        "clean",
        "-q",
        "feed",
        "-o",
        "out.jsonl",
        "--state",
        "s.state",
    ];
    let child = spawn(&args, work);
    // Long enough to be blocked in the open of the FIFO.
    std::thread::sleep(Duration::from_millis(500));
    let pid = child.id().to_string();
    let sent = Instant::now();
    for signal in signals {
        assert!(
            Command::new("kill")
                .args([*signal, pid.as_str()])
                .status()
                .unwrap()
                .success()
        );
    }
    let (out, _) = finish_within(child, Duration::from_secs(10), "blocked run after a signal");
    let took = sent.elapsed();
    assert_eq!(out.status.code(), Some(130), "{signals:?}");
    assert!(
        took < Duration::from_secs(1),
        "{signals:?}: ended after {took:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted; nothing was committed"));
    assert_eq!(fs::read(work.join("out.jsonl")).unwrap(), old_out);
    assert_eq!(fs::read(work.join("s.state")).unwrap(), old_state);
    assert!(temporaries(work).is_empty(), "{:?}", temporaries(work));
}

#[test]
fn sigterm_ends_a_run_blocked_on_a_fifo() {
    blocked_run_ends_on(&["-TERM"]);
}

#[test]
fn a_second_ctrl_c_ends_a_blocked_run_at_once() {
    blocked_run_ends_on(&["-INT", "-INT"]);
}

#[test]
fn the_runs_own_files_in_its_input_folder_are_never_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::copy(repo().join(SEED), data.join("dump.txt")).unwrap();
    let args = [
        "clean",
        "data",
        "-o",
        "data/clean.jsonl",
        "--explain",
        "data/explain.jsonl",
        "--stats",
        "data/stats.json",
    ];
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_tgclean"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        (
            fs::read(data.join("clean.jsonl")).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (first, _) = run();
    let (second, notes) = run();
    assert!(!first.is_empty());
    assert_eq!(first, second, "the second run read only the dump");
    assert!(
        notes.contains("data/clean.jsonl: written by this run"),
        "{notes}"
    );
    assert!(notes.contains("data/explain.jsonl: written by this run"));
    assert!(notes.contains("data/stats.json: written by this run"));
}

#[test]
fn stale_temporaries_are_removed_and_a_live_runs_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    fs::copy(repo().join(SEED), work.join("dump.txt")).unwrap();
    // A process that has exited and been reaped: its pid names no process now.
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    let stale = format!(".tgclean-out.jsonl.{gone_pid}.a1b2c3.tmp");
    let live = format!(".tgclean-out.jsonl.{}.d4e5f6.tmp", std::process::id());
    let other = format!(".tgclean-else.jsonl.{gone_pid}.a1b2c3.tmp");
    for name in [&stale, &live, &other] {
        fs::write(work.join(name), b"Zzyzx temporary marker text\n").unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(["clean", "-q", ".", "-o", "out.jsonl"])
        .current_dir(work)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !work.join(&stale).exists(),
        "the stale temporary is removed"
    );
    assert!(stderr.contains(&format!("left by process {gone_pid}, which is gone")));
    assert!(work.join(&live).exists(), "a live run's temporary is kept");
    assert!(
        work.join(&other).exists(),
        "another target's temporary is kept"
    );
    // Temporaries in the input folder are not read as inputs either.
    let records = fs::read_to_string(work.join("out.jsonl")).unwrap();
    assert!(!records.contains("Zzyzx"));
}

#[test]
fn an_export_folder_gives_its_messages_and_passes_over_its_media() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("ChatExport_2024-11-22");
    for sub in ["css", "js", "photos", "images", "stickers"] {
        fs::create_dir_all(export.join(sub)).unwrap();
    }
    for page in ["messages.html", "messages2.html"] {
        fs::copy(
            repo().join("fixtures/tg-html/export").join(page),
            export.join(page),
        )
        .unwrap();
    }
    fs::write(
        export.join("css/style.css"),
        "body{color:red}\n.message{margin:0}\n",
    )
    .unwrap();
    fs::write(
        export.join("js/script.js"),
        "function CheckLocation(){return true}\n",
    )
    .unwrap();
    fs::write(
        export.join("photos/photo_1@22-11-2024_10-00-00.jpg"),
        [0xFF, 0xD8, 0, 0, 0x10],
    )
    .unwrap();
    fs::write(
        export.join("images/back.png"),
        [0x89, b'P', b'N', b'G', 0, 0],
    )
    .unwrap();
    fs::write(
        export.join("stickers/sticker.webp"),
        [b'R', b'I', b'F', b'F', 0, 0],
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(["clean", "--stats", "stats.json", "-o", "out.jsonl"])
        .arg(&export)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("binary"), "{stderr}");
    assert!(
        !stderr.contains("note:"),
        "assets are passed over silently: {stderr}"
    );
    let stats: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("stats.json")).unwrap()).unwrap();
    assert_eq!(stats["skipped_files"], 5);
    assert_eq!(stats["inputs"], 2);
    let records = fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    assert!(!records.contains("color:red") && !records.contains("CheckLocation"));
    // The same pages alone give the same records.
    let alone = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(["clean", "-q", "--format", "auto"])
        .arg(export.join("messages.html"))
        .arg(export.join("messages2.html"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(records.as_bytes(), alone.stdout.as_slice());
    // A binary file named as an input is still reported.
    let named = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(["clean", "-q"])
        .arg(export.join("photos/photo_1@22-11-2024_10-00-00.jpg"))
        .output()
        .unwrap();
    assert_eq!(named.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&named.stderr).contains("binary"));
}

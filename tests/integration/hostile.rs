//! Hostile inputs: each must give no panic, a clear message with path and line, the
//! other inputs processed, and the documented exit code.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs `tgclean clean` on `inputs` (relative to `dir`) plus a good file written first.
fn clean_with_good(dir: &Path, inputs: &[&str], extra: &[&str]) -> (Output, Vec<Value>) {
    fs::write(
        dir.join("good.txt"),
        "Forwarded from Control\nA good post that must still be written whatever else happens.\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(["clean", "-q"])
        .args(extra)
        .args(inputs)
        .arg("good.txt")
        .current_dir(dir)
        .output()
        .expect("run tgclean");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("output lines are JSON"))
        .collect();
    assert!(
        records.iter().any(|r| r["source"]["file"] == "good.txt"),
        "the good file is still processed; stderr: {stderr}"
    );
    (out, records)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn binary_and_nul_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("blob.bin"), [0u8, 159, 146, 150, 0, 0, 7, 255]).unwrap();
    let (out, _) = clean_with_good(d, &["blob.bin"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("blob.bin:1: binary file"),
        "{}",
        stderr(&out)
    );

    // NUL bytes inside text, past the sniffed head, are control characters: removed.
    let mut text = b"Forwarded from A\n".to_vec();
    text.extend(std::iter::repeat_n(b'x', 9000));
    text.extend_from_slice(b"\nA line with a NUL\0 byte in the middle of it.\n");
    fs::write(d.join("nul.txt"), &text).unwrap();
    let (out, records) = clean_with_good(d, &["nul.txt"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let nul = records
        .iter()
        .find(|r| r["source"]["file"] == "nul.txt")
        .unwrap();
    assert!(
        nul["text"]
            .as_str()
            .unwrap()
            .contains("A line with a NUL byte in the middle")
    );
}

#[test]
fn line_endings_crlf_and_cr_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("crlf.txt"),
        "Forwarded from A\r\nFirst line of the post.\r\n👍1\r\n",
    )
    .unwrap();
    fs::write(
        d.join("cr.txt"),
        "Forwarded from B\rFirst line of the post, CR only.\r👍2\r",
    )
    .unwrap();
    let (out, records) = clean_with_good(d, &["crlf.txt", "cr.txt"], &[]);
    assert_eq!(out.status.code(), Some(0));
    for (file, fwd, count) in [("crlf.txt", "A", 1), ("cr.txt", "B", 2)] {
        let r = records
            .iter()
            .find(|r| r["source"]["file"] == file)
            .unwrap();
        assert_eq!(r["forwarded_from"], fwd);
        assert_eq!(r["reactions"][0]["count"], count);
        assert!(!r["text"].as_str().unwrap().contains('\r'));
    }
}

#[test]
fn a_50_mb_line_and_a_100k_line_post() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let words = "word ".repeat(10 * 1024 * 1024);
    fs::write(
        d.join("long-line.txt"),
        format!("Forwarded from A\n{}\n", words.trim_end()),
    )
    .unwrap();
    let mut many = String::from("Forwarded from B\n");
    for i in 0..100_000 {
        many.push_str(&format!("Paragraph number {i} of a very long post.\n"));
    }
    fs::write(d.join("many-lines.txt"), &many).unwrap();
    let (out, records) = clean_with_good(d, &["long-line.txt", "many-lines.txt"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let long = records
        .iter()
        .find(|r| r["source"]["file"] == "long-line.txt")
        .unwrap();
    assert_eq!(long["text"].as_str().unwrap().len(), words.trim_end().len());
    let many: Vec<&Value> = records
        .iter()
        .filter(|r| r["source"]["file"] == "many-lines.txt")
        .collect();
    assert_eq!(many.len(), 1);
    assert_eq!(many[0]["paragraphs"].as_array().unwrap().len(), 100_000);

    // With a small --max-post-bytes the same post is split and reported, nothing lost.
    let (out, records) = clean_with_good(d, &["many-lines.txt"], &["--max-post-bytes", "1000000"]);
    assert_eq!(out.status.code(), Some(0));
    let parts: Vec<&Value> = records
        .iter()
        .filter(|r| r["source"]["file"] == "many-lines.txt")
        .collect();
    assert!(parts.len() >= 4, "{}", parts.len());
    let total: usize = parts
        .iter()
        .map(|r| r["paragraphs"].as_array().unwrap().len())
        .sum();
    assert_eq!(total, 100_000);
    assert!(parts.iter().all(|r| r["forwarded_from"] == "B"));
    assert!(stderr(&out).contains("many-lines.txt:"), "{}", stderr(&out));
    assert!(stderr(&out).contains("split here"));
}

#[test]
fn truncated_and_wrongly_shaped_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("cut.json"),
        "{\n \"name\": \"C\",\n \"messages\": [\n  {\"id\": 1, \"type\": \"message\", \"text\": \"Kept from before the cut.\"},\n  {\"id\": 2, \"type\": \"mess",
    )
    .unwrap();
    fs::write(
        d.join("shape.json"),
        "{\n \"messages\": \"not an array\"\n}\n",
    )
    .unwrap();
    fs::write(
        d.join("scalar.json"),
        "{\n \"name\": 5,\n \"chats\": []\n}\n",
    )
    .unwrap();
    let (out, records) = clean_with_good(d, &["cut.json", "shape.json", "scalar.json"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cut.json:5: "), "{err}");
    assert!(err.contains("shape.json:2: "), "{err}");
    assert!(err.contains("scalar.json:"), "{err}");
    assert!(
        records
            .iter()
            .any(|r| r["text"] == "Kept from before the cut.")
    );
}

#[test]
fn directory_with_unreadable_entries_and_a_symlink_loop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tree = d.join("tree");
    fs::create_dir_all(tree.join("sub")).unwrap();
    fs::write(
        tree.join("sub/a.txt"),
        "Forwarded from T\nA post inside the tree.\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("..", tree.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink("missing-target.txt", tree.join("dangling.txt")).unwrap();
    let locked = tree.join("locked.txt");
    fs::write(
        &locked,
        "Forwarded from L\nUnreadable unless you are root.\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let root_reads_anyway = fs::read(&locked).is_ok();

    let (out, records) = clean_with_good(d, &["tree"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("tree/dangling.txt: broken symlink"), "{err}");
    assert!(err.contains("symlink loop"), "{err}");
    if !root_reads_anyway {
        assert!(err.contains("tree/locked.txt: Permission denied"), "{err}");
    }
    assert!(
        records
            .iter()
            .any(|r| r["source"]["file"] == "tree/sub/a.txt")
    );
}

#[test]
fn output_inside_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("in.txt"), "Forwarded from A\nText.\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(["clean", "-q", "in.txt", "-o", "no/such/dir/out.jsonl"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("writing no/such/dir/out.jsonl: No such file or directory"));
    assert!(!d.join("no").exists());
}

/// Unmounts the tiny file system when the test ends, even on failure.
struct TinyFs(std::path::PathBuf);

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_an_error_and_the_old_files_stay() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("tiny");
    fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipping: cannot mount a small tmpfs here (needs root)");
        return;
    }
    let _guard = TinyFs(mnt.clone());
    fs::write(mnt.join("out.jsonl"), "old output\n").unwrap();
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let out = Command::new(env!("CARGO_BIN_EXE_tgclean"))
        .args(["clean", "-q", "-o"])
        .arg(mnt.join("out.jsonl"))
        .arg("--state")
        .arg(mnt.join("seen.state"))
        .arg(&seeds)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(
        fs::read_to_string(mnt.join("out.jsonl")).unwrap(),
        "old output\n"
    );
    assert!(!mnt.join("seen.state").exists());
    // The state's (empty) lock file stays, as it does after every run with a state.
    let left: Vec<_> = fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "seen.state.lock")
        .collect();
    assert_eq!(left, ["out.jsonl"], "no temporary files left");
}

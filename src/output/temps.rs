//! The run's temporary files: named after their target and the process that writes them,
//! so that a later run can tell a stale one (its process is gone) from a live one, and
//! registered, so that a signal that ends the run at once can remove them.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tempfile::NamedTempFile;

/// Temporaries this process has open, removed by [`remove_all`] when a signal ends it.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

const PREFIX: &str = ".tgclean-";
const SUFFIX: &str = ".tmp";

fn name_of(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The start of the names of `target`'s temporaries written by process `pid`.
fn prefix_for(target: &Path, pid: u32) -> String {
    format!("{PREFIX}{}.{pid}.", name_of(target))
}

/// Whether a file name is one of tgclean's temporaries (of any target, any run).
pub fn is_temporary_name(name: &str) -> bool {
    name.starts_with(PREFIX) && name.ends_with(SUFFIX)
}

/// The directory a target's temporaries go in.
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Creates a temporary file beside `target`, named `.tgclean-<target>.<pid>.<random>.tmp`,
/// with `mode` (Unix), and registers it.
pub fn create_beside(target: &Path, mode: Option<u32>) -> io::Result<NamedTempFile> {
    let prefix = prefix_for(target, std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(SUFFIX);
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let tmp = builder.tempfile_in(parent_dir(target))?;
    register(tmp.path());
    Ok(tmp)
}

/// Registers a temporary file for removal if a signal ends the run.
pub fn register(path: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.push(path.to_path_buf());
    }
}

/// Forgets a temporary that was renamed into place or removed.
pub fn forget(path: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|p| p != path);
    }
}

/// Removes every registered temporary: the process is about to exit without unwinding.
pub fn remove_all() {
    // A handler may run while another thread holds the lock; the files then stay, as
    // after a SIGKILL, for the next run to remove.
    if let Ok(live) = LIVE.try_lock() {
        for p in live.iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Whether process `pid` is running (or exists and is not ours to signal).
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: kill with signal 0 only checks that the process exists; it sends nothing.
        let sent = unsafe { libc::kill(pid, 0) };
        sent == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Removes the temporaries of `target` left by runs whose process is gone (killed, or a
/// power cut), saying so on stderr; a live run's are kept. Returns the paths removed.
pub fn remove_stale(target: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(parent_dir(target)) else {
        return removed;
    };
    let head = format!("{PREFIX}{}.", name_of(target));
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix(&head)
            .and_then(|r| r.strip_suffix(SUFFIX))
        else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || alive(pid) {
            continue;
        }
        let path = entry.path();
        if std::fs::remove_file(&path).is_ok() {
            eprintln!(
                "tgclean: removed {}: a temporary file of {} left by process {pid}, which is gone",
                path.display(),
                target.display()
            );
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_target_and_pid() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.jsonl");
        let tmp = create_beside(&target, None).unwrap();
        let name = tmp
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with(&format!(".tgclean-out.jsonl.{}.", std::process::id())));
        assert!(is_temporary_name(&name));
        // Our own (live) temporary is never stale.
        assert!(remove_stale(&target).is_empty());
        assert!(tmp.path().exists());
    }

    #[test]
    fn a_gone_process_temporary_is_removed_and_another_target_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.jsonl");
        // A child that has exited and been reaped: its pid names no process now.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let stale = dir
            .path()
            .join(format!(".tgclean-out.jsonl.{gone}.abc123.tmp"));
        let other = dir
            .path()
            .join(format!(".tgclean-other.jsonl.{gone}.abc123.tmp"));
        std::fs::write(&stale, b"x").unwrap();
        std::fs::write(&other, b"x").unwrap();
        assert_eq!(remove_stale(&target), vec![stale.clone()]);
        assert!(!stale.exists());
        assert!(other.exists());
    }
}

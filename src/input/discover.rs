//! Expands the inputs given into the files to read, in the global input order: folders
//! recursed and sorted, their FIFOs, sockets and devices passed over (a read of one could
//! block for ever), and the run's own files (output, state, explain, stats, their locks
//! and temporaries) never read back as inputs.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::InputSource;
use crate::config::InputSpec;
use crate::error::Error;
use crate::output::temps;

/// Compares file names so that numbered pages sort by number: `messages.html`,
/// `messages2.html`, …, `messages10.html`.
fn natural_cmp(a: &Path, b: &Path) -> Ordering {
    let (a, b) = (a.to_string_lossy(), b.to_string_lossy());
    let (mut x, mut y) = (a.as_ref(), b.as_ref());
    loop {
        let dx = x.len() - x.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let dy = y.len() - y.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if dx > 0 && dy > 0 {
            let (nx, ny) = (
                x[..dx].trim_start_matches('0'),
                y[..dy].trim_start_matches('0'),
            );
            let by_number = nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny));
            if by_number != Ordering::Equal {
                return by_number;
            }
            (x, y) = (&x[dx..], &y[dy..]);
            continue;
        }
        match (x.chars().next(), y.chars().next()) {
            (None, None) => return a.cmp(&b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(cx), Some(cy)) if cx != cy => return cx.cmp(&cy),
            (Some(c), Some(_)) => (x, y) = (&x[c.len_utf8()..], &y[c.len_utf8()..]),
        }
    }
}

/// The files a run writes: never inputs of it.
#[derive(Debug, Clone, Default)]
pub struct OwnFiles {
    paths: Vec<PathBuf>,
}

/// A path made absolute with its folder's symlinks resolved, whether or not it exists.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = fs::canonicalize(path) {
        return real;
    }
    let dir = temps::parent_dir(path);
    match (fs::canonicalize(dir), path.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

impl OwnFiles {
    /// The run's own files: where it writes records, state, explain lines and stats.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Self {
        OwnFiles {
            paths: paths.into_iter().map(resolved).collect(),
        }
    }

    /// Why `path` is not an input of this run, if it is one of its own files.
    fn why(&self, path: &Path) -> Option<&'static str> {
        let name = path.file_name().map(|n| n.to_string_lossy());
        if name.as_deref().is_some_and(temps::is_temporary_name) {
            return Some("a temporary file of a tgclean run");
        }
        if self.paths.is_empty() {
            return None;
        }
        let real = resolved(path);
        for own in &self.paths {
            if real == *own {
                return Some("written by this run (its output, state, explain or stats)");
            }
            let mut lock = own.as_os_str().to_owned();
            lock.push(".lock");
            if real.as_os_str() == lock {
                return Some("the lock file of this run's state");
            }
        }
        None
    }
}

/// What [`discover`] found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The inputs, in the global order.
    pub sources: Vec<InputSource>,
    /// Folders that could not be read, broken symlinks.
    pub errors: Vec<Error>,
    /// Files passed over, each as `path: why` (counted as `skipped_files`).
    pub skipped: Vec<String>,
    /// Media and page assets passed over without a word: the photos, stickers,
    /// stylesheets and scripts of an export folder, and media files anywhere (counted as
    /// `skipped_files`).
    pub media: u64,
}

/// The folders of a Telegram Desktop export that hold media and the pages' assets.
const EXPORT_ASSET_DIRS: [&str; 11] = [
    "photos",
    "files",
    "video_files",
    "voice_messages",
    "round_video_messages",
    "stickers",
    "css",
    "js",
    "images",
    "contacts",
    "profile_pictures",
];

/// Extensions of media and page assets: never text to clean, whatever folder they are in.
const MEDIA_EXTENSIONS: [&str; 34] = [
    "jpg", "jpeg", "png", "gif", "webp", "bmp", "heic", "tiff", "svg", "ico", "tgs", "webm", "mp4",
    "mov", "mkv", "avi", "m4v", "ogg", "oga", "opus", "mp3", "m4a", "wav", "flac", "pdf", "zip",
    "rar", "7z", "apk", "exe", "css", "js", "woff", "ttf",
];

/// `result.json`, `messages.html`, `messages2.html`, …: the files of an export folder
/// that hold its messages.
fn is_export_page(name: &str) -> bool {
    name == "result.json"
        || name
            .strip_prefix("messages")
            .and_then(|r| r.strip_suffix(".html"))
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
}

fn has_media_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MEDIA_EXTENSIONS.iter().any(|m| e.eq_ignore_ascii_case(m)))
}

/// Regular files under `dir`, counted without reading them (bounded by the visited set).
fn count_files(dir: &Path, visited: &mut HashSet<PathBuf>) -> u64 {
    let Ok(real) = fs::canonicalize(dir) else {
        return 0;
    };
    if !visited.insert(real) {
        return 0;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match fs::metadata(e.path()) {
            Ok(m) if m.is_dir() => count_files(&e.path(), visited),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

/// What kind of file other than a regular file or folder a path is.
fn special_kind(meta: &fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    let _ = meta;
    "not a regular file"
}

/// Expands the inputs in order: a folder becomes its regular files, recursively, sorted
/// by path; a symlink loop or an unreadable folder is an error for that folder only.
/// Named pipes, sockets and devices inside folders, and the run's `own` files anywhere,
/// are passed over; a FIFO or `-` named as an input is read, as `cat` would.
pub fn discover(specs: &[InputSpec], own: &OwnFiles) -> Discovered {
    let mut found = Discovered::default();
    for spec in specs {
        match spec {
            InputSpec::Stdin => found.sources.push(InputSource::stdin()),
            InputSpec::Path(p) if p.is_dir() => {
                let mut visited = HashSet::new();
                walk(p, own, &mut visited, &mut found);
            }
            InputSpec::Path(p) => match own.why(p) {
                Some(why) => found
                    .skipped
                    .push(format!("{}: {why}, skipped", p.display())),
                None => found.sources.push(InputSource::file(p.clone())),
            },
        }
    }
    found
}

fn walk(dir: &Path, own: &OwnFiles, visited: &mut HashSet<PathBuf>, found: &mut Discovered) {
    let open_error = |source| Error::Open {
        path: dir.display().to_string(),
        source,
    };
    // Canonical paths identify a directory reached twice through symlinks.
    match fs::canonicalize(dir) {
        Ok(real) => {
            if !visited.insert(real) {
                found.errors.push(open_error(io::Error::other(
                    "directory already visited (symlink loop), skipped",
                )));
                return;
            }
        }
        Err(e) => return found.errors.push(open_error(e)),
    }
    let entries = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => return found.errors.push(open_error(e)),
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => paths.push(e.path()),
            Err(e) => found.errors.push(open_error(e)),
        }
    }
    paths.sort_by(|a, b| natural_cmp(a, b));
    let name_of = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    // A Telegram Desktop export folder: its messages are in `result.json` or the
    // `messages*.html` pages, its media and the pages' assets in folders of known names.
    // Other files in it are read as anywhere else: nothing is dropped unseen.
    let export = paths
        .iter()
        .any(|p| name_of(p).is_some_and(|n| is_export_page(&n)) && p.is_file());
    for path in paths {
        let name = name_of(&path).unwrap_or_default();
        // Symlinks are followed: a link to a folder is walked, a link to a file read.
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() && export && EXPORT_ASSET_DIRS.contains(&name.as_str()) => {
                found.media += count_files(&path, visited);
            }
            Ok(meta) if meta.is_dir() => walk(&path, own, visited, found),
            Ok(meta) if meta.is_file() && has_media_extension(&path) => {
                found.media += 1;
            }
            Ok(meta) if meta.is_file() => match own.why(&path) {
                Some(why) => found
                    .skipped
                    .push(format!("{}: {why}, skipped", path.display())),
                None => found.sources.push(InputSource::file(path)),
            },
            Ok(meta) => found.skipped.push(format!(
                "{}: {}, skipped",
                path.display(),
                special_kind(&meta)
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => found.errors.push(Error::Open {
                path: path.display().to_string(),
                source: io::Error::new(io::ErrorKind::NotFound, "broken symlink"),
            }),
            Err(e) => found.errors.push(Error::Open {
                path: path.display().to_string(),
                source: e,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_sort_by_number() {
        let mut names: Vec<PathBuf> = [
            "messages10.html",
            "messages2.html",
            "messages.html",
            "a.txt",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        names.sort_by(|a, b| natural_cmp(a, b));
        let names: Vec<String> = names.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "a.txt",
                "messages.html",
                "messages2.html",
                "messages10.html"
            ]
        );
    }

    #[test]
    fn directories_are_recursed_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("b")).unwrap();
        fs::write(dir.path().join("b/2.txt"), "x").unwrap();
        fs::write(dir.path().join("c.txt"), "x").unwrap();
        fs::write(dir.path().join("a.txt"), "x").unwrap();
        let Discovered {
            sources, errors, ..
        } = discover(
            &[InputSpec::Path(dir.path().to_path_buf())],
            &OwnFiles::default(),
        );
        assert!(errors.is_empty());
        let names: Vec<String> = sources
            .iter()
            .map(|s| {
                s.path
                    .as_ref()
                    .unwrap()
                    .strip_prefix(dir.path())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["a.txt", "b/2.txt", "c.txt"]);
    }

    #[test]
    fn own_files_and_specials_are_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("dump.txt"), "x").unwrap();
        fs::write(d.join("clean.jsonl"), "{}").unwrap();
        fs::write(d.join("s.state.lock"), "").unwrap();
        fs::write(d.join(".tgclean-clean.jsonl.1.abc.tmp"), "").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/dev/null", d.join("null")).unwrap();
        let own = OwnFiles::new([d.join("clean.jsonl").as_path(), d.join("s.state").as_path()]);
        let found = discover(&[InputSpec::Path(d.to_path_buf())], &own);
        let names: Vec<_> = found.sources.iter().map(|s| s.name.clone()).collect();
        assert_eq!(names, [d.join("dump.txt").display().to_string()]);
        assert!(found.errors.is_empty());
        let expected = if cfg!(unix) { 4 } else { 3 };
        assert_eq!(found.skipped.len(), expected, "{:?}", found.skipped);
        assert!(found.skipped.iter().any(|s| s.contains("a device")) || !cfg!(unix));
    }
}

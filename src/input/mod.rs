//! Finds and opens the inputs: files, directories (recursed, sorted) and stdin.

mod lines;

pub use lines::{FileCounts, for_each_line};

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::config::InputSpec;
use crate::error::Error;

/// Read buffer size: large enough that page-cache reads are not syscall-bound.
const READ_BUFFER: usize = 256 * 1024;

/// One input to read, with the name used in records and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSource {
    pub name: String,
    pub path: Option<PathBuf>,
}

impl InputSource {
    fn stdin() -> Self {
        InputSource {
            name: "-".into(),
            path: None,
        }
    }

    fn file(path: PathBuf) -> Self {
        InputSource {
            name: path.display().to_string(),
            path: Some(path),
        }
    }

    /// Opens the input for buffered reading.
    pub fn open(&self) -> Result<Box<dyn BufRead>, Error> {
        match &self.path {
            None => Ok(Box::new(BufReader::with_capacity(READ_BUFFER, io::stdin()))),
            Some(p) => File::open(p)
                .map(|f| Box::new(BufReader::with_capacity(READ_BUFFER, f)) as Box<dyn BufRead>)
                .map_err(|source| Error::Open {
                    path: self.name.clone(),
                    source,
                }),
        }
    }
}

/// Expands the inputs in order: a directory becomes its regular files, recursively,
/// sorted by path; a symlink loop or an unreadable directory is an error for that
/// directory only. Returns the sources and the errors met.
pub fn discover(specs: &[InputSpec]) -> (Vec<InputSource>, Vec<Error>) {
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for spec in specs {
        match spec {
            InputSpec::Stdin => sources.push(InputSource::stdin()),
            InputSpec::Path(p) if p.is_dir() => {
                let mut visited = HashSet::new();
                walk(p, &mut visited, &mut sources, &mut errors);
            }
            InputSpec::Path(p) => sources.push(InputSource::file(p.clone())),
        }
    }
    (sources, errors)
}

fn walk(
    dir: &Path,
    visited: &mut HashSet<PathBuf>,
    sources: &mut Vec<InputSource>,
    errors: &mut Vec<Error>,
) {
    let open_error = |source| Error::Open {
        path: dir.display().to_string(),
        source,
    };
    // Canonical paths identify a directory reached twice through symlinks.
    match fs::canonicalize(dir) {
        Ok(real) => {
            if !visited.insert(real) {
                errors.push(open_error(io::Error::other(
                    "directory already visited (symlink loop), skipped",
                )));
                return;
            }
        }
        Err(e) => return errors.push(open_error(e)),
    }
    let entries = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => return errors.push(open_error(e)),
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => paths.push(e.path()),
            Err(e) => errors.push(open_error(e)),
        }
    }
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, visited, sources, errors);
        } else if path.exists() {
            sources.push(InputSource::file(path));
        } else {
            errors.push(Error::Open {
                path: path.display().to_string(),
                source: io::Error::new(io::ErrorKind::NotFound, "broken symlink"),
            });
        }
    }
}

/// What the first bytes of an input look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Text,
    Binary,
    Json,
    Html,
}

/// How many leading bytes are inspected to tell text from binary.
const SNIFF_BYTES: usize = 8192;

/// Classifies the start of an input: NUL bytes mean binary; a leading `{` or `[` JSON;
/// a leading `<` HTML (or XML); anything else text.
pub fn sniff(head: &[u8]) -> Sniffed {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    if memchr::memchr(0, head).is_some() {
        return Sniffed::Binary;
    }
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => Sniffed::Json,
        Some(b'<') => Sniffed::Html,
        _ => Sniffed::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"Forwarded from A\n"), Sniffed::Text);
        assert_eq!(sniff(b"\xEF\xBB\xBF  {\"name\":1}"), Sniffed::Json);
        assert_eq!(sniff(b"\n[1,2]"), Sniffed::Json);
        assert_eq!(sniff(b"<!DOCTYPE html>"), Sniffed::Html);
        assert_eq!(sniff(b"abc\0def"), Sniffed::Binary);
        assert_eq!(sniff(b""), Sniffed::Text);
    }

    #[test]
    fn directories_are_recursed_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("b")).unwrap();
        fs::write(dir.path().join("b/2.txt"), "x").unwrap();
        fs::write(dir.path().join("c.txt"), "x").unwrap();
        fs::write(dir.path().join("a.txt"), "x").unwrap();
        let (sources, errors) = discover(&[InputSpec::Path(dir.path().to_path_buf())]);
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
}

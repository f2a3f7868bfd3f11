//! Where records go: a buffered, locked stdout, or a file replaced atomically.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::Error;

const WRITE_BUFFER: usize = 256 * 1024;

enum Sink {
    Stdout(BufWriter<io::StdoutLock<'static>>),
    /// Records go to a temporary file beside the target, renamed over it at the end, so
    /// readers never see a half-written output.
    File {
        writer: BufWriter<NamedTempFile>,
        target: PathBuf,
    },
}

/// The record writer of one run.
pub struct RecordSink {
    sink: Sink,
    name: String,
}

impl RecordSink {
    /// Opens stdout (`None`) or a temporary file in the target's directory.
    pub fn open(target: Option<&Path>) -> Result<Self, Error> {
        match target {
            None => Ok(RecordSink {
                sink: Sink::Stdout(BufWriter::with_capacity(WRITE_BUFFER, io::stdout().lock())),
                name: "stdout".into(),
            }),
            Some(path) => {
                let name = path.display().to_string();
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let tmp = tempfile::Builder::new()
                    .prefix(".tgclean-")
                    .suffix(".tmp")
                    .tempfile_in(dir)
                    .map_err(|source| Error::Write {
                        target: name.clone(),
                        source,
                    })?;
                Ok(RecordSink {
                    sink: Sink::File {
                        writer: BufWriter::with_capacity(WRITE_BUFFER, tmp),
                        target: path.to_path_buf(),
                    },
                    name,
                })
            }
        }
    }

    fn error(&self, source: io::Error) -> Error {
        Error::Write {
            target: self.name.clone(),
            source,
        }
    }

    /// Writes one record as a JSON line.
    pub fn write_record<T: serde::Serialize>(&mut self, record: &T) -> Result<(), Error> {
        let w: &mut dyn Write = match &mut self.sink {
            Sink::Stdout(w) => w,
            Sink::File { writer, .. } => writer,
        };
        let result = serde_json::to_writer(&mut *w, record)
            .map_err(io::Error::from)
            .and_then(|()| w.write_all(b"\n"));
        result.map_err(|e| self.error(e))
    }

    /// Flushes and, for a file, syncs it and renames it over the target.
    pub fn commit(self) -> Result<(), Error> {
        let name = self.name;
        let err = |source| Error::Write {
            target: name.clone(),
            source,
        };
        match self.sink {
            Sink::Stdout(mut w) => w.flush().map_err(err),
            Sink::File { writer, target } => {
                let tmp = writer.into_inner().map_err(|e| err(e.into_error()))?;
                tmp.as_file().sync_all().map_err(err)?;
                tmp.persist(&target).map_err(|e| err(e.error))?;
                Ok(())
            }
        }
    }
}

/// Writes `bytes` to `path` atomically (temp file in the same directory + rename).
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let err = |source| Error::Write {
        target: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    File::sync_all(tmp.as_file()).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.jsonl");
        let mut sink = RecordSink::open(Some(&target)).unwrap();
        sink.write_record(&serde_json::json!({"a": 1})).unwrap();
        assert!(!target.exists());
        sink.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "{\"a\":1}\n");
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_target() {
        let e = match RecordSink::open(Some(Path::new("/nonexistent-dir/x/out.jsonl"))) {
            Err(e) => e,
            Ok(_) => panic!("opening in a missing directory must fail"),
        };
        assert!(
            e.report()
                .starts_with("writing /nonexistent-dir/x/out.jsonl: ")
        );
    }
}

//! Output: the record and its serialisation, where records go (a buffered, locked
//! stdout, or a file replaced atomically), the run summary, and `tgclean check`.

pub mod check;
#[cfg(target_os = "linux")]
mod direct;
pub mod json;
pub mod record;
pub mod stats;
pub mod temps;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tempfile::{NamedTempFile, TempPath};

use crate::error::Error;
use temps::parent_dir;

/// Bytes written between two background syncs of an output file.
const SYNC_EVERY_BYTES: u64 = 32 << 20;

/// Passes bytes through to a file, hashing them when asked, so the output's SHA-256 is
/// known without reading it back. Only `--state` needs the hash; hashing a big output
/// costs about a tenth of a run, so other runs skip it.
///
/// On Linux the full blocks go around the page cache ([`direct`]). Otherwise (and where
/// the file system refuses that), every [`SYNC_EVERY_BYTES`] a background thread syncs
/// what has been written so far: the sync before the rename then only waits for the last
/// few megabytes, not for the whole output (about 0.2 s per 100 MB here).
struct HashingFile {
    file: NamedTempFile,
    hash: Option<Sha256>,
    unsynced: u64,
    /// [`SYNC_EVERY_BYTES`]; smaller in tests.
    sync_every: u64,
    syncing: Option<std::thread::JoinHandle<()>>,
    /// Where the full blocks go around the page cache, when the file system takes it
    /// ([`direct`]); the background syncs are then not needed.
    #[cfg(target_os = "linux")]
    direct: Option<direct::DirectWriter>,
}

impl HashingFile {
    fn new(file: NamedTempFile, hashed: bool) -> Self {
        HashingFile {
            #[cfg(target_os = "linux")]
            direct: direct::DirectWriter::open(file.path(), file.as_file()),
            file,
            hash: hashed.then(Sha256::new),
            unsynced: 0,
            sync_every: SYNC_EVERY_BYTES,
            syncing: None,
        }
    }

    /// Starts a sync of what is written so far, unless one is still running. Its outcome
    /// does not matter: the final sync reports any failure.
    fn sync_in_background(&mut self) {
        if self.syncing.as_ref().is_some_and(|s| !s.is_finished()) {
            return;
        }
        let Ok(clone) = self.file.as_file().try_clone() else {
            return;
        };
        self.unsynced = 0;
        self.syncing = std::thread::Builder::new()
            .name("tgclean-sync".into())
            .spawn(move || {
                let _ = clone.sync_data();
            })
            .ok();
    }

    /// Waits for a background sync, then syncs the whole file.
    fn sync_all(&mut self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(direct) = self.direct.take() {
            direct.finish()?;
        }
        if let Some(syncing) = self.syncing.take() {
            let _ = syncing.join();
        }
        self.file.as_file().sync_all()
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        if let Some(direct) = &mut self.direct {
            direct.write_all(buf)?;
            if let Some(hash) = &mut self.hash {
                hash.update(buf);
            }
            return Ok(buf.len());
        }
        let n = self.file.write(buf)?;
        if let Some(hash) = &mut self.hash {
            hash.update(&buf[..n]);
        }
        self.unsynced += n as u64;
        if self.unsynced >= self.sync_every {
            self.sync_in_background();
        }
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        if self.direct.is_some() {
            let mut n = 0;
            for buf in bufs {
                n += self.write(buf)?;
            }
            return Ok(n);
        }
        let n = self.file.write_vectored(bufs)?;
        if let Some(hash) = &mut self.hash {
            let mut left = n;
            for buf in bufs {
                let take = left.min(buf.len());
                hash.update(&buf[..take]);
                left -= take;
                if left == 0 {
                    break;
                }
            }
        }
        self.unsynced += n as u64;
        if self.unsynced >= self.sync_every {
            self.sync_in_background();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// [`RecordSink::write_lines`] on one kind of writer.
fn write_lines_to<W: Write>(w: &mut BufWriter<W>, lines: &[Vec<u8>]) -> io::Result<()> {
    let total: usize = lines.iter().map(Vec::len).sum();
    if total < w.capacity() {
        return lines.iter().try_for_each(|l| w.write_all(l));
    }
    w.flush()?;
    let mut bufs: Vec<io::IoSlice<'_>> = lines.iter().map(|l| io::IoSlice::new(l)).collect();
    write_all_vectored(w.get_mut(), &mut bufs)
}

/// Writes all of `bufs`, as `Write::write_all_vectored` (not yet stable) would.
fn write_all_vectored(w: &mut impl Write, mut bufs: &mut [io::IoSlice<'_>]) -> io::Result<()> {
    io::IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A finished output file, synced but not yet renamed over its target.
pub struct PendingFile {
    tmp: TempPath,
    target: PathBuf,
    /// SHA-256 of its content, when it was asked for.
    pub sha256: Option<[u8; 32]>,
}

impl PendingFile {
    /// Renames the file over its target and syncs the directory, so the rename survives
    /// a crash.
    pub fn install(self) -> Result<(), Error> {
        let err = |source| Error::Write {
            target: self.target.display().to_string(),
            source,
        };
        let tmp_path = self.tmp.to_path_buf();
        self.tmp.persist(&self.target).map_err(|e| err(e.error))?;
        temps::forget(&tmp_path);
        sync_dir(&self.target).map_err(err)
    }

    pub fn target(&self) -> &Path {
        &self.target
    }
}

/// A temporary file beside `target`. It gets the target's permissions when the target
/// exists, else `0666` less the umask, as a plain `create` would: the private `0600` of
/// temporary files would otherwise stick to the installed output. Stale temporaries of
/// the same target, left by runs that were killed, are removed first.
fn temp_beside(target: &Path) -> io::Result<NamedTempFile> {
    temps::remove_stale(target);
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        Some(
            std::fs::metadata(target)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(0o666),
        )
    };
    #[cfg(not(unix))]
    let mode = None;
    temps::create_beside(target, mode)
}

/// fsync of the directory holding `path`: makes a rename in it durable.
fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(parent_dir(path))?.sync_all()
}

/// Writes `bytes` to a synced temporary file beside `path`, ready to be installed.
pub fn prepare_file(path: &Path, bytes: &[u8]) -> Result<PendingFile, Error> {
    let mut pending = prepare_file_with(path, |out| out.write_all(bytes))?;
    pending.sha256 = Some(Sha256::digest(bytes).into());
    Ok(pending)
}

/// Lets `write` fill a synced temporary file beside `path` (through a buffer), ready to
/// be installed: for files too big to build in memory first.
pub fn prepare_file_with(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
) -> Result<PendingFile, Error> {
    let err = |source| Error::Write {
        target: path.display().to_string(),
        source,
    };
    let tmp = temp_beside(path).map_err(err)?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, tmp.as_file());
    write(&mut out).map_err(err)?;
    out.flush().map_err(err)?;
    drop(out);
    tmp.as_file().sync_all().map_err(err)?;
    Ok(PendingFile {
        tmp: tmp.into_temp_path(),
        target: path.to_path_buf(),
        sha256: None,
    })
}

const WRITE_BUFFER: usize = 256 * 1024;

/// Where a library caller takes the record lines of a run.
type LineCallback = Box<dyn FnMut(&[Vec<u8>]) -> io::Result<()> + Send>;

enum Sink {
    Stdout(BufWriter<io::StdoutLock<'static>>),
    /// A target that is not a regular file (`/dev/null`, a FIFO, a terminal): written
    /// straight, since renaming a file over it would replace the device itself.
    Device(BufWriter<File>),
    /// Records go to a temporary file beside the target, renamed over it at the end, so
    /// readers never see a half-written output.
    File {
        writer: Box<BufWriter<HashingFile>>,
        target: PathBuf,
    },
    /// Records handed to the caller as they are written (a library caller's stream).
    Lines(LineCallback),
}

/// The record writer of one run.
pub struct RecordSink {
    sink: Sink,
    name: String,
}

impl RecordSink {
    /// Opens stdout (`None`) or a temporary file in the target's directory.
    pub fn open(target: Option<&Path>) -> Result<Self, Error> {
        Self::open_with(target, false)
    }

    /// As [`RecordSink::open`], and a file's content is hashed as it is written
    /// ([`PendingFile::sha256`]).
    pub fn open_hashed(target: Option<&Path>) -> Result<Self, Error> {
        Self::open_with(target, true)
    }

    /// Hands each batch of record lines (each with its newline) to `lines`, in output
    /// order; an error it returns stops the run.
    pub fn to_caller(lines: impl FnMut(&[Vec<u8>]) -> io::Result<()> + Send + 'static) -> Self {
        RecordSink {
            sink: Sink::Lines(Box::new(lines)),
            name: "the record stream".into(),
        }
    }

    fn open_with(target: Option<&Path>, hashed: bool) -> Result<Self, Error> {
        match target {
            None => Ok(RecordSink {
                sink: Sink::Stdout(BufWriter::with_capacity(WRITE_BUFFER, io::stdout().lock())),
                name: "stdout".into(),
            }),
            Some(path) if is_special(path) => {
                let name = path.display().to_string();
                let file =
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(|source| Error::Write {
                            target: name.clone(),
                            source,
                        })?;
                Ok(RecordSink {
                    sink: Sink::Device(BufWriter::with_capacity(WRITE_BUFFER, file)),
                    name,
                })
            }
            Some(path) => {
                let name = path.display().to_string();
                let tmp = temp_beside(path).map_err(|source| Error::Write {
                    target: name.clone(),
                    source,
                })?;
                let file = HashingFile::new(tmp, hashed);
                Ok(RecordSink {
                    sink: Sink::File {
                        writer: Box::new(BufWriter::with_capacity(WRITE_BUFFER, file)),
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
        if let Sink::Lines(_) = &self.sink {
            let mut line = serde_json::to_vec(record).map_err(|e| self.error(e.into()))?;
            line.push(b'\n');
            return self.write_lines(&[line]);
        }
        let w: &mut dyn Write = match &mut self.sink {
            Sink::Stdout(w) => w,
            Sink::Device(w) => w,
            Sink::File { writer, .. } => writer,
            Sink::Lines(_) => return Ok(()),
        };
        let result = serde_json::to_writer(&mut *w, record)
            .map_err(io::Error::from)
            .and_then(|()| w.write_all(b"\n"));
        result.map_err(|e| self.error(e))
    }

    /// Writes already serialised lines (each with its newline). A batch bigger than the
    /// buffer goes out in vectored writes instead of being copied into the buffer.
    pub fn write_lines(&mut self, lines: &[Vec<u8>]) -> Result<(), Error> {
        let result = match &mut self.sink {
            Sink::Stdout(w) => write_lines_to(w, lines),
            Sink::Device(w) => write_lines_to(w, lines),
            Sink::File { writer, .. } => write_lines_to(writer, lines),
            Sink::Lines(f) => f(lines),
        };
        result.map_err(|e| self.error(e))
    }

    /// Flushes stdout, or syncs the file and returns it ready to be installed.
    pub fn finish(self) -> Result<Option<PendingFile>, Error> {
        let name = self.name;
        let err = |source| Error::Write {
            target: name.clone(),
            source,
        };
        match self.sink {
            Sink::Stdout(mut w) => w.flush().map(|()| None).map_err(err),
            Sink::Device(mut w) => w.flush().map(|()| None).map_err(err),
            Sink::Lines(_) => Ok(None),
            Sink::File { writer, target } => {
                let mut file = writer.into_inner().map_err(|e| err(e.into_error()))?;
                file.sync_all().map_err(err)?;
                Ok(Some(PendingFile {
                    tmp: file.file.into_temp_path(),
                    target,
                    sha256: file.hash.map(|h| h.finalize().into()),
                }))
            }
        }
    }

    /// Flushes and, for a file, syncs it and renames it over the target.
    pub fn commit(self) -> Result<(), Error> {
        match self.finish()? {
            Some(pending) => pending.install(),
            None => Ok(()),
        }
    }
}

/// Where serialised lines go: the run's record sink, or a shard's part.
pub trait LineSink {
    /// Writes lines, each already ending with its newline.
    fn write_lines(&mut self, lines: &[Vec<u8>]) -> Result<(), Error>;
}

impl LineSink for RecordSink {
    fn write_lines(&mut self, lines: &[Vec<u8>]) -> Result<(), Error> {
        RecordSink::write_lines(self, lines)
    }
}

/// A [`LineSink`] over any writer, named in errors as `name`.
pub struct WriterSink<W> {
    pub writer: W,
    pub name: String,
}

impl<W: Write> LineSink for WriterSink<W> {
    fn write_lines(&mut self, lines: &[Vec<u8>]) -> Result<(), Error> {
        lines
            .iter()
            .try_for_each(|line| self.writer.write_all(line))
            .map_err(|source| Error::Write {
                target: self.name.clone(),
                source,
            })
    }
}

/// Writes `bytes` to `path` atomically (synced temp file in the same directory + rename).
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if is_special(path) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(|source| Error::Write {
                target: path.display().to_string(),
                source,
            });
    }
    prepare_file(path, bytes)?.install()
}

/// Whether `path` exists and is not a regular file (a device, a FIFO, a socket): such a
/// target is written in place, never replaced.
fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_device_target_is_written_in_place_not_replaced() {
        let null = Path::new("/dev/null");
        let mut sink = RecordSink::open(Some(null)).unwrap();
        sink.write_record(&serde_json::json!({"a": 1})).unwrap();
        assert!(sink.finish().unwrap().is_none(), "nothing to rename");
        write_file_atomically(null, b"{}\n").unwrap();
        let kind = std::fs::metadata(null).unwrap().file_type();
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(&kind));
    }

    #[test]
    fn file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.jsonl");
        let mut sink = RecordSink::open_hashed(Some(&target)).unwrap();
        sink.write_record(&serde_json::json!({"a": 1})).unwrap();
        assert!(!target.exists());
        let pending = sink.finish().unwrap().unwrap();
        let streamed_hash = pending.sha256.unwrap();
        assert!(!target.exists());
        pending.install().unwrap();
        let landed = std::fs::read(&target).unwrap();
        assert_eq!(landed, b"{\"a\":1}\n");
        assert_eq!(streamed_hash, <[u8; 32]>::from(Sha256::digest(&landed)));
    }

    #[test]
    fn background_syncs_leave_the_content_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.jsonl");
        let mut sink = RecordSink::open_hashed(Some(&target)).unwrap();
        if let Sink::File { writer, .. } = &mut sink.sink {
            writer.get_mut().sync_every = 1000;
            // Through the page cache, where the background syncs happen.
            #[cfg(target_os = "linux")]
            {
                writer.get_mut().direct = None;
            }
        }
        // Batches of 1,000 lines are bigger than the buffer and go out vectored; the
        // small ones are buffered between them.
        lines_land_whole_and_hashed(sink, &target, 300, &[1, 1000, 3, 996]);
    }

    /// Writes batches of `counts` lines of a `text` field of `width` bytes to `sink`,
    /// installs the file at `target` and checks its bytes and the hash streamed.
    fn lines_land_whole_and_hashed(
        mut sink: RecordSink,
        target: &Path,
        width: usize,
        counts: &[usize],
    ) {
        let line = format!("{{\"text\":\"{}\"}}\n", "x".repeat(width));
        for &n in counts {
            sink.write_lines(&vec![line.clone().into_bytes(); n])
                .unwrap();
        }
        let pending = sink.finish().unwrap().unwrap();
        let hash = pending.sha256.unwrap();
        pending.install().unwrap();
        let landed = std::fs::read(target).unwrap();
        let lines: usize = counts.iter().sum();
        assert_eq!(landed.len(), line.len() * lines);
        assert!(landed == line.repeat(lines).as_bytes(), "content differs");
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&landed)));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn blocks_written_around_the_page_cache_land_whole_and_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.jsonl");
        let sink = RecordSink::open_hashed(Some(&target)).unwrap();
        let direct = match &sink.sink {
            Sink::File { writer, .. } => writer.get_ref().direct.is_some(),
            _ => false,
        };
        if !direct {
            let probe = dir.path().join("probe");
            std::fs::write(&probe, b"").unwrap();
            assert!(
                direct::refuses_direct(&probe),
                "direct writes open, yet the sink took none"
            );
        }
        // 16.6 MB: four full blocks, then a tail; batches vectored and buffered.
        lines_land_whole_and_hashed(sink, &target, 290, &[1, 30_000, 7, 25_000, 3]);
    }

    #[test]
    fn vectored_writes_go_on_after_short_writes() {
        /// Takes at most seven bytes per call, across slice boundaries.
        struct Trickle(Vec<u8>);
        impl Write for Trickle {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let n = buf.len().min(7);
                self.0.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                let mut n = 0;
                for b in bufs {
                    let take = b.len().min(7 - n);
                    self.0.extend_from_slice(&b[..take]);
                    n += take;
                }
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let lines: Vec<Vec<u8>> = (0..50)
            .map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let mut w = BufWriter::with_capacity(16, Trickle(Vec::new()));
        write_lines_to(&mut w, &lines[..1]).unwrap();
        write_lines_to(&mut w, &lines[1..]).unwrap();
        w.flush().unwrap();
        assert_eq!(w.get_ref().0, lines.concat());
    }

    #[test]
    fn only_a_hashed_sink_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = RecordSink::open(Some(&dir.path().join("out.jsonl"))).unwrap();
        sink.write_lines(&[b"{}\n".to_vec()]).unwrap();
        assert_eq!(sink.finish().unwrap().unwrap().sha256, None);
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

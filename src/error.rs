//! The library's error type: every variant names the file (and line) it is about.

use std::io;

/// An error met while reading inputs or writing outputs.
///
/// Display gives the location; the cause is the `source()`, so printing with anyhow's
/// `{:#}` (or [`Error::report`]) reads `path:line: what`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}")]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}:{line}")]
    Read {
        path: String,
        line: u64,
        #[source]
        source: io::Error,
    },
    #[error("{path}:{line}: {what}")]
    Parse {
        path: String,
        line: u64,
        what: String,
    },
    #[error("{path}:1: binary file (NUL bytes near the start), skipped")]
    Binary { path: String },
    #[error("{path}:1: {what}; skipped (pass --format to choose the format yourself)")]
    UnknownFormat { path: String, what: String },
    #[error("writing {target}")]
    Write {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: refused, left untouched")]
    State {
        path: String,
        #[source]
        source: crate::dedup::state::StateError,
    },
    /// A scan, decision or plan in the engine's binary form that cannot be read.
    #[error("{what}: not a readable tgclean {kind} ({why})")]
    Wire {
        what: String,
        kind: &'static str,
        why: String,
    },
    #[error("interrupted; nothing was committed")]
    Interrupted,
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The whole chain on one line: `path:line: cause: cause`.
    pub fn report(&self) -> String {
        let mut out = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            out.push_str(": ");
            out.push_str(&c.to_string());
            cause = c.source();
        }
        out
    }

    /// True when the error is a closed pipe on output, which is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Write { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_joins_location_and_cause() {
        let e = Error::Read {
            path: "dump.txt".into(),
            line: 7,
            source: io::Error::other("device gone"),
        };
        assert_eq!(e.report(), "dump.txt:7: device gone");
        let pipe = Error::Write {
            target: "stdout".into(),
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        };
        assert!(pipe.is_broken_pipe());
        assert!(!e.is_broken_pipe());
    }
}

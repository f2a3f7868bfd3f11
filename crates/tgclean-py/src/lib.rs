//! The Python module `tgclean._tgclean`: the library's `clean` and the SPEC §4 forms of a
//! text, with options given as Python keywords (the CLI's names in snake_case), the run
//! done with the GIL released, and failures raised as `tgclean.TgcleanError`.

mod phases;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use tgclean::Config;
use tgclean::config::{Format, InputSpec};
use tgclean::dedup::DedupMode;
use tgclean::output::record::FieldSet;
use tgclean::text::lang::LangDetector;
use tgclean::text::normalise as forms;

pyo3::create_exception!(
    _tgclean,
    TgcleanError,
    pyo3::exceptions::PyException,
    "A run that could not be done or finished (an output that cannot be written, a state file refused, an interruption); the message is the CLI's."
);

const FORMATS: [Format; 7] = [
    Format::Auto,
    Format::Text,
    Format::TgJson,
    Format::TgHtml,
    Format::TmeHtml,
    Format::TgDataset,
    Format::Jsonl,
];

fn bad(option: &str, value: &Bound<'_, PyAny>, expected: &str) -> PyErr {
    PyValueError::new_err(format!("{option}={value}: expected {expected}"))
}

fn word(option: &str, value: &Bound<'_, PyAny>, expected: &str) -> PyResult<String> {
    value
        .extract::<String>()
        .map_err(|_| bad(option, value, expected))
}

/// Sets one `clean` option of `config` from its Python keyword.
fn set_option(config: &mut Config, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
    match key {
        "format" => {
            let name = word(key, value, "a format name")?;
            config.format = FORMATS
                .into_iter()
                .find(|f| f.name() == name)
                .ok_or_else(|| {
                    bad(
                        key,
                        value,
                        "auto, text, tg-json, tg-html, tme-html, jsonl or tgdataset",
                    )
                })?;
        }
        "text_field" => config.text_field = Some(word(key, value, "a field name")?),
        "dedup" => {
            config.dedup = match word(key, value, "paragraph, post or off")?.as_str() {
                "paragraph" => DedupMode::Paragraph,
                "post" => DedupMode::Post,
                "off" => DedupMode::Off,
                _ => return Err(bad(key, value, "paragraph, post or off")),
            }
        }
        "keep_duplicates" => config.keep_duplicates = value.extract()?,
        "min_dedup_chars" => config.min_dedup_chars = value.extract()?,
        "boilerplate" => {
            config.boilerplate = match word(key, value, "channel or off")?.as_str() {
                "channel" => Some(config.boilerplate.unwrap_or_default()),
                "off" => None,
                _ => return Err(bad(key, value, "channel or off")),
            }
        }
        // Applied after every option is read (see `config_of`): the rule's thresholds
        // do not switch a rule turned off back on, whatever the keywords' order.
        "boilerplate_min_posts" | "boilerplate_min_share" => {}
        "near_dup" => {
            config.near_dup = if value.is_none() {
                None
            } else if let Ok(j) = value.extract::<f64>() {
                if !(j > 0.0 && j <= 1.0) {
                    return Err(bad(
                        key,
                        value,
                        "a threshold above 0, at most 1, or \"off\"",
                    ));
                }
                Some(j)
            } else if word(key, value, "a threshold or \"off\"")? == "off" {
                None
            } else {
                return Err(bad(
                    key,
                    value,
                    "a threshold above 0, at most 1, or \"off\"",
                ));
            }
        }
        "fields" => {
            let list = if let Ok(list) = value.downcast::<PyList>() {
                list.iter()
                    .map(|f| f.extract::<String>())
                    .collect::<PyResult<Vec<_>>>()?
                    .join(",")
            } else {
                word(
                    key,
                    value,
                    "a list of field names or a comma-separated string",
                )?
            };
            config.fields = FieldSet::parse(&list).map_err(PyValueError::new_err)?;
        }
        "lang" => {
            config.lang = match word(key, value, "fast, whatlang or off")?.as_str() {
                "fast" => LangDetector::Fast,
                "whatlang" => LangDetector::Whatlang,
                "off" => LangDetector::Off,
                _ => return Err(bad(key, value, "fast, whatlang or off")),
            }
        }
        "threads" => {
            let n: usize = value.extract()?;
            if n == 0 {
                return Err(bad(key, value, "at least 1"));
            }
            config.threads = n;
        }
        "state" => config.state = Some(value.extract::<PathBuf>()?),
        "explain" => config.explain = Some(value.extract::<PathBuf>()?),
        "max_post_bytes" => config.max_post_bytes = value.extract()?,
        "pass_memory" => config.pass_memory = value.extract::<usize>()?.saturating_mul(1 << 20),
        "fail_if_empty" => config.fail_if_empty = value.extract()?,
        "max_duplicate_ratio" => config.max_duplicate_ratio = value.extract()?,
        "lock_timeout" => {
            let secs: Option<f64> = value.extract()?;
            config.lock_timeout = secs.map(std::time::Duration::from_secs_f64);
        }
        "quiet" => config.quiet = value.extract()?,
        _ => {
            return Err(PyTypeError::new_err(format!(
                "clean() got an unexpected option {key:?}"
            )));
        }
    }
    Ok(())
}

/// Sets the channel boilerplate rule's thresholds from `options`, when the rule is on.
fn set_boilerplate_rule(config: &mut Config, options: &Bound<'_, PyDict>) -> PyResult<()> {
    let Some(rule) = config.boilerplate.as_mut() else {
        return Ok(());
    };
    if let Some(value) = options.get_item("boilerplate_min_posts")? {
        let n: u32 = value.extract()?;
        if n < 2 {
            return Err(bad("boilerplate_min_posts", &value, "at least 2"));
        }
        rule.min_posts = n;
    }
    if let Some(value) = options.get_item("boilerplate_min_share")? {
        let r: f64 = value.extract()?;
        if !(0.0..=1.0).contains(&r) {
            return Err(bad(
                "boilerplate_min_share",
                &value,
                "a ratio between 0 and 1",
            ));
        }
        rule.min_share = r;
    }
    Ok(())
}

/// The configuration of a run over `inputs` (paths; `-` is standard input) into `output`
/// with `options`; signals are left to Python.
pub(crate) fn config_of(
    inputs: Vec<PathBuf>,
    output: Option<PathBuf>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Config> {
    let mut config = Config {
        inputs: inputs
            .into_iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    InputSpec::Stdin
                } else {
                    InputSpec::Path(p)
                }
            })
            .collect(),
        output,
        threads: std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        quiet: true,
        // Ctrl-C stays Python's KeyboardInterrupt; the waiting thread passes it on.
        handle_signals: false,
        ..Config::default()
    };
    if let Some(options) = options {
        for (key, value) in options.iter() {
            set_option(&mut config, &key.extract::<String>()?, &value)?;
        }
        set_boilerplate_rule(&mut config, options)?;
    }
    Ok(config)
}

/// How often a thread waiting for a run looks at Python's signals.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Waits, the GIL released, for what `rx` brings; a Python signal (Ctrl-C) stops the run
/// and is raised.
fn wait_for<T: Send>(py: Python<'_>, rx: &Mutex<Receiver<T>>) -> PyResult<Option<T>> {
    loop {
        let next = py.allow_threads(|| match rx.lock() {
            Ok(rx) => rx.recv_timeout(SIGNAL_POLL),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        });
        match next {
            Ok(value) => return Ok(Some(value)),
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    tgclean::engine::interrupt::request();
                    return Err(e);
                }
            }
        }
    }
}

/// Runs `clean` over `inputs` (paths; `-` is standard input) into `output` (a path;
/// `None` writes to standard output) with `options`; returns the run summary as JSON.
#[pyfunction]
#[pyo3(signature = (inputs, output=None, options=None))]
fn clean(
    py: Python<'_>,
    inputs: Vec<PathBuf>,
    output: Option<PathBuf>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let config = config_of(inputs, output, options)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let _ = tx.send(tgclean::clean(&config));
    });
    let result = match wait_for(py, &Mutex::new(rx))? {
        Some(result) => result,
        None => {
            return Err(TgcleanError::new_err(
                "the run's thread ended without a result",
            ));
        }
    };
    let stats = result.map_err(|e| TgcleanError::new_err(with_causes(&e)))?;
    serde_json::to_string(&stats).map_err(|e| TgcleanError::new_err(e.to_string()))
}

/// The records of a run, as their JSON lines (bytes), while the run goes on in a thread
/// of its own. Dropping the stream early stops the run: nothing is committed.
#[pyclass(module = "tgclean._tgclean")]
struct RecordStream {
    batches: Option<Mutex<Receiver<Vec<Vec<u8>>>>>,
    pending: VecDeque<Vec<u8>>,
    run: Option<JoinHandle<Result<tgclean::RunStats, tgclean::Error>>>,
    stats: Option<String>,
}

/// Batches of records in flight between the run and the reader.
const STREAM_BATCHES: usize = 4;

#[pymethods]
impl RecordStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                return Ok(Some(PyBytes::new(py, &line)));
            }
            let Some(batches) = &self.batches else {
                return Ok(None);
            };
            match wait_for(py, batches) {
                Ok(Some(batch)) => self.pending.extend(batch),
                Ok(None) => {
                    self.batches = None;
                    let run = self.run.take().map(JoinHandle::join);
                    let stats = match run {
                        Some(Ok(Ok(stats))) => stats,
                        Some(Ok(Err(e))) => return Err(TgcleanError::new_err(with_causes(&e))),
                        _ => return Err(TgcleanError::new_err("the run's thread failed")),
                    };
                    self.stats = serde_json::to_string(&stats).ok();
                    return Ok(None);
                }
                Err(e) => {
                    // Ctrl-C: the run stops at its next batch; the stream ends here.
                    self.batches = None;
                    return Err(e);
                }
            }
        }
    }

    /// The run summary as JSON, once every record was read.
    #[getter]
    fn stats(&self) -> Option<String> {
        self.stats.clone()
    }
}

/// Starts `clean` over `inputs` with `options` and returns the stream of its records.
#[pyfunction]
#[pyo3(signature = (inputs, options=None))]
fn stream_records(
    inputs: Vec<PathBuf>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<RecordStream> {
    let config = config_of(inputs, None, options)?;
    let (tx, rx): (SyncSender<Vec<Vec<u8>>>, _) = std::sync::mpsc::sync_channel(STREAM_BATCHES);
    let run = std::thread::spawn(move || {
        tgclean::engine::clean_to(&config, move |lines| {
            tx.send(lines.to_vec()).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "the record stream was closed",
                )
            })
        })
    });
    Ok(RecordStream {
        batches: Some(Mutex::new(rx)),
        pending: VecDeque::new(),
        run: Some(run),
        stats: None,
    })
}

/// An error and its causes, `: `-separated, as the CLI prints them (anyhow's `{:#}`).
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The SPEC §4 forms of `text`: its display text and its key digest in hex (`None` when
/// the key has no letters or digits).
#[pyfunction]
fn normalise(text: &str) -> (String, Option<String>) {
    let display = forms::display_text(text).into_owned();
    let key = forms::key_text(&display);
    let hex = (!key.is_empty()).then(|| forms::hex16(&forms::digest(&key)));
    (display, hex)
}

/// The names of the fields a run with `options` writes, in record order.
#[pyfunction]
#[pyo3(signature = (options=None))]
fn record_fields(options: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<&'static str>> {
    let fields = config_of(Vec::new(), None, options)?.record_fields();
    Ok(tgclean::output::record::Field::ALL
        .into_iter()
        .filter(|f| fields.has(*f))
        .map(|f| f.name())
        .collect())
}

#[pymodule]
fn _tgclean(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(clean, m)?)?;
    m.add_function(wrap_pyfunction!(normalise, m)?)?;
    m.add_function(wrap_pyfunction!(stream_records, m)?)?;
    m.add_function(wrap_pyfunction!(record_fields, m)?)?;
    m.add_class::<RecordStream>()?;
    m.add_class::<phases::Run>()?;
    m.add_function(wrap_pyfunction!(phases::scan_shard, m)?)?;
    m.add_class::<phases::Decider>()?;
    m.add_function(wrap_pyfunction!(phases::emit_shard, m)?)?;
    m.add("TgcleanError", m.py().get_type::<TgcleanError>())?;
    Ok(())
}

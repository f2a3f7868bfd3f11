//! The Python module `tgclean._tgclean`: the library's `clean` and the SPEC §4 forms of a
//! text, with options given as Python keywords (the CLI's names in snake_case), the run
//! done with the GIL released, and failures raised as `tgclean.TgcleanError`.

use std::path::PathBuf;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use tgclean::Config;
use tgclean::config::{Format, InputSpec};
use tgclean::dedup::DedupMode;
use tgclean::dedup::boilerplate::BoilerplateRule;
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
        "boilerplate_min_posts" => {
            let n: u32 = value.extract()?;
            if n < 2 {
                return Err(bad(key, value, "at least 2"));
            }
            let rule = config
                .boilerplate
                .get_or_insert_with(BoilerplateRule::default);
            rule.min_posts = n;
        }
        "boilerplate_min_share" => {
            let r: f64 = value.extract()?;
            if !(0.0..=1.0).contains(&r) {
                return Err(bad(key, value, "a ratio between 0 and 1"));
            }
            let rule = config
                .boilerplate
                .get_or_insert_with(BoilerplateRule::default);
            rule.min_share = r;
        }
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
        ..Config::default()
    };
    if let Some(options) = options {
        for (key, value) in options.iter() {
            set_option(&mut config, &key.extract::<String>()?, &value)?;
        }
    }
    let stats = py
        .allow_threads(|| tgclean::clean(&config))
        .map_err(|e| TgcleanError::new_err(with_causes(&e)))?;
    serde_json::to_string(&stats).map_err(|e| TgcleanError::new_err(e.to_string()))
}

/// An error and its causes, `: `-separated, as the CLI prints them (anyhow's `{:#}`).
fn with_causes(e: &dyn std::error::Error) -> String {
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

#[pymodule]
fn _tgclean(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(clean, m)?)?;
    m.add_function(wrap_pyfunction!(normalise, m)?)?;
    m.add("TgcleanError", m.py().get_type::<TgcleanError>())?;
    Ok(())
}

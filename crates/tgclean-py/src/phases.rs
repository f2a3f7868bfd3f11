//! The engine's phases for a cluster (SPEC §9): a driver's run (`Run`: lock, plan, then
//! the shards' parts joined and committed) and the tasks' steps — scan a shard, decide
//! over all scans, emit a shard into a part — each taking and giving bytes (the engine's
//! wire form), so that Ray or any engine can move them between processes and machines.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use tgclean::Error;
use tgclean::dedup::Repeats;
use tgclean::dedup::state;
use tgclean::engine::{DrivenRun, wire};
use tgclean::output::stats::RunStats;
use tgclean::text::normalise::Digest16;

use crate::{TgcleanError, config_of, with_causes};

fn raise(e: &Error) -> PyErr {
    TgcleanError::new_err(with_causes(e))
}

fn shard_of(plan: &tgclean::engine::Plan, index: usize) -> PyResult<&tgclean::engine::Shard> {
    plan.shards
        .get(index)
        .ok_or_else(|| TgcleanError::new_err(format!("the plan has no shard {index}")))
}

/// A run driven from Python: started (state locked, inputs planned) when made, finished
/// by `finish`. Dropping it unfinished releases the lock and commits nothing.
#[pyclass(module = "tgclean._tgclean")]
pub struct Run {
    run: Option<DrivenRun>,
}

#[pymethods]
impl Run {
    #[new]
    #[pyo3(signature = (inputs, output, shards, options=None))]
    fn new(
        py: Python<'_>,
        inputs: Vec<PathBuf>,
        output: PathBuf,
        shards: usize,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Run> {
        let config = config_of(inputs, Some(output), options)?;
        let run = py
            .allow_threads(|| DrivenRun::start(config, shards.max(1)))
            .map_err(|e| raise(&e))?;
        Ok(Run { run: Some(run) })
    }

    /// The plan in its binary form, for the tasks.
    fn plan<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let run = self.started()?;
        let bytes = wire::encode_plan(run.plan()).map_err(|e| raise(&e))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Number of shards the inputs were cut into (at most the number asked for).
    #[getter]
    fn shards(&self) -> PyResult<usize> {
        Ok(self.started()?.plan().shards.len())
    }

    /// Finishes the run: the shards' parts (paths, in shard order) joined into the
    /// output, their stats (JSON) added up, `state` (bytes from `decide`) written;
    /// returns the run summary as JSON.
    #[pyo3(signature = (parts, explain_parts, stats, state=None))]
    fn finish(
        &mut self,
        py: Python<'_>,
        parts: Vec<PathBuf>,
        explain_parts: Vec<PathBuf>,
        stats: Vec<String>,
        state: Option<Bound<'_, PyBytes>>,
    ) -> PyResult<String> {
        let run = self
            .run
            .take()
            .ok_or_else(|| TgcleanError::new_err("the run was finished already"))?;
        let shard_stats = stats
            .iter()
            .enumerate()
            .map(|(i, s)| {
                serde_json::from_str::<RunStats>(s)
                    .map_err(|e| TgcleanError::new_err(format!("stats of shard {i}: {e}")))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let state = state
            .map(|bytes| state::decode(bytes.as_bytes()))
            .transpose()
            .map_err(|e| TgcleanError::new_err(format!("the decided state: {e}")))?;
        let summary = py
            .allow_threads(|| run.finish(&parts, &explain_parts, &shard_stats, state))
            .map_err(|e| raise(&e))?;
        serde_json::to_string(&summary).map_err(|e| TgcleanError::new_err(e.to_string()))
    }
}

impl Run {
    fn started(&self) -> PyResult<&DrivenRun> {
        self.run
            .as_ref()
            .ok_or_else(|| TgcleanError::new_err("the run was finished already"))
    }
}

/// Digests as two little-endian `int64` columns (bytes each): the first and last 8 bytes.
fn halves<'a>(digests: impl Iterator<Item = &'a Digest16>) -> (Vec<u8>, Vec<u8>) {
    let (mut hi, mut lo) = (Vec::new(), Vec::new());
    for d in digests {
        hi.extend_from_slice(&d[..8]);
        lo.extend_from_slice(&d[8..]);
    }
    (hi, lo)
}

/// The digests of two `int64` columns made by [`halves`].
fn from_halves(hi: &[u8], lo: &[u8]) -> PyResult<Vec<Digest16>> {
    if hi.len() != lo.len() || !hi.len().is_multiple_of(8) {
        return Err(TgcleanError::new_err(
            "digest columns of different or odd lengths",
        ));
    }
    Ok(hi
        .chunks_exact(8)
        .zip(lo.chunks_exact(8))
        .map(|(h, l)| {
            let mut d = [0u8; 16];
            d[..8].copy_from_slice(h);
            d[8..].copy_from_slice(l);
            d
        })
        .collect())
}

type Columns<'py> = (
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
);

/// Scans shard `shard` of `plan`: the scan (binary form), then the digests to count —
/// paragraph keys' and post ids' halves as little-endian `int64` bytes (`key_hi`,
/// `key_lo`, `id_hi`, `id_lo`).
#[pyfunction]
#[pyo3(signature = (plan, shard, options=None))]
pub fn scan_shard<'py>(
    py: Python<'py>,
    plan: &[u8],
    shard: usize,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Columns<'py>> {
    let config = config_of(Vec::new(), None, options)?;
    let plan = wire::decode_plan(plan).map_err(|e| raise(&e))?;
    let shard = shard_of(&plan, shard)?;
    let (bytes, keys, ids) = py
        .allow_threads(|| {
            let scan = tgclean::engine::scan(&config, &plan, shard)?;
            let keys = halves(
                scan.posts
                    .iter()
                    .flat_map(|p| p.paragraphs.iter().map(|q| &q.key)),
            );
            let ids = halves(scan.posts.iter().map(|p| &p.id));
            Ok::<_, Error>((wire::encode_scan(&scan)?, keys, ids))
        })
        .map_err(|e| raise(&e))?;
    Ok((
        PyBytes::new(py, &bytes),
        PyBytes::new(py, &keys.0),
        PyBytes::new(py, &keys.1),
        PyBytes::new(py, &ids.0),
        PyBytes::new(py, &ids.1),
    ))
}

/// The repeats' digest columns: `(key_hi, key_lo, id_hi, id_lo)`, little-endian `int64`.
type RepeatColumns<'py> = (
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
);

/// Each shard's decisions, and the state to write.
type Decided<'py> = (Vec<Bound<'py, PyBytes>>, Option<Bound<'py, PyBytes>>);

/// Decides over the scans of all shards (binary forms, in shard order) after the run's
/// `--state`, told the run's `repeats` when counted (`(key_hi, key_lo, id_hi, id_lo)`
/// bytes of the digests found more than once). Gives each shard's decisions (binary
/// form), then the state to write (bytes; `None` without `--state`).
#[pyfunction]
#[pyo3(signature = (scans, repeats=None, options=None))]
pub fn decide_shards<'py>(
    py: Python<'py>,
    scans: Vec<Bound<'py, PyBytes>>,
    repeats: Option<RepeatColumns<'py>>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Decided<'py>> {
    let config = config_of(Vec::new(), None, options)?;
    let repeats = repeats
        .map(|(kh, kl, ih, il)| {
            Ok::<_, PyErr>(Repeats {
                keys: from_halves(kh.as_bytes(), kl.as_bytes())?,
                ids: from_halves(ih.as_bytes(), il.as_bytes())?,
            })
        })
        .transpose()?;
    let scans: Vec<&[u8]> = scans.iter().map(|s| s.as_bytes()).collect();
    let (decided, state) = py
        .allow_threads(|| {
            let scans = scans
                .iter()
                .map(|s| wire::decode_scan(s))
                .collect::<Result<Vec<_>, _>>()?;
            let seen = match &config.state {
                Some(path) => Some(tgclean::engine::load_state(path)?),
                None => None,
            };
            let decisions =
                tgclean::engine::decide_expecting(&config, &scans, seen.as_ref(), repeats.as_ref());
            let shards = decisions
                .shards
                .iter()
                .map(wire::encode_decisions)
                .collect::<Result<Vec<_>, _>>()?;
            let mut next = decisions.state;
            let state = config.state.as_ref().map(|_| state::encode(&mut next));
            Ok::<_, Error>((shards, state))
        })
        .map_err(|e| raise(&e))?;
    Ok((
        decided.iter().map(|d| PyBytes::new(py, d)).collect(),
        state.map(|s| PyBytes::new(py, &s)),
    ))
}

/// Emits shard `shard` of `plan` with its `decisions` (binary form) into the file
/// `part` (explain lines into `explain_part`, with `explain` among the options); the
/// shard's stats as JSON.
#[pyfunction]
#[pyo3(signature = (plan, shard, decisions, part, explain_part=None, options=None))]
pub fn emit_shard(
    py: Python<'_>,
    plan: &[u8],
    shard: usize,
    decisions: &[u8],
    part: PathBuf,
    explain_part: Option<PathBuf>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let config = config_of(Vec::new(), None, options)?;
    let plan = wire::decode_plan(plan).map_err(|e| raise(&e))?;
    let shard = shard_of(&plan, shard)?;
    let decisions = wire::decode_decisions(decisions).map_err(|e| raise(&e))?;
    let explain_part = explain_part.filter(|_| config.explain.is_some());
    let stats = py
        .allow_threads(|| {
            tgclean::engine::emit_part(
                &config,
                &plan,
                shard,
                decisions,
                &part,
                explain_part.as_deref(),
            )
        })
        .map_err(|e| raise(&e))?;
    serde_json::to_string(&stats).map_err(|e| TgcleanError::new_err(e.to_string()))
}

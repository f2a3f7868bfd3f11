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

    /// Bytes of input the plan covers.
    #[getter]
    fn input_bytes(&self) -> PyResult<u64> {
        Ok(self.started()?.plan().bytes())
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

/// The decide phase, fed one scan at a time (binary forms, in shard order), so that a
/// task holds the seen-set and one scan, never all of them: with the channel
/// boilerplate rule, every scan goes through `count` first, then `learn`, then every
/// scan through `decide`.
#[pyclass(module = "tgclean._tgclean")]
pub struct Decider {
    decider: tgclean::engine::Decider,
    keeps_state: bool,
}

#[pymethods]
impl Decider {
    /// A decider for a run with `options` (its `state` is read here), told the run's
    /// `repeats` when they were counted, with room for `input_bytes` of input.
    #[new]
    #[pyo3(signature = (options=None, repeats=None, input_bytes=0))]
    fn new(
        py: Python<'_>,
        options: Option<&Bound<'_, PyDict>>,
        repeats: Option<RepeatColumns<'_>>,
        input_bytes: u64,
    ) -> PyResult<Decider> {
        let config = config_of(Vec::new(), None, options)?;
        let repeats = repeats
            .map(|(kh, kl, ih, il)| {
                Ok::<_, PyErr>(Repeats {
                    keys: from_halves(kh.as_bytes(), kl.as_bytes())?,
                    ids: from_halves(ih.as_bytes(), il.as_bytes())?,
                })
            })
            .transpose()?;
        let decider = py
            .allow_threads(|| {
                let seen = match &config.state {
                    Some(path) => Some(tgclean::engine::load_state(path)?),
                    None => None,
                };
                // A seen-set told the repeats holds those only: no room for every key.
                let room = if repeats.is_some() { 0 } else { input_bytes };
                let mut decider = tgclean::engine::Decider::new(&config, seen, room);
                if let Some(repeats) = &repeats {
                    decider.expect_repeats(repeats);
                }
                Ok::<_, Error>(decider)
            })
            .map_err(|e| raise(&e))?;
        Ok(Decider {
            decider,
            keeps_state: config.state.is_some(),
        })
    }

    /// Whether the run needs the first pass (`count` over every scan, then `learn`).
    #[getter]
    fn counts_templates(&self) -> bool {
        self.decider.counts_templates()
    }

    /// First pass: counts one scan's templates.
    fn count(&mut self, py: Python<'_>, scan: &[u8]) -> PyResult<()> {
        let decider = &mut self.decider;
        py.allow_threads(|| {
            let scan = wire::decode_scan(scan)?;
            decider.count_scan(&scan);
            Ok::<_, Error>(())
        })
        .map_err(|e| raise(&e))
    }

    /// Learns the channel boilerplate from what was counted.
    fn learn(&mut self, py: Python<'_>) {
        let decider = &mut self.decider;
        py.allow_threads(|| decider.learn());
    }

    /// Judges one scan's posts; its decisions in their binary form.
    fn decide<'py>(&mut self, py: Python<'py>, scan: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let decider = &mut self.decider;
        let bytes = py
            .allow_threads(|| {
                let scan = wire::decode_scan(scan)?;
                wire::encode_decisions(&decider.decide_scan(&scan))
            })
            .map_err(|e| raise(&e))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The state to write after the run (bytes), or `None` without `--state`. Call once:
    /// the keys loaded from the state are handed over.
    fn state<'py>(&mut self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        if !self.keeps_state {
            return None;
        }
        let bytes = py.allow_threads(|| state::encode(&mut self.decider.take_state()));
        Some(PyBytes::new(py, &bytes))
    }
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

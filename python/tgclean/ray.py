"""tgclean on a Ray cluster: the CLI's ``clean`` with its phases (SPEC §9) run as Ray
tasks, giving the CLI's bytes for any shard count and any number of workers.

* the driver locks ``state`` and cuts the inputs into shards (a plan);
* each shard is **scanned** in a task: per post its order, id, origin, paragraph keys and
  n-gram summaries (a few tens of bytes per paragraph), plus its digests as ``int64``
  columns;
* the digests are **counted** by a hash-partitioned aggregation: each scan task cuts its
  digests into one part per shard (by ``hi`` modulo the part count), and one task per
  part counts them with Arrow's hash aggregation (``group_by(kind, hi, lo)``, no join,
  nothing that depends on arrival order). The digests found more than once are all the
  seen-set of the decision needs to hold (without ``state``, which keeps every key).
  Ray Data's own ``groupby().count()`` gives the same table but was measured 10-30 times
  slower here (README, "On Ray");
* one task **decides** over the scans in shard order — the rules are judged in input
  order (first copy wins; a near-duplicate is compared with the posts kept before it);
* each shard is **emitted** in a task into a part file beside the output, and the
  driver joins the parts in shard order and commits output, state and summary as the
  CLI does (temporary files, then renames). A run that fails or is interrupted leaves
  no output, the old state untouched, and an error naming the shard.

Parts are written beside the output, so on a cluster of several machines the output's
folder (and the inputs) must be on storage every node sees.

>>> import tgclean.ray
>>> stats = tgclean.ray.clean(["dumps/"], "clean.jsonl", shards=8)   # doctest: +SKIP

From a shell: ``python -m tgclean.ray dumps/ -o clean.jsonl --shards 8``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import ray

from . import TgcleanError, _paths
from . import _tgclean

__all__ = ["clean", "main"]

#: Kinds of digest counted: a paragraph key, a post id.
_KEY, _ID = 0, 1


def _digest_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("kind", pa.int8()), ("hi", pa.int64()), ("lo", pa.int64())])


def _digest_parts(columns: list[tuple[int, bytes, bytes]], parts: int) -> list[Any]:
    """The digests (kind, little-endian halves) as `parts` Arrow tables (kind int8, hi
    int64, lo int64), a digest's part chosen by its `hi` modulo `parts`."""
    import numpy as np
    import pyarrow as pa

    kind = np.concatenate([np.full(len(hi) // 8, k, np.int8) for k, hi, _ in columns])
    hi = np.concatenate([np.frombuffer(h, "<i8") for _, h, _ in columns])
    lo = np.concatenate([np.frombuffer(lo_, "<i8") for _, _, lo_ in columns])
    part = hi.view(np.uint64) % np.uint64(parts)
    order = np.argsort(part, kind="stable")
    bounds = np.cumsum(np.bincount(part, minlength=parts))[:-1]
    schema = _digest_schema()
    return [
        pa.table([pa.array(k), pa.array(h), pa.array(l_)], schema=schema)
        for k, h, l_ in zip(
            np.split(kind[order], bounds), np.split(hi[order], bounds), np.split(lo[order], bounds)
        )
    ]


@ray.remote
def _scan(plan: bytes, shard: int, parts: int, options: dict[str, Any]) -> tuple[Any, ...]:
    """Scans a shard: its scan, then its digests cut into `parts` parts to count."""
    scan, key_hi, key_lo, id_hi, id_lo = _tgclean.scan_shard(plan, shard, options)
    return (scan, *_digest_parts([(_KEY, key_hi, key_lo), (_ID, id_hi, id_lo)], parts))


@ray.remote
def _count(*blocks: Any) -> Any:
    """The digests of one part (all shards' blocks of it) found more than once: Arrow's
    hash aggregation."""
    import pyarrow as pa
    import pyarrow.compute as pc

    counted = (
        pa.concat_tables([_digest_schema().empty_table(), *blocks])
        .group_by(["kind", "hi", "lo"], use_threads=False)
        .aggregate([([], "count_all")])
    )
    return counted.filter(pc.greater(counted["count_all"], 1)).select(["kind", "hi", "lo"])


@ray.remote
def _decide(
    options: dict[str, Any], input_bytes: int, scans: list[Any], counted: bool, *blocks: Any
) -> Iterator[bytes | None]:
    """Decides over the scans (refs, fetched one at a time, in shard order), told the
    repeats when they were `counted` (`blocks`: the count's tables). Yields each shard's
    decisions as it is judged, then the state to write."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = None
    if counted:
        repeats = pa.concat_tables([_digest_schema().empty_table(), *blocks])

        def col(kind: int, name: str) -> bytes:
            chosen = repeats.filter(pc.equal(repeats["kind"], kind))[name]
            return chosen.to_numpy().astype("<i8", copy=False).tobytes()

        columns = (col(_KEY, "hi"), col(_KEY, "lo"), col(_ID, "hi"), col(_ID, "lo"))
        del repeats
    decider = _tgclean.Decider(options, columns, input_bytes)
    del columns, blocks
    if decider.counts_templates:
        for scan in scans:
            decider.count(ray.get(scan))
        decider.learn()
    for scan in scans:
        yield decider.decide(ray.get(scan))
    yield decider.state()


@ray.remote
def _emit(
    plan: bytes,
    shard: int,
    decisions: bytes,
    part: str,
    explain_part: str | None,
    options: dict[str, Any],
) -> str:
    return _tgclean.emit_shard(plan, shard, decisions, part, explain_part, options)


def _count_with_ray_data(blocks: list[Any], partitions: int) -> list[Any]:
    """The same count as the `_count` tasks, by Ray Data: the blocks (refs to Arrow
    tables) of the digests found more than once."""
    import pyarrow.compute as pc
    import ray.data
    from ray.data.context import ShuffleStrategy

    def repeated(t: Any) -> Any:
        return (
            t.filter(pc.greater(t["count()"], 1))
            .select(["kind", "hi", "lo"])
            .cast(_digest_schema())
        )

    # The sort shuffle runs as tasks; the default hash shuffle starts aggregator actors
    # first (2.7-8.3 s on a run of the seeds, against 0.44 s). The caller's setting is
    # restored after.
    context = ray.data.DataContext.get_current()
    saved = context.shuffle_strategy
    context.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    try:
        counted = (
            ray.data.from_arrow_refs(blocks)
            .groupby(["kind", "hi", "lo"], num_partitions=partitions)
            .count()
        )
        return counted.map_batches(repeated, batch_format="pyarrow").materialize().to_arrow_refs()
    finally:
        context.shuffle_strategy = saved


def _get(refs: list[Any], what: str) -> list[Any]:
    """The values of `refs` (one per shard), a failed task raised as TgcleanError naming
    its shard."""
    values = []
    for shard, ref in enumerate(refs):
        try:
            values.append(ray.get(ref))
        except ray.exceptions.RayTaskError as e:
            cause = e.cause if getattr(e, "cause", None) is not None else e
            raise TgcleanError(f"shard {shard}: {what} failed: {cause}") from e
    return values


def clean(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    shards: int = 4,
    *,
    address: str | None = None,
    count_with: str = "tasks",
    **options: Any,
) -> dict[str, Any]:
    """Runs ``tgclean clean`` over ``inputs`` on Ray, cut into at most ``shards`` shards,
    into ``output``; returns the run summary, as :func:`tgclean.clean` does, with the same
    bytes and totals. Options are :func:`tgclean.clean`'s. Joins the Ray instance at
    ``address`` (as ``ray.init`` takes it) or the one already started, else starts a
    local one. ``threads`` (default 1) is each task's thread count and CPU request.
    ``count_with="ray-data"`` counts the repeats with Ray Data's ``groupby().count()``
    (streaming, spilling; slower here) instead of the scan tasks' own parts.
    """
    if shards < 1:
        raise ValueError(f"shards={shards}: expected at least 1")
    if count_with not in ("tasks", "ray-data"):
        raise ValueError(f"count_with={count_with!r}: expected 'tasks' or 'ray-data'")
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    elif address is not None:
        raise ValueError(f"address={address!r}: Ray is already started in this process")
    out = os.fspath(output)
    run = _tgclean.Run(_paths(inputs), out, shards, options)
    task = {**options, "threads": int(options.get("threads", 1))}
    cpus = {"num_cpus": task["threads"]}
    n = run.shards
    parts_dir = tempfile.mkdtemp(
        prefix=".tgclean-parts-", dir=os.path.dirname(os.path.abspath(out))
    )
    refs: list[Any] = []
    try:
        plan = ray.put(run.plan())
        # The digests are counted in one part per shard: the shuffle grows with the input.
        scanned = [
            _scan.options(num_returns=1 + n, **cpus).remote(plan, i, n, task) for i in range(n)
        ]
        scanned = [s if isinstance(s, list) else [s] for s in scanned]
        refs = [r for rs in scanned for r in rs]
        scans = [rs[0] for rs in scanned]
        _get(scans, "scan")
        # With a state every key is kept, so counting the repeats would buy nothing.
        counted = not task.get("state") and n > 0
        if not counted:
            repeats = []
        elif count_with == "ray-data":
            repeats = _count_with_ray_data([part for rs in scanned for part in rs[1:]], n)
        else:
            repeats = [_count.remote(*(rs[1 + p] for rs in scanned)) for p in range(n)]
        refs += repeats
        # Each shard is emitted as soon as its decisions are made.
        decided = _decide.options(num_returns="streaming", **cpus).remote(
            task, run.input_bytes, scans, counted, *repeats
        )
        parts = [os.path.join(parts_dir, f"part-{i:05}.jsonl") for i in range(n)]
        explains = [os.path.join(parts_dir, f"explain-{i:05}.jsonl") for i in range(n)]
        emitted = []
        state = None
        try:
            for i, ref in enumerate(decided):
                if i == n:
                    state = ray.get(ref)
                    break
                explain = explains[i] if task.get("explain") else None
                emitted.append(_emit.options(**cpus).remote(plan, i, ref, parts[i], explain, task))
                refs.append(emitted[-1])
        except ray.exceptions.RayTaskError as e:
            raise TgcleanError(f"shard {len(emitted)}: decide failed: {e.cause or e}") from e
        stats = _get(emitted, "emit")
        return json.loads(run.finish(parts, explains, stats, state))
    except BaseException:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise
    finally:
        del run
        shutil.rmtree(parts_dir, ignore_errors=True)


#: The CLI's `clean` options the runner takes: flag → (keyword, type; None for a switch).
_OPTIONS: dict[str, tuple[str, Any]] = {
    "--format": ("format", str),
    "--text-field": ("text_field", str),
    "--dedup": ("dedup", str),
    "--keep-duplicates": ("keep_duplicates", None),
    "--min-dedup-chars": ("min_dedup_chars", int),
    "--boilerplate": ("boilerplate", str),
    "--boilerplate-min-posts": ("boilerplate_min_posts", int),
    "--boilerplate-min-share": ("boilerplate_min_share", float),
    "--near-dup": ("near_dup", str),
    "--fields": ("fields", str),
    "--lang": ("lang", str),
    "--state": ("state", str),
    "--explain": ("explain", str),
    "--max-post-bytes": ("max_post_bytes", int),
    "--lock-timeout": ("lock_timeout", float),
}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tgclean.ray INPUT… -o OUT --shards N [--address A] [clean options]``."""
    parser = argparse.ArgumentParser(
        prog="python -m tgclean.ray",
        description="tgclean clean on Ray: the CLI's bytes, with its phases run as Ray tasks.",
    )
    parser.add_argument("inputs", nargs="+", help="files or folders (as the CLI takes them)")
    parser.add_argument("-o", "--output", required=True, help="the JSON Lines file to write")
    parser.add_argument("--shards", type=int, default=4, help="shards to cut the inputs into")
    parser.add_argument("--address", help="Ray cluster to join (as ray.init takes it)")
    parser.add_argument("--threads", type=int, default=1, help="threads (and CPUs) per task")
    parser.add_argument("--count-with", choices=["tasks", "ray-data"], default="tasks",
                        help="how the repeats are counted (default: the scan tasks' parts)")
    parser.add_argument("--stats", help="write the run summary (JSON) to this file")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    for flag, (_, kind) in _OPTIONS.items():
        if kind is None:
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, type=kind)
    args = parser.parse_args(argv)
    options = {
        key: getattr(args, key)
        for key, _ in _OPTIONS.values()
        if getattr(args, key) not in (None, False)
    }
    if "near_dup" in options and options["near_dup"] != "off":
        options["near_dup"] = float(options["near_dup"])
    try:
        stats = clean(
            args.inputs, args.output, args.shards, address=args.address,
            count_with=args.count_with, threads=args.threads, **options,
        )
    except (TgcleanError, ValueError) as e:
        print(f"tgclean: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tgclean: interrupted; nothing was written", file=sys.stderr)
        return 130
    for error in stats.get("errors", []):
        print(f"tgclean: {error}", file=sys.stderr)
    if args.stats:
        with open(args.stats, "w", encoding="utf-8") as f:
            f.write(json.dumps(stats) + "\n")
    if not args.quiet:
        print(
            f"tgclean: {stats['records_written']} records from {stats['posts_read']} posts "
            f"in {stats['seconds']:.2f} s",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

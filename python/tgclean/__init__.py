"""tgclean from Python: the CLI's ``clean`` (same options, in snake_case), its records as
dicts or as an Arrow stream, and the SPEC §4 forms of a text. The work is done in Rust
with the GIL released. ``tgclean.ray`` runs ``clean`` on a Ray cluster.

>>> import tgclean
>>> stats = tgclean.clean(["seeds"], "clean.jsonl", near_dup=0.8)   # doctest: +SKIP
>>> for record in tgclean.iter_records(["seeds"], fields=["id", "text"]):  # doctest: +SKIP
...     print(record["id"], record["text"][:40])
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

from ._tgclean import TgcleanError, normalise
from ._tgclean import clean as _clean
from ._tgclean import stream_records as _stream_records

__all__ = ["TgcleanError", "clean", "iter_records", "normalise", "read_arrow"]

PathLike = str | os.PathLike[str]


def _paths(inputs: PathLike | Sequence[PathLike]) -> list[str]:
    if isinstance(inputs, (str, os.PathLike)):
        return [os.fspath(inputs)]
    return [os.fspath(p) for p in inputs]


def clean(
    inputs: PathLike | Sequence[PathLike],
    output: PathLike | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Runs ``tgclean clean`` over ``inputs`` (files, directories, ``"-"`` for stdin) and
    writes the records to ``output`` (atomically; ``None``: standard output). Options are
    the CLI's, in snake_case: ``format``, ``dedup``, ``keep_duplicates``,
    ``min_dedup_chars``, ``boilerplate``, ``boilerplate_min_posts``,
    ``boilerplate_min_share``, ``near_dup`` (a float or ``"off"``), ``fields`` (a list or
    a comma-separated string), ``lang``, ``threads``, ``state``, ``explain``,
    ``text_field``, ``max_post_bytes``, ``pass_memory``, ``lock_timeout``, ``quiet``.

    Returns the run summary (``--stats``) as a dict. Inputs that cannot be read are listed
    in its ``"errors"`` as ``path:line: what`` and the run goes on; a run that cannot be
    done or finished raises :class:`TgcleanError` with the CLI's message, and leaves no
    partial output.
    """
    out = None if output is None else os.fspath(output)
    return json.loads(_clean(_paths(inputs), out, options))


def iter_records(
    inputs: PathLike | Sequence[PathLike], **options: Any
) -> Iterator[dict[str, Any]]:
    """The records ``clean`` would write for ``inputs`` (same options, no ``output``), one
    dict at a time, as the run makes them: the run goes on in a thread of its own, a few
    batches ahead of the reader. Leaving the loop early stops the run (a ``state`` given
    is then not written); Ctrl-C stops it too and raises ``KeyboardInterrupt``.
    """
    for line in _stream_records(_paths(inputs), options):
        yield json.loads(line)


def read_arrow(inputs: PathLike | Sequence[PathLike], **options: Any) -> Any:
    """The records ``clean`` would write for ``inputs`` (same options, no ``output``) as an
    Arrow stream (:class:`tgclean.arrow.RecordBatches`): one row per record, the schema's
    fields as typed columns. ``pyarrow.table(tgclean.read_arrow(...))``,
    ``polars.from_arrow`` and ``duckdb`` take it as it is. Needs ``pyarrow``.
    """
    from .arrow import RecordBatches

    return RecordBatches(_paths(inputs), options)

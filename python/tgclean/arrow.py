"""tgclean's records as Arrow: one row per record, the record schema's fields as typed
columns (structs and lists kept), streamed in record batches as the run makes them.

The run hands over batches of its JSON lines; Arrow's own JSON reader (C++, no Python
object per value) turns each batch into columns against the fixed schema below, which a
test checks against ``tgclean schema``. Needs ``pyarrow`` (``pip install "tgclean[arrow]"``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.json as pj

from . import _tgclean

_REASONS = [
    "repeated_in_post", "duplicate", "duplicate_post", "boilerplate", "label", "reactions",
    "header", "hashtags", "metadata", "timestamp", "no_text", "channel_boilerplate",
    "near_duplicate",
]

#: Every field of a record (schema 2), in record order, as an Arrow type.
FIELDS: dict[str, pa.DataType] = {
    "id": pa.string(),
    "schema": pa.int64(),
    "source": pa.struct(
        [("file", pa.string()), ("format", pa.string()), ("line", pa.int64()),
         ("message_id", pa.int64())]
    ),
    "channel": pa.string(),
    "forwarded_from": pa.string(),
    "date": pa.string(),
    "place": pa.string(),
    "title": pa.string(),
    "text": pa.string(),
    "paragraphs": pa.list_(
        pa.struct(
            [("kind", pa.string()), ("marker", pa.string()), ("t", pa.int64()),
             ("text", pa.string()), ("key", pa.string())]
        )
    ),
    "hashtags": pa.list_(pa.string()),
    "mentions": pa.list_(pa.string()),
    "links": pa.list_(pa.string()),
    "reactions": pa.list_(pa.struct([("emoji", pa.string()), ("count", pa.int64())])),
    "views": pa.int64(),
    "lang": pa.string(),
    # A run without a rule has no count for its reason: those columns are null.
    "dropped": pa.struct([(r, pa.int64()) for r in _REASONS]),
    "duplicate_of": pa.string(),
    "similarity": pa.float64(),
}

#: Records per Arrow batch.
BATCH_RECORDS = 8192


def schema_for(options: dict[str, Any]) -> pa.Schema:
    """The Arrow schema of the records a run with ``options`` writes (``fields`` and the
    near-duplicate rule decide which columns)."""
    return pa.schema([(name, FIELDS[name]) for name in _tgclean.record_fields(options)])


def _batches(
    inputs: list[str], options: dict[str, Any], schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    read = pj.ReadOptions(use_threads=False, block_size=1 << 26)
    lines: list[bytes] = []

    def flush() -> Iterator[pa.RecordBatch]:
        table = pj.read_json(io.BytesIO(b"".join(lines)), read_options=read,
                             parse_options=parse)
        lines.clear()
        yield from table.select(schema.names).cast(schema).to_batches()

    for line in _tgclean.stream_records(inputs, options):
        lines.append(line)
        if len(lines) == BATCH_RECORDS:
            yield from flush()
    if lines:
        yield from flush()


class RecordBatches:
    """The records of a run as an Arrow stream: pass it to ``pyarrow.table``,
    ``polars.from_arrow``, ``duckdb`` or anything that takes ``__arrow_c_stream__``; or
    iterate over its ``pyarrow.RecordBatch`` es. It can be consumed once."""

    def __init__(self, inputs: list[str], options: dict[str, Any]) -> None:
        self.schema = schema_for(options)
        self._reader = pa.RecordBatchReader.from_batches(
            self.schema, _batches(inputs, options, self.schema)
        )

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._reader.__arrow_c_stream__(requested_schema)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return iter(self._reader)

    def read_all(self) -> pa.Table:
        """Every record, as one table."""
        return self._reader.read_all()

"""The Arrow stream holds the CLI's records, one row each, typed as the record schema says."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
import tgclean  # noqa: E402
import tgclean.arrow  # noqa: E402

from test_api import INPUT_SETS, REALDATA, cli  # noqa: E402


def cli_records(tmp: Path, inputs: list[Path], args: list[str]) -> list[dict[str, Any]]:
    out = tmp / "cli.jsonl"
    subprocess.run([str(cli()), "clean", "-q", "-o", str(out), *args, *map(str, inputs)],
                   check=False)
    return [json.loads(line) for line in out.read_text().splitlines()]


def without_nulls_in_dropped(row: dict[str, Any]) -> dict[str, Any]:
    """A row as its record: a reason a run did not count is a null column in Arrow and
    absent from the record's `dropped`."""
    if row.get("dropped") is not None:
        row["dropped"] = {k: v for k, v in row["dropped"].items() if v is not None}
    return row


@pytest.mark.parametrize("name", sorted(INPUT_SETS) + ["realdata"])
@pytest.mark.parametrize(
    "options,args",
    [({}, []), ({"near_dup": "off", "boilerplate": "off"}, ["--near-dup", "off",
                                                           "--boilerplate", "off"]),
     ({"fields": ["text", "lang", "reactions"]}, ["--fields", "text,lang,reactions"])],
)
def test_arrow_rows_are_the_cli_records(tmp_path: Path, name: str, options: dict,
                                        args: list[str]) -> None:
    if name == "realdata":
        if not REALDATA.is_dir():
            pytest.skip("../shared/realdata is absent")
        inputs = [REALDATA]
    else:
        inputs = INPUT_SETS[name]
    expected = cli_records(tmp_path, inputs, args)
    assert expected
    table = pa.table(tgclean.read_arrow(inputs, **options))
    assert table.num_rows == len(expected)
    assert table.schema.names == list(expected[0])
    rows = [without_nulls_in_dropped(r) for r in table.to_pylist()]
    assert rows == expected


def test_batches_stream_and_an_empty_run_has_the_schema(tmp_path: Path) -> None:
    stream = tgclean.read_arrow(INPUT_SETS["seeds"], fields="text")
    batches = list(stream)
    assert sum(b.num_rows for b in batches) == 13
    assert all(b.schema.names == ["id", "text"] for b in batches)
    (tmp_path / "empty.txt").write_text("")
    empty = pa.table(tgclean.read_arrow([tmp_path / "empty.txt"]))
    assert empty.num_rows == 0
    assert empty.schema == tgclean.arrow.schema_for({})


def arrow_type_of(spec: dict[str, Any], defs: dict[str, Any]) -> str:
    """The kind of Arrow type a JSON Schema property maps to."""
    if "$ref" in spec:
        return arrow_type_of(defs[spec["$ref"].split("/")[-1]], defs)
    if "enum" in spec:
        return "int64" if all(isinstance(v, int) for v in spec["enum"]) else "string"
    if "oneOf" in spec:
        kinds = {arrow_type_of(s, defs) for s in spec["oneOf"]} - {"null"}
        assert len(kinds) == 1, spec
        return kinds.pop()
    kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    if kinds == ["null"]:
        return "null"
    kinds = [k for k in kinds if k != "null"]
    if kinds == ["integer", "string"]:
        # `source.message_id`: the schema also allows a string id; tgclean writes i64.
        kinds = ["integer"]
    assert len(kinds) == 1, spec
    return {"string": "string", "integer": "int64", "number": "double", "array": "list",
            "object": "struct"}[kinds[0]]


def check_type(name: str, spec: dict[str, Any], arrow: Any, defs: dict[str, Any]) -> None:
    kind = arrow_type_of(spec, defs)
    if kind == "list":
        assert pa.types.is_list(arrow), name
        items = spec.get("items") or defs[spec["$ref"].split("/")[-1]]["items"]
        check_type(name + "[]", items, arrow.value_type, defs)
    elif kind == "struct":
        assert pa.types.is_struct(arrow), name
        props = spec.get("properties")
        if props is None:  # `dropped`: counts by reason
            assert all(pa.types.is_int64(f.type) for f in arrow), name
            return
        assert [f.name for f in arrow] == list(props), name
        for f in arrow:
            check_type(f"{name}.{f.name}", props[f.name], f.type, defs)
    else:
        assert str(arrow) == kind, f"{name}: {arrow} for {kind}"


def test_the_arrow_schema_is_the_record_schema() -> None:
    schema = json.loads(subprocess.run([str(cli()), "schema"], capture_output=True,
                                       check=True).stdout)
    defs = schema.get("$defs", {})
    assert list(tgclean.arrow.FIELDS) == list(schema["properties"])
    for name, arrow in tgclean.arrow.FIELDS.items():
        check_type(name, schema["properties"][name], arrow, defs)

"""The Python API gives the CLI's bytes and summary, its errors as exceptions, and works
with the GIL released."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

import tgclean

ROOT = Path(__file__).resolve().parents[2]
REALDATA = ROOT.parent / "shared" / "realdata"


def cli() -> Path:
    """The release binary the CI job builds (`cargo build --release`), or TGCLEAN_BIN."""
    path = Path(os.environ.get("TGCLEAN_BIN", ROOT / "target" / "release" / "tgclean"))
    if not path.exists():
        pytest.skip(f"no tgclean binary at {path}: run `cargo build --release` first")
    return path


INPUT_SETS = {
    "seeds": [ROOT / "seeds"],
    "near-dup": [ROOT / "fixtures" / "near-dup" / "input.txt"],
    "formats": [ROOT / "fixtures" / "tg-json", ROOT / "fixtures" / "tme-html",
                ROOT / "fixtures" / "telethon-jsonl"],
}


def cli_run(tmp: Path, inputs: list[Path], options: dict) -> tuple[bytes, dict]:
    """The CLI's records and summary for `inputs` with `options` (keywords as flags)."""
    args = [str(cli()), "clean", "-q", "-o", str(tmp / "cli.jsonl"),
            "--stats", str(tmp / "cli-stats.json")]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    subprocess.run(args + [str(p) for p in inputs], check=False)
    return (tmp / "cli.jsonl").read_bytes(), json.loads((tmp / "cli-stats.json").read_text())


def without_timings(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if k not in ("seconds", "mb_per_s")}


@pytest.mark.parametrize("name", sorted(INPUT_SETS) + ["realdata", "generated"])
@pytest.mark.parametrize("options", [{}, {"keep_duplicates": True, "near_dup": "off"}])
def test_clean_writes_the_cli_bytes(
    tmp_path: Path, name: str, options: dict, request: pytest.FixtureRequest
) -> None:
    if name == "realdata":
        if not REALDATA.is_dir():
            pytest.skip("../shared/realdata is absent")
        inputs = [REALDATA]
    elif name == "generated":
        inputs = [request.getfixturevalue("generated_dump")]
    else:
        inputs = INPUT_SETS[name]
    expected, expected_stats = cli_run(tmp_path, inputs, options)
    stats = tgclean.clean(inputs, tmp_path / "py.jsonl", **options)
    assert (tmp_path / "py.jsonl").read_bytes() == expected
    assert without_timings(stats) == without_timings(expected_stats)
    assert stats["records_written"] > 0


def test_iter_records_streams_the_records_as_dicts() -> None:
    records = list(tgclean.iter_records(ROOT / "seeds", fields=["id", "text"]))
    stats = tgclean.clean([ROOT / "seeds"], os.devnull, fields="id,text")
    assert len(records) == stats["records_written"] == 13
    assert all(set(r) == {"id", "text"} for r in records)
    assert len({r["id"] for r in records}) == len(records)


def test_iter_records_gives_the_cli_records_and_stops_when_left(tmp_path: Path) -> None:
    inputs = [ROOT / "fixtures" / "near-dup" / "input.txt", ROOT / "seeds"]
    tgclean.clean(inputs, tmp_path / "all.jsonl", keep_duplicates=True)
    expected = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert list(tgclean.iter_records(inputs, keep_duplicates=True)) == expected
    # Leaving early stops the run and commits nothing: its state is not written.
    state = tmp_path / "s.state"
    for i, _ in enumerate(tgclean.iter_records(inputs, state=state)):
        if i == 1:
            break
    assert not state.exists()
    assert tgclean.clean(inputs, tmp_path / "again.jsonl", state=state)["records_written"] > 0


def test_ctrl_c_stops_a_run_with_keyboard_interrupt_and_commits_nothing(tmp_path: Path) -> None:
    dump = tmp_path / "big.txt"
    dump.write_text((ROOT / "seeds" / "004_938382bba7e78ea9.txt").read_text() * 3000)
    timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        tgclean.clean(dump, tmp_path / "o.jsonl", threads=1)
    timer.join()
    assert not (tmp_path / "o.jsonl").exists()
    # The next run is not taken for interrupted.
    assert tgclean.clean(ROOT / "seeds", tmp_path / "o.jsonl")["records_written"] == 13


def test_normalise_gives_the_display_text_and_the_key_digest() -> None:
    display, key = tgclean.normalise("  Hello,\u00a0WORLD!  ")
    assert display == "Hello, WORLD!"
    assert key == hashlib.sha256(b"helloworld").hexdigest()[:32]
    assert tgclean.normalise("🤝 …") == ("🤝 …", None)


def test_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="unexpected option"):
        tgclean.clean(ROOT / "seeds", tmp_path / "o.jsonl", dedupe="post")
    with pytest.raises(ValueError, match="near_dup"):
        tgclean.clean(ROOT / "seeds", tmp_path / "o.jsonl", near_dup=1.5)
    with pytest.raises(ValueError, match="not a record field"):
        tgclean.clean(ROOT / "seeds", tmp_path / "o.jsonl", fields=["id", "txt"])
    assert not (tmp_path / "o.jsonl").exists()


def test_boilerplate_thresholds_keep_a_rule_turned_off_off(tmp_path: Path) -> None:
    inputs = [ROOT / "fixtures" / "channel-footer" / "result.json"]
    off = tgclean.clean(inputs, tmp_path / "a.jsonl", boilerplate="off")
    both = tgclean.clean(inputs, tmp_path / "b.jsonl", boilerplate="off", boilerplate_min_posts=3)
    assert "channel_boilerplate" not in off["paragraphs"]["dropped"]
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    on = tgclean.clean(inputs, tmp_path / "c.jsonl", boilerplate_min_posts=3)
    assert on["paragraphs"]["dropped"]["channel_boilerplate"] > 0
    assert both["records_written"] == off["records_written"]


def test_a_refused_state_raises_with_the_cli_message(tmp_path: Path) -> None:
    state = tmp_path / "bad.state"
    state.write_bytes(b"not a state")
    with pytest.raises(tgclean.TgcleanError, match="not a tgclean state file"):
        tgclean.clean(ROOT / "seeds", tmp_path / "o.jsonl", state=state)
    assert state.read_bytes() == b"not a state"
    assert not (tmp_path / "o.jsonl").exists()


def test_unreadable_input_is_reported_with_its_line_and_the_run_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "A fine post that is long enough to be kept here."}\n{oops\n')
    stats = tgclean.clean([bad, ROOT / "seeds"], tmp_path / "o.jsonl")
    assert any(e.startswith(f"{bad}:2:") for e in stats["errors"]), stats["errors"]
    assert stats["records_written"] == 14


def test_a_state_round_trip_writes_nothing_the_second_time(tmp_path: Path) -> None:
    state = tmp_path / "seen.state"
    first = tgclean.clean(ROOT / "seeds", tmp_path / "1.jsonl", state=state)
    second = tgclean.clean(ROOT / "seeds", tmp_path / "2.jsonl", state=state)
    assert first["records_written"] == 13
    assert second["records_written"] == 0
    assert (tmp_path / "2.jsonl").read_bytes() == b""


def test_the_gil_is_released_while_a_run_works(tmp_path: Path) -> None:
    dump = tmp_path / "big.txt"
    seed = (ROOT / "seeds" / "004_938382bba7e78ea9.txt").read_text()
    dump.write_text(seed * 400)
    done = threading.Event()
    result: dict = {}

    def run() -> None:
        result.update(tgclean.clean(dump, tmp_path / "o.jsonl", threads=1))
        done.set()

    worker = threading.Thread(target=run)
    worker.start()
    ticks = 0
    while not done.is_set():
        ticks += 1
        done.wait(0.001)
    worker.join()
    assert result["posts_read"] > 0
    # With the GIL held for the whole run this thread could not have run at all.
    assert ticks > 5, ticks

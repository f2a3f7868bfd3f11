"""The Ray runner gives the CLI's bytes and totals for any shard count, keeps a state as
the CLI does, and commits nothing when a shard fails."""

from __future__ import annotations

import json
import os
import signal
import time
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
import tgclean  # noqa: E402
import tgclean.ray  # noqa: E402

from test_api import INPUT_SETS, REALDATA, ROOT, cli, cli_run, without_timings  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield
    ray.shutdown()


def inputs_of(name: str, generated: Path | None = None) -> list[Path]:
    if name == "realdata":
        if not REALDATA.is_dir():
            pytest.skip("../shared/realdata is absent")
        return [REALDATA]
    if name == "generated":
        assert generated is not None
        return [generated]
    return INPUT_SETS[name]


@pytest.mark.parametrize("name", sorted(INPUT_SETS) + ["realdata", "generated"])
@pytest.mark.parametrize("options", [{}, {"keep_duplicates": True, "explain": "EXPLAIN"}])
def test_ray_writes_the_cli_bytes_for_any_shard_count(
    tmp_path: Path, name: str, options: dict, generated_dump: Path
) -> None:
    inputs = inputs_of(name, generated_dump)
    cli_opts = {k: (tmp_path / "cli-explain.jsonl" if v == "EXPLAIN" else v)
                for k, v in options.items()}
    expected, expected_stats = cli_run(tmp_path, inputs, cli_opts)
    assert expected_stats["records_written"] > 0
    for shards in (1, 3, 8):
        out = tmp_path / f"ray-{shards}.jsonl"
        opts = {k: (tmp_path / f"ray-explain-{shards}.jsonl" if v == "EXPLAIN" else v)
                for k, v in options.items()}
        stats = tgclean.ray.clean(inputs, out, shards=shards, **opts)
        assert out.read_bytes() == expected, f"{shards} shards"
        assert without_timings(stats) == without_timings(expected_stats), f"{shards} shards"
        if "explain" in opts:
            assert opts["explain"].read_bytes() == cli_opts["explain"].read_bytes()
    assert not list(tmp_path.glob(".tgclean-parts-*")), "parts are removed"


def test_a_state_round_trip_on_ray_matches_the_cli(tmp_path: Path) -> None:
    inputs = [ROOT / "seeds", ROOT / "fixtures" / "near-dup" / "input.txt"]
    cli_state = {"state": tmp_path / "cli.state"}
    expected, expected_stats = cli_run(tmp_path, inputs, cli_state)
    first = tgclean.ray.clean(inputs, tmp_path / "one.jsonl", shards=3,
                              state=tmp_path / "ray.state")
    assert (tmp_path / "one.jsonl").read_bytes() == expected
    assert without_timings(first) == without_timings(expected_stats)
    # The same inputs again: everything was seen before, nothing is written, and the
    # totals are the CLI's second run's.
    again, again_stats = cli_run(tmp_path, inputs, cli_state)
    assert again == b"" and again_stats["records_written"] == 0
    second = tgclean.ray.clean(inputs, tmp_path / "two.jsonl", shards=8,
                               state=tmp_path / "ray.state")
    assert (tmp_path / "two.jsonl").read_bytes() == b""
    assert without_timings(second) == without_timings(again_stats)
    # And the CLI, given the Ray run's state, agrees that nothing is new.
    subprocess.run([str(cli()), "clean", "-q", "--state", str(tmp_path / "ray.state"),
                    "-o", str(tmp_path / "three.jsonl"), *map(str, inputs)], check=True)
    assert (tmp_path / "three.jsonl").read_bytes() == b""


def test_a_failing_shard_leaves_no_output_and_the_old_state(tmp_path: Path) -> None:
    state = tmp_path / "s.state"
    tgclean.ray.clean([ROOT / "fixtures" / "near-dup" / "input.txt"], tmp_path / "old.jsonl",
                      shards=2, state=state)
    before = state.read_bytes()
    out = tmp_path / "out.jsonl"
    # Shards of the plan are read again by emit: a seed file that vanishes after the scan
    # makes that shard's emit fail (an input that changed between the phases).
    copy = tmp_path / "seeds"
    copy.mkdir()
    for f in (ROOT / "seeds").iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    victim = sorted(copy.iterdir())[-1]
    real_emit = tgclean.ray._emit

    @ray.remote
    def emit_after_removing(plan, shard, decisions, part, explain_part, options):
        victim.unlink(missing_ok=True)
        return tgclean._tgclean.emit_shard(plan, shard, decisions, part, explain_part, options)

    tgclean.ray._emit = emit_after_removing
    try:
        with pytest.raises(tgclean.TgcleanError, match=r"shard \d+: emit failed"):
            tgclean.ray.clean([copy], out, shards=3, state=state)
    finally:
        tgclean.ray._emit = real_emit
    assert not out.exists()
    assert state.read_bytes() == before
    assert not list(tmp_path.glob(".tgclean-parts-*"))


def test_the_command_line_runner_writes_the_cli_bytes(tmp_path: Path) -> None:
    inputs = [ROOT / "fixtures" / "near-dup" / "input.txt"]
    expected, _ = cli_run(tmp_path, inputs, {"near_dup": 0.7})
    address = ray.get_runtime_context().gcs_address
    done = subprocess.run(
        [sys.executable, "-m", "tgclean.ray", *map(str, inputs), "-o", str(tmp_path / "m.jsonl"),
         "--shards", "3", "--near-dup", "0.7", "--address", address, "-q"],
        capture_output=True, text=True, env={**os.environ}, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m.jsonl").read_bytes() == expected
    bad = subprocess.run(
        [sys.executable, "-m", "tgclean.ray", str(tmp_path / "missing"), "-o",
         str(tmp_path / "x.jsonl"), "--near-dup", "2", "--address", address],
        capture_output=True, text=True, check=False,
    )
    assert bad.returncode == 1
    assert "near_dup=2.0: expected a threshold" in bad.stderr


def test_ctrl_c_leaves_no_output_and_the_old_state(tmp_path: Path, generated_dump: Path) -> None:
    state = tmp_path / "s.state"
    tgclean.ray.clean([ROOT / "seeds"], tmp_path / "old.jsonl", shards=2, state=state)
    before = state.read_bytes()
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(16):
        (inputs / f"dump{i}.txt").write_bytes(generated_dump.read_bytes())
    out = tmp_path / "out.jsonl"
    address = ray.get_runtime_context().gcs_address
    proc = subprocess.Popen(
        [sys.executable, "-m", "tgclean.ray", str(inputs), "-o", str(out), "--shards", "8",
         "--state", str(state), "--address", address],
        stderr=subprocess.PIPE, text=True,
        # Its own process group: Ctrl-C reaches only the runner, never this test session
        # (once, in CI, the whole session ended silently around this test).
        start_new_session=True,
    )
    # Interrupt once the run has started (its parts folder exists).
    for _ in range(600):
        if list(tmp_path.glob(".tgclean-parts-*")) or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted; nothing was written" in err
    assert not out.exists()
    assert state.read_bytes() == before
    assert not list(tmp_path.glob(".tgclean-parts-*"))


def test_counting_with_ray_data_gives_the_same_bytes(tmp_path: Path) -> None:
    inputs = [ROOT / "seeds", ROOT / "fixtures" / "near-dup" / "input.txt"]
    expected, expected_stats = cli_run(tmp_path, inputs, {"keep_duplicates": True})
    stats = tgclean.ray.clean(inputs, tmp_path / "rd.jsonl", shards=3, count_with="ray-data",
                              keep_duplicates=True)
    assert (tmp_path / "rd.jsonl").read_bytes() == expected
    assert without_timings(stats) == without_timings(expected_stats)
    with pytest.raises(ValueError, match="count_with"):
        tgclean.ray.clean(inputs, tmp_path / "x.jsonl", count_with="spark")

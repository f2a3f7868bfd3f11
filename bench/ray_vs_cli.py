#!/usr/bin/env python3
"""Whole-process comparison of `python -m tgclean.ray` (a local Ray instance started by
the run, as a user starts it) and the CLI on the same input, runs interleaved.

For each run: wall time, MB/s, and the peak memory of the whole process tree (the Ray
run's raylet, GCS, workers and object store included), sampled every 0.2 s as the sum
of each process's PSS (shared pages such as the object store counted once). Both write
to a real file; the outputs are compared byte for byte.

    python3 bench/ray_vs_cli.py DUMP [--runs 3] [--shards 8] [--python venv/bin/python]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak MiB of the process tree of `cmd`."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(pss_kib(p) for p in tree(proc.pid)))
        time.sleep(0.2)
    wall = time.monotonic() - started
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({proc.returncode}):\n{err}")
    return wall, peak / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--tgclean", default=str(ROOT / "target" / "release" / "tgclean"))
    args = ap.parse_args()
    mb = os.path.getsize(args.dump) / 1e6
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        cli_out, ray_out = Path(tmp) / "cli.jsonl", Path(tmp) / "ray.jsonl"
        cmds = {
            "cli": [args.tgclean, "clean", "-q", "--threads", "2", "-o", str(cli_out),
                    args.dump],
            "ray": [args.python, "-m", "tgclean.ray", "-q", "--shards", str(args.shards),
                    "-o", str(ray_out), args.dump],
        }
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
        for i in range(args.runs):
            for name, cmd in cmds.items():
                wall, peak = measure(cmd)
                runs[name].append((wall, peak))
                print(f"run {i + 1} {name}: {wall:.2f} s, {mb / wall:.1f} MB/s, "
                      f"peak {peak:.0f} MiB", flush=True)
        same = cli_out.read_bytes() == ray_out.read_bytes()
    print(f"\ninput {mb:.0f} MB; outputs identical: {same}")
    for name, rs in runs.items():
        walls = [w for w, _ in rs]
        peaks = [p for _, p in rs]
        print(f"{name}: wall median {statistics.median(walls):.2f} s "
              f"(runs {', '.join(f'{w:.2f}' for w in walls)}), "
              f"{mb / statistics.median(walls):.1f} MB/s, "
              f"peak median {statistics.median(peaks):.0f} MiB "
              f"(runs {', '.join(f'{p:.0f}' for p in peaks)})")
    if not same:
        sys.exit("the outputs differ")


if __name__ == "__main__":
    main()

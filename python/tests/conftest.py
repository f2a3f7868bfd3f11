"""Inputs shared by the Python tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def generated_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 MB dump from the project's generator, with channel footers and edited
    reposts, so that every rule has work to do."""
    gen = ROOT / "target" / "release" / "examples" / "gen_dump"
    if not gen.exists():
        pytest.skip(f"no generator at {gen}: run `cargo build --release --examples`")
    path = tmp_path_factory.mktemp("gen") / "dump.txt"
    with path.open("wb") as out:
        subprocess.run([str(gen), "--mb", "3", "--seed", "7", "--footers", "--edited"],
                       stdout=out, check=True)
    return path

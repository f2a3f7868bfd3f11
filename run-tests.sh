#!/usr/bin/env bash
# The project's tests: the Rust crate's (unit, golden, property, CLI), then the Python
# package's (built from this tree with `pip install .` into a fresh venv, as a user would)
# against the release binary.
set -euo pipefail
cd "$(dirname "$0")"
cargo test --locked
cargo build --locked --release --bins --example gen_dump
python3 -m venv .venv-test
.venv-test/bin/python -m pip install --quiet --upgrade pip
.venv-test/bin/python -m pip install --quiet ".[test]"
.venv-test/bin/python -m pytest -q python/tests

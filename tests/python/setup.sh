#!/usr/bin/env bash
# Builds gavel's Python package into a venv for the Python API and Spark
# tests:   bash tests/python/setup.sh
# Creates target/tools/py-venv with the pinned test dependencies (pandas,
# pytest, tqdm, pyspark with pyarrow; Java 17 runs Spark) and installs
# host/python into it with maturin. The extension is built with the dev
# profile, whose dependencies `cargo test` has already compiled; a user's
# `pip install ./host/python` builds the release profile. Cheap when
# nothing changed: the venv is kept and cargo rebuilds nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tools="$root/target/tools"
venv="$tools/py-venv"
packages=(maturin==1.16.0 pandas==3.1.1 pytest==9.2.0 tqdm==4.70.1 pyspark==4.3.0 pyarrow==26.0.1)
marker="$venv/.gavel-$(echo "${packages[*]}" | sha256sum | cut -c1-16)"

mkdir -p "$tools"
exec 9>"$tools/py-venv.lock"
flock 9
if [ ! -f "$marker" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
    touch "$marker"
fi
# maturin's build backend runs `maturin` from PATH.
PATH="$venv/bin:$PATH" MATURIN_PEP517_ARGS="--profile dev" \
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation \
    --force-reinstall --no-deps "$root/host/python"

#!/usr/bin/env bash
# Installs the MLflow tracking server the MLflow end-to-end test runs against:
#   bash tests/mlflow/setup.sh
# Creates target/tools/mlflow-venv with mlflow (the full package: the
# `mlflow server` command needs more than mlflow-skinny) pinned below. Does
# nothing when the pinned version is already installed, so it is cheap to
# call before every test run. Needs python3 (3.10+) with venv and access to
# PyPI (or wheels in /opt/wheels).
set -euo pipefail

MLFLOW_VERSION=3.17.2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tools="$root/target/tools"
venv="$tools/mlflow-venv"
marker="$venv/.gavel-mlflow-$MLFLOW_VERSION"

# Prints the output of a failed command and exits with its status.
run_quietly() {
    local log status=0
    log="$(mktemp)"
    "$@" >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        cat "$log" >&2
        rm -f "$log"
        echo "tests/mlflow/setup.sh: '$*' failed with status $status" >&2
        exit "$status"
    fi
    rm -f "$log"
}

[ -f "$marker" ] && [ -x "$venv/bin/mlflow" ] && exit 0

mkdir -p "$tools"
# One install at a time (tests and CI may call this together); the loser
# finds it done.
exec 9>"$tools/mlflow-venv.lock"
flock 9
[ -f "$marker" ] && [ -x "$venv/bin/mlflow" ] && exit 0

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
    echo "tests/mlflow/setup.sh: $python not found; the MLflow test needs Python 3.10+ with venv and pip" >&2
    exit 1
fi

find_links=()
[ -d /opt/wheels ] && find_links=(--find-links /opt/wheels)
[ -x "$venv/bin/pip" ] || run_quietly "$python" -m venv "$venv"
run_quietly "$venv/bin/pip" install --quiet --disable-pip-version-check "${find_links[@]}" \
    "mlflow==$MLFLOW_VERSION"
"$venv/bin/mlflow" --version >/dev/null
touch "$marker"

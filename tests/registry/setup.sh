#!/usr/bin/env bash
# Installs oras-py, the ORAS project's Python client, which the registry
# tests use to check that other OCI tools read what gavel pushes and that
# gavel pulls what they push:
#   bash tests/registry/setup.sh
# Creates target/tools/oras-venv with the version pinned below; does nothing
# when it is already installed. The registry itself is Debian's
# docker-registry package, which tests/run installs.
set -euo pipefail

ORAS_VERSION=0.2.43

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tools="$root/target/tools"
venv="$tools/oras-venv"
marker="$venv/.gavel-oras-$ORAS_VERSION"

[ -f "$marker" ] && exit 0
mkdir -p "$tools"
# Tests may call this together; the loser finds it done.
exec 9>"$tools/oras-venv.lock"
flock 9
[ -f "$marker" ] && exit 0

rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "oras==$ORAS_VERSION"
touch "$marker"

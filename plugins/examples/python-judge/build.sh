#!/usr/bin/env bash
# Builds the Python example judge into a component:
#   bash plugins/examples/python-judge/build.sh OUT.wasm
# Installs componentize-py (pinned) into target/tools/python on first use and
# rebuilds OUT.wasm only when a source file or the WIT is newer than it.
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:?usage: build.sh OUT.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
tools="$root/target/tools"
venv="$tools/python"
tool="$venv/bin/componentize-py"

# Prints the output of a failed command and exits with its status.
run_quietly() {
    local log status=0
    log="$(mktemp)"
    "$@" >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        cat "$log" >&2
        rm -f "$log"
        exit "$status"
    fi
    rm -f "$log"
}

up_to_date() {
    [ -f "$out" ] && [ -z "$(find "$here" "$root/wit" \( -name '*.py' -o -name '*.wit' -o -name build.sh \) \
        -newer "$out" -print -quit)" ]
}

up_to_date && exit 0

mkdir -p "$tools" "$(dirname "$out")"
# One build at a time (tests may build in parallel); the loser finds it done.
exec 9>"$tools/python-judge.lock"
flock 9
up_to_date && exit 0

if [ "$("$tool" --version 2>/dev/null)" != "componentize-py $COMPONENTIZE_PY_VERSION" ]; then
    find_links=()
    [ -d /opt/wheels ] && find_links=(--find-links /opt/wheels)
    [ -x "$venv/bin/pip" ] || run_quietly python3 -m venv "$venv"
    run_quietly "$venv/bin/pip" install --quiet --disable-pip-version-check "${find_links[@]}" \
        "componentize-py==$COMPONENTIZE_PY_VERSION"
fi

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# componentize-py writes __pycache__ into the app's directory (and bundles it
# into the next build), so build from a clean copy of the sources.
app="$tools/python-judge-src"
rm -rf "$app"
mkdir -p "$app"
cp "$here"/*.py "$app/"
cd "$app"
run_quietly env -u VIRTUAL_ENV "$tool" -d "$root/wit" -w plugin componentize app -p "$app" -o "$tmp"
mv -f "$tmp" "$out"

#!/usr/bin/env bash
# Builds the JavaScript example judge into a component:
#   bash plugins/examples/js-judge/build.sh OUT.wasm
# Installs the npm tools pinned by package-lock.json (componentize-js) into
# target/tools/js on first use and rebuilds OUT.wasm only when a source file or
# the WIT is newer than it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:?usage: build.sh OUT.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
tools="$root/target/tools"
prefix="$tools/js"
cli="$prefix/node_modules/@bytecodealliance/componentize-js/src/cli.js"

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
    [ -f "$out" ] && [ -z "$(find "$here" "$root/wit" -path "$here/node_modules" -prune -o \
        \( -name '*.js' -o -name '*.wit' -o -name build.sh -o -name 'package*.json' \) \
        -newer "$out" -print -quit)" ]
}

up_to_date && exit 0

mkdir -p "$tools" "$(dirname "$out")"
# One build at a time (tests may build in parallel); the loser finds it done.
exec 9>"$tools/js-judge.lock"
flock 9
up_to_date && exit 0

# `npm ci` from the committed lock file, into target/tools/js; again whenever
# package.json or the lock file changes (the stamp is written on success only).
stamp="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$prefix/.installed" 2>/dev/null)" != "$stamp" ] || [ ! -f "$cli" ]; then
    rm -rf "$prefix"
    mkdir -p "$prefix"
    cp "$here/package.json" "$here/package-lock.json" "$prefix/"
    run_quietly npm ci --prefix "$prefix" --no-audit --no-fund --loglevel=error
    echo "$stamp" >"$prefix/.installed"
fi

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# The judge needs no WASI at all: -d drops stdio, random, clocks and HTTP.
# Run from here so that app.js's relative imports resolve.
cd "$here"
run_quietly node "$cli" app.js -w "$root/wit" -n plugin -o "$tmp" \
    -d stdio random clocks http fetch-event
mv -f "$tmp" "$out"

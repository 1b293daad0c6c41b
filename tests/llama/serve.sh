#!/usr/bin/env bash
# Runs llama-cpp-python's OpenAI-compatible server in the foreground on
# 127.0.0.1:PORT (default 8765) with the model tests/llama/setup.sh installed.
# Usage: tests/llama/serve.sh [PORT] [extra llama_cpp.server flags...]
set -euo pipefail
cd "$(dirname "$0")/../.."  # repo root
PORT=${1:-8765}; shift || true
VENV=target/tools/llama-venv
[[ -f $VENV/model-path ]] || { echo "run tests/llama/setup.sh first" >&2; exit 1; }
# --n_ctx 4096: judge prompts (rubric + input + output) overflow the 2048 default.
# --model_alias: a stable id in /v1/models (answers echo the request's `model`,
# or give the .gguf path when it is absent).
# Loopback only. One request at a time is the server's default (a global lock).
# exec: the caller's PID is the server's own, so it can be stopped by that id.
exec "$VENV/bin/python" -m llama_cpp.server --model "$(cat "$VENV/model-path")" \
  --model_alias smollm2-135m-instruct --host 127.0.0.1 --port "$PORT" --n_ctx 4096 "$@"

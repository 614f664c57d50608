#!/usr/bin/env bash
# Starts the server for the end-to-end tests on a fresh, deterministic demo
# database (target/e2e/e2e.db). TOKENBOARD_BIN picks the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${TOKENBOARD_BIN:-target/debug/tokenboard}"
[[ "$bin" = /* ]] || bin="$PWD/${bin#../}"
rm -rf target/e2e && mkdir -p target/e2e
export TOKENBOARD_DATABASE_URL="sqlite://target/e2e/e2e.db"
export TOKENBOARD_DATA_DIR="target/e2e/data"
export TOKENBOARD_ADDR="127.0.0.1:${TOKENBOARD_E2E_PORT:-3100}"
"$bin" demo --teams 3 --users 300 --products 20 --days 400 --seed 11
exec "$bin" serve

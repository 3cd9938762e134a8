#!/usr/bin/env bash
# The main job on a fresh machine with Docker: build stack, make sure the
# example's image exists, bring up examples/web-api-db, and show it.
# Idempotent: running it again changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p stack-cli
scripts/test-image.sh
stack="$PWD/target/release/stack"
cd examples/web-api-db
"$stack" up -d --wait
"$stack" ps
echo
echo "web answers on http://127.0.0.1:8080/ ; stop it with: target/release/stack -f examples/web-api-db/stack.yaml down"

#!/usr/bin/env bash
# Run every test: unit tests, the stack-file corpus, the loader fuzz
# properties, the comparison with Docker Compose (skipped when no Compose
# v2 binary is found) and the end-to-end tests against the Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-image.sh
cargo test --workspace --locked "$@"

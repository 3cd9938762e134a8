#!/usr/bin/env bash
# Run every test: unit tests, the stack-file corpus, the loader fuzz
# properties, the comparison with Docker Compose (skipped when no Compose
# v2 binary is found) and the end-to-end tests against the Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-image.sh
# The end-to-end tests run the binary; build it first.
cargo build --locked -p stack-cli
cargo test --workspace --locked "$@"

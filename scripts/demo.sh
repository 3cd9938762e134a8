#!/usr/bin/env bash
# The main job on a fresh machine with Docker: build stack, put it on the
# PATH, make sure the example's image exists, bring up examples/web-api-db,
# and show it. Idempotent: running it again changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p stack-cli
# Installed where a bare `stack` finds it: /usr/local/bin when this user
# may write there, else ~/.local/bin.
bin_dir=/usr/local/bin
if [ ! -w "$bin_dir" ]; then
  bin_dir="$HOME/.local/bin"
  mkdir -p "$bin_dir"
fi
install -m 0755 target/release/stack "$bin_dir/stack"
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "note: $bin_dir is not on your PATH; add it to run a bare \`stack\`" ;;
esac
scripts/test-image.sh
stack="$bin_dir/stack"
cd examples/web-api-db
"$stack" up -d --wait
"$stack" ps
echo
echo "web answers on http://127.0.0.1:8080/ ; stop it with: (cd examples/web-api-db && stack down)"

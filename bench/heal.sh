#!/usr/bin/env bash
# How fast the agent heals, and how much memory it needs:
#  - time from a replica's death (docker kill) to its replacement running,
#    p50 and max over N kills (backoff 0), polled every 10 ms;
#  - the agent's resident memory while watching 100 containers.
#
#   bench/heal.sh [KILLS]     (default 20)
#   STACK_BIN=/path/to/stack bench/heal.sh   (that binary: before/after)
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-20}
if [ -z "${STACK_BIN:-}" ]; then
  cargo build --release --locked -q -p stack-cli
fi
scripts/test-image.sh
stack="${STACK_BIN:-$PWD/target/release/stack}"
dir=$(mktemp -d)
export STACK_STATE_DIR="$dir/state"
cleanup() {
  (cd "$dir" && "$stack" -p bench-heal down --timeout 1 --quiet >/dev/null 2>&1 || true)
  (cd "$dir" && "$stack" -p bench-rss -f rss.yaml down --timeout 1 --quiet >/dev/null 2>&1 || true)
  rm -rf "$dir"
}
trap cleanup EXIT
cd "$dir"

printf 'services:\n  w:\n    image: busybox:1.36\n    init: true\n    restart: always\n    command: [sleep, "3600"]\n    deploy: {replicas: 3}\n' >stack.yaml
"$stack" -p bench-heal up -d --no-agent --quiet
"$stack" -p bench-heal agent --backoff 0 >/dev/null
times=()
for _ in $(seq "$kills"); do
  before=$(docker inspect -f '{{.State.StartedAt}}' bench-heal-w-1)
  t0=$(date +%s%N)
  docker kill bench-heal-w-1 >/dev/null
  until [ "$(docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' bench-heal-w-1)" != "true $before" ] &&
        [ "$(docker inspect -f '{{.State.Running}}' bench-heal-w-1)" = true ]; do
    sleep 0.01
  done
  times+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
p50=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
max=$(echo "$sorted" | tail -1)
echo "heal: death -> running again: p50 ${p50} ms, max ${max} ms over $kills kills"

{
  echo "services:"
  for i in $(seq 1 100); do printf '  s%s:\n    image: busybox:1.36\n    init: true\n    command: [sleep, "3600"]\n' "$i"; done
} >rss.yaml
"$stack" -p bench-rss -f rss.yaml up -d --no-agent --quiet --parallel 16
pid=$("$stack" -p bench-rss -f rss.yaml agent | sed -n 's/.*pid \([0-9]*\).*/\1/p')
# Let it make its first passes over the 100 containers.
until grep -q "started" "$STACK_STATE_DIR/bench-rss.agent.log" 2>/dev/null; do sleep 0.1; done
sleep 2
echo "agent memory watching 100 containers: $(awk '/VmRSS/ {print $2 / 1024 " MB"}' "/proc/$pid/status")"

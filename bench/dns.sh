#!/usr/bin/env bash
# The stack's DNS against dnsmasq, side by side in one run, with the same
# load generator: dnsperf, 8 clients, 100 queries in flight, the same 30
# names (A records), on loopback. Prints each one's queries per second,
# average latency, loss and the server's CPU time per query, then the
# ratios (stack / dnsmasq: qps above 1.0, latency and CPU below 1.0 mean
# stack is ahead).
#
#   bench/dns.sh [SECONDS]          (default 10 s per run)
#   STACK_BIN=/path/to/stack bench/dns.sh   (that binary, not a fresh
#                                           release build: before/after)
#
# The stack's DNS is the agent's, for a real 30-service stack brought up
# by `stack up`; dnsmasq (Debian's dnsmasq-base) serves the same names and
# addresses from a hosts file. Needs dnsperf and dnsmasq: installed with
# apt when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
services=30
project=bench-dns

need() { command -v "$1" >/dev/null || { apt-get install -y -qq "$2" >/dev/null; }; }
need dnsperf dnsperf
need dnsmasq dnsmasq-base

if [ -z "${STACK_BIN:-}" ]; then
  cargo build --release --locked -q -p stack-cli
fi
scripts/test-image.sh
stack="${STACK_BIN:-$PWD/target/release/stack}"

dir=$(mktemp -d)
dnsmasq_pid=""
cleanup() {
  [ -n "$dnsmasq_pid" ] && kill "$dnsmasq_pid" 2>/dev/null || true
  (cd "$dir" && "$stack" -p "$project" down -t 1 >/dev/null 2>&1) || true
  rm -rf "$dir"
}
trap cleanup EXIT
{
  echo "services:"
  for i in $(seq -w 1 $services); do
    printf '  svc%s:\n    image: busybox:1.36\n    init: true\n    command: [sleep, "3600"]\n' "$i"
  done
} >"$dir/stack.yaml"

cd "$dir"
"$stack" -p "$project" up -d >/dev/null 2>&1
port=$("$stack" -p "$project" agent status 2>/dev/null | sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' | head -1)
port=${port:-5380}

# ask PORT NAME -> the first A record's address (a bare UDP query; no dig
# needed on the host).
ask() {
  python3 - "$1" "$2" <<'PY'
import socket, struct, sys
port, name = int(sys.argv[1]), sys.argv[2]
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(q, ("127.0.0.1", port)); r = s.recv(4096)
if struct.unpack(">H", r[6:8])[0] and r[-6:-4] == b"\0\4": print(socket.inet_ntoa(r[-4:]))
PY
}

# The names, and the addresses the stack's DNS gives them, for dnsmasq.
: >hosts
: >queries
for i in $(seq -w 1 $services); do
  name="svc$i.$project.stack"
  addr=""
  for _ in $(seq 50); do
    addr=$(ask "$port" "$name" 2>/dev/null || true)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { echo "the stack's DNS does not answer $name on 127.0.0.1:$port" >&2; exit 1; }
  echo "$addr $name" >>hosts
  echo "$name A" >>queries
done

dnsmasq_port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dnsmasq --keep-in-foreground --no-resolv --no-hosts --addn-hosts="$dir/hosts" \
  --listen-address=127.0.0.1 --bind-interfaces --port="$dnsmasq_port" \
  --cache-size=1000 --local-ttl=2 --pid-file= --user=root &
dnsmasq_pid=$!
for _ in $(seq 50); do
  [ "$(ask "$dnsmasq_port" svc01.$project.stack 2>/dev/null || true)" = "$(head -1 hosts | cut -d' ' -f1)" ] && break
  sleep 0.1
done

agent_pid=$("$stack" -p "$project" agent status 2>/dev/null | sed -n 's/.*pid \([0-9]*\).*/\1/p' | head -1)

# cpu PID -> the process's CPU time so far, in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# perf PORT PID -> "qps latency_ms lost cpu_us_per_query": dnsperf's
# figures, and the server's CPU time per answered query (with one load
# generator on a small machine, the generator may be what saturates:
# then CPU per query is what tells the servers apart).
perf() {
  local before after
  before=$(cpu "$2")
  dnsperf -s 127.0.0.1 -p "$1" -d queries -c 8 -q 100 -l "$seconds" 2>/dev/null >perf.out
  after=$(cpu "$2")
  awk -v ticks="$((after - before))" -v hz="$(getconf CLK_TCK)" '
    /Queries completed:/ {done=$3}
    /Queries lost:/ {lost=$3}
    /Queries per second:/ {qps=$4}
    /Average Latency/ {lat=$4 * 1000}
    END {printf "%.0f %.3f %s %.2f\n", qps, lat, lost, ticks / hz * 1e6 / done}' perf.out
}
read -r s_qps s_lat s_lost s_cpu < <(perf "$port" "$agent_pid")
read -r d_qps d_lat d_lost d_cpu < <(perf "$dnsmasq_port" "$dnsmasq_pid")

printf '%-10s %12s %14s %8s %16s\n' "" "queries/s" "avg latency" "lost" "CPU per query"
printf '%-10s %12s %11s ms %8s %13s us\n' stack "$s_qps" "$s_lat" "$s_lost" "$s_cpu" dnsmasq "$d_qps" "$d_lat" "$d_lost" "$d_cpu"
printf 'ratio stack/dnsmasq: qps %.2f, latency %.2f, CPU per query %.2f\n' \
  "$(echo "$s_qps / $d_qps" | bc -l)" "$(echo "$s_lat / $d_lat" | bc -l)" "$(echo "$s_cpu / $d_cpu" | bc -l)"

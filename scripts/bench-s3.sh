#!/usr/bin/env bash
# bench-s3.sh: the S3 benchmark of docs/s3-compatibility.md, on this machine.
#
# Starts a fresh single node, then a fresh three-node cluster (in a temp
# dir, on ports 19000-19130), and runs `minikv bench --s3` PUT and GET for
# each object size, printing one line per run. Usage:
#
#   scripts/bench-s3.sh [BIN] [SIZES] [CLIENTS] [DURATION]
#   scripts/bench-s3.sh bin/minikv "64KiB 1MiB" 8 10s
set -euo pipefail
BIN=${1:-bin/minikv}
SIZES=${2:-4KiB 64KiB 1MiB 16MiB}
CLIENTS=${3:-8}
DUR=${4:-10s}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

run() { # label endpoints access secret
	for size in $SIZES; do
		for op in put get; do
			line=$("$BIN" bench --s3 --endpoints "$2" --access-key "$3" --secret-key "$4" \
				--object-size "$size" --clients "$CLIENTS" --duration "$DUR" --op "$op" --quiet | grep -E '^(throughput|latency)' | tr '\n' ' ')
			printf '%-8s %-6s c=%-3s %-3s  %s\n' "$1" "$size" "$CLIENTS" "$op" "$line"
		done
	done
}

wait_ready() { # url
	for _ in $(seq 200); do curl -sf "$1/readyz" >/dev/null && return; sleep 0.1; done
	echo "bench-s3: $1 never became ready" >&2
	exit 1
}

echo "one node (data in $work/one)" >&2
"$BIN" serve --data-dir "$work/one" --listen-http 127.0.0.1:19070 --listen-rpc 127.0.0.1:19071 \
	--listen-raft 127.0.0.1:19072 --set listen.s3=127.0.0.1:19073 --set log_level=warn >"$work/one.log" 2>&1 &
pids+=($!)
wait_ready http://127.0.0.1:19070
run "1 node" http://127.0.0.1:19073 minikv minikv-secret-key
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()

echo "three nodes (data in $work/three)" >&2
"$BIN" cluster up --dir "$work/three" --nodes 3 --base-port 19100 >"$work/three.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do grep -q leads "$work/three.log" 2>/dev/null && break; sleep 0.1; done
eps=http://127.0.0.1:19103,http://127.0.0.1:19113,http://127.0.0.1:19123
field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$work/three/endpoints.json"; }
run "3 nodes" "$eps" "$(field s3_access_key)" "$(field s3_secret_key)"

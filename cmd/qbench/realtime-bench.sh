#!/usr/bin/env bash
# Runs one realtime scenario against a fresh hub-server and a fresh
# naive-server, back to back, server pinned to core 0 and generator to
# core 1, GOMAXPROCS=1 each (../shared/design/benchmarks.md). Prints the
# generator's JSON line for each server, prefixed with the server name.
#
#   cmd/qbench/realtime-bench.sh <qbench binary> <scenario> [scenario flags...]
#
# Servers listen on 127.0.0.1:7101 (hub) and :7102 (naive); every run is
# bounded by the scenario's own --duration.
set -euo pipefail
bin=$1; shift
scenario=$1; shift
for server in hub naive; do
  port=7101; [ "$server" = naive ] && port=7102
  GOMAXPROCS=1 taskset -c 0 "$bin" "$server-server" --addr "127.0.0.1:$port" >/dev/null &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/stats" >/dev/null && break; sleep 0.05; done
  # Measure only our own fresh server: a stale one on the port would be
  # measured without its /proc figures.
  kill -0 "$pid" 2>/dev/null || { echo "$server-server did not start" >&2; exit 1; }
  printf '%s\t' "$server"
  GOMAXPROCS=1 taskset -c 1 "$bin" "$scenario" --target "http://127.0.0.1:$port" --server-pid "$pid" --json "$@" || echo '{"failed":true}'
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
done

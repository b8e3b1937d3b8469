#!/usr/bin/env bash
# What one gateway process per core would buy at best, on this machine: pgbench -S -c 8 against one
# gateway process, alternating with -c 4 against each of two independent gateway processes at once
# (each with its own store and nothing shared: an upper bound for workers that would share state).
# Prints TPS and the gateways' CPU per transaction (all their threads) for each round, simple and
# prepared. Runs `bench/hold.ts` with HOLD_GATEWAYS=2 (gateway from dist/ when built).
#
#   bench/split-gateways.sh [rounds=3]     T=<seconds per run, default 10>
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-3}; T=${T:-10}
tmp=$(mktemp -d)
(HOLD_GATEWAYS=2 HOLD_ENV_FILE="$tmp/h.env" npx tsx bench/hold.ts >"$tmp/hold.log" 2>&1) &
holder=$!
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
cleanup() {
  # SIGINT to bench/hold.ts stops its gateways and PostgreSQL cleanly.
  local c
  for c in $(descendants "$holder"); do
    grep -q 'bench/hold.ts' "/proc/$c/cmdline" 2>/dev/null && kill -INT "$c" 2>/dev/null
  done
  wait "$holder" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 1 120); do grep -q "Ctrl-C stops" "$tmp/hold.log" 2>/dev/null && break; sleep 1; done
grep -q "Ctrl-C stops" "$tmp/hold.log" || { cat "$tmp/hold.log"; exit 1; }
mapfile -t pids < <(grep -oP 'gateway pid \K[0-9]+' "$tmp/hold.log")
ticks() { local s=0 p; for p in "$@"; do s=$((s + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$s"; }
hz=$(getconf CLK_TCK)
count() { grep -oP 'number of transactions actually processed: \K[0-9]+' "$1"; }
for mode in simple prepared; do
  for r in $(seq 1 "$R"); do
    a=$(ticks "${pids[@]}")
    env $(cat "$tmp/h.env") pgbench -n -S -M "$mode" -c 8 -j 2 -T "$T" >"$tmp/one.out" 2>/dev/null
    b=$(ticks "${pids[@]}")
    n1=$(count "$tmp/one.out")
    env $(cat "$tmp/h.env") pgbench -n -S -M "$mode" -c 4 -j 1 -T "$T" >"$tmp/two-a.out" 2>/dev/null &
    other=$!
    env $(cat "$tmp/h.env.2") pgbench -n -S -M "$mode" -c 4 -j 1 -T "$T" >"$tmp/two-b.out" 2>/dev/null
    wait "$other"
    c=$(ticks "${pids[@]}")
    n2=$(( $(count "$tmp/two-a.out") + $(count "$tmp/two-b.out") ))
    awk -v m="$mode" -v r="$r" -v n1="$n1" -v n2="$n2" -v t="$T" -v c1=$((b - a)) -v c2=$((c - b)) -v hz="$hz" 'BEGIN {
      printf "%s round %d: one gateway %.0f TPS, %.0f us/txn; two gateways %.0f TPS, %.0f us/txn (%.2f x)\n",
        m, r, n1 / t, c1 / hz / n1 * 1e6, n2 / t, c2 / hz / n2 * 1e6, n2 / n1 }'
  done
done

#!/usr/bin/env bash
# A/B of two gateway builds (or two environments) under pgbench, side by side in one run: each side is
# `bench/hold.ts` (its own embedded PostgreSQL and gateway process) from its own checkout, and pgbench
# runs alternate between them, so both see the same machine noise. Prints medians of TPS, latency and
# gateway CPU per transaction (all threads, and the main thread alone) for -c 8 simple, -c 8 prepared and -c 1 simple.
#
#   bench/ab-pgbench.sh <checkout A> <checkout B> [rounds=3]      (each checkout built: npm run build)
#   ENV_A='GATEHOUSE_FROM_SOURCE=1' ENV_B='NODE_OPTIONS=--max-semi-space-size=64' bench/ab-pgbench.sh . .
#   T=<seconds per run, default 5>   RUNS='c8s c8p c1' (default: all three; any of them)
set -euo pipefail
A=$(cd "$1" && pwd); B=$(cd "$2" && pwd); R=${3:-3}; T=${T:-5}
tmp=$(mktemp -d)
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
cleanup() {
  # SIGINT to each side's bench/hold.ts stops its gateway and PostgreSQL cleanly.
  local p holds=()
  for p in "${pids[@]}"; do
    for c in $(descendants "$p"); do grep -q 'bench/hold.ts' "/proc/$c/cmdline" 2>/dev/null && holds+=("$c"); done
  done
  ((${#holds[@]})) && kill -INT "${holds[@]}" 2>/dev/null || true
  for _ in $(seq 1 30); do
    alive=0
    for p in "${holds[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 1
  done
  rm -rf "$tmp"
}
pids=()
trap cleanup EXIT
start() { # side dir env
  (cd "$2" && env HOLD_ENV_FILE="$tmp/$1.env" ${3:-} npx tsx bench/hold.ts >"$tmp/$1.log" 2>&1) &
  pids+=($!)
}
start A "$A" "${ENV_A:-}"
start B "$B" "${ENV_B:-}"
for _ in $(seq 1 120); do
  grep -q "gateway pid" "$tmp/A.log" 2>/dev/null && grep -q "gateway pid" "$tmp/B.log" 2>/dev/null && break
  sleep 1
done
gw() { grep -oP 'gateway pid \K[0-9]+' "$tmp/$1.log"; }
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
# The main thread alone (its task id is the pid): the event loop is the gateway's serial part.
mcpu() { awk '{print $14+$15}' "/proc/$1/task/$1/stat"; }
run() { # side pgbench-args... → "tps latency_ms cpu_us"
  local side=$1 pid; shift; pid=$(gw "$side")
  local a b ma mb n out
  a=$(cpu "$pid"); ma=$(mcpu "$pid")
  out=$(env $(cat "$tmp/$side.env") pgbench -n -S "$@" 2>&1)
  b=$(cpu "$pid"); mb=$(mcpu "$pid")
  n=$(grep -oP 'actually processed: \K[0-9]+' <<<"$out")
  echo "$(grep -oP 'tps = \K[0-9]+' <<<"$out") $(grep -oP 'latency average = \K[0-9.]+' <<<"$out") $(((b - a) * 10000000 / n / 1000)) $(((mb - ma) * 10000000 / n / 1000))"
}
median() { sort -n -k"$1" | awk -v k="$1" '{v[NR]=$k} END {print v[int((NR+1)/2)]}'; }
for s in A B; do run $s -c 8 -j 2 -T 3 >/dev/null; done # warm up
RUNS=${RUNS:-c8s c8p c1}
for m in "c8s:c8 simple:-c 8 -j 2" "c8p:c8 prepared:-M prepared -c 8 -j 2" "c1:c1 simple:-c 1"; do
  key=${m%%:*}; m=${m#*:}; name=${m%%:*}; args=${m#*:}
  [[ " $RUNS " == *" $key "* ]] || continue
  : >"$tmp/A.runs"; : >"$tmp/B.runs"
  for _ in $(seq 1 "$R"); do
    for s in A B; do run $s $args -T "$T" >>"$tmp/$s.runs"; done
  done
  for s in A B; do
    printf '%-12s %s: %6s tps  %s ms  %s µs/txn (main thread %s)  (TPS of each run: %s)\n' "$name" "$s" \
      "$(median 1 <"$tmp/$s.runs")" "$(median 2 <"$tmp/$s.runs")" "$(median 3 <"$tmp/$s.runs")" \
      "$(median 4 <"$tmp/$s.runs")" \
      "$(cut -d' ' -f1 "$tmp/$s.runs" | tr '\n' ' ')"
  done
done

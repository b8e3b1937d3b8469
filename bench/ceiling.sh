#!/usr/bin/env bash
# How far a Node gateway gets on this machine at all, side by side in one run: pgbench -S -c 8 -j 2
# against PgBouncer (session mode), a bare Node relay (bench/bare-relay.mjs: relays, nothing else),
# the gateway without its record (HOLD_WITHOUT_RECORD=1: a floor, never a result) and the gateway,
# in alternating rounds, simple and prepared; prints each run and the medians as × PgBouncer
# (docs/performance.md, "What 0.5 × leaves the gateway"). Two holds (bench/hold.ts), each with its
# own embedded PostgreSQL; PgBouncer and the relay (HOLD_PGBOUNCER, HOLD_BARE_RELAY) front the first one's.
#
#   bench/ceiling.sh [rounds=3]     T=<seconds per run, default 6>     (needs npm run build, pgbouncer)
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-3}; T=${T:-6}
command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed (apt-get install pgbouncer)"; exit 1; }
tmp=$(mktemp -d)
(HOLD_BARE_RELAY=1 HOLD_PGBOUNCER=1 HOLD_ENV_FILE="$tmp/a.env" npx tsx bench/hold.ts >"$tmp/a.log" 2>&1) &
holders=($!)
(HOLD_WITHOUT_RECORD=1 HOLD_ENV_FILE="$tmp/b.env" npx tsx bench/hold.ts >"$tmp/b.log" 2>&1) &
holders+=($!)
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
cleanup() {
  # SIGINT to bench/hold.ts stops its gateway, relay, PgBouncer and PostgreSQL cleanly.
  local h c
  for h in "${holders[@]}"; do
    for c in $(descendants "$h"); do
      grep -q 'bench/hold.ts' "/proc/$c/cmdline" 2>/dev/null && kill -INT "$c" 2>/dev/null
    done
  done
  wait "${holders[@]}" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
for side in a b; do
  for _ in $(seq 1 120); do grep -q "Ctrl-C stops" "$tmp/$side.log" 2>/dev/null && break; sleep 1; done
  grep -q "Ctrl-C stops" "$tmp/$side.log" || { cat "$tmp/$side.log"; exit 1; }
done

names=(pgbouncer relay floor gateway)
declare -A envs=([pgbouncer]="$tmp/a.env.pgbouncer" [relay]="$tmp/a.env.relay" [floor]="$tmp/b.env" [gateway]="$tmp/a.env")
# A run that fails stops the script: it must not show up as a figure.
tps() {
  env $(cat "${envs[$1]}") pgbench -n -S -M "$2" -c 8 -j 2 -T "$3" 2>&1 | grep -oP 'tps = \K[0-9]+' ||
    { echo "pgbench against $1 ($2) failed" >&2; return 1; }
}
for n in "${names[@]}"; do tps "$n" simple 2 >/dev/null; done # warm up
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for mode in simple prepared; do
  for n in "${names[@]}"; do : >"$tmp/$mode.$n"; done
  for r in $(seq 1 "$R"); do
    for n in "${names[@]}"; do
      x=$(tps "$n" "$mode" "$T")
      echo "$x" >>"$tmp/$mode.$n"
      echo "$mode round $r $n $x TPS"
    done
  done
done
echo
echo "pgbench -S -c 8 -j 2 -T $T, medians of $R rounds"
for mode in simple prepared; do
  b=$(median <"$tmp/$mode.pgbouncer")
  for n in "${names[@]}"; do
    m=$(median <"$tmp/$mode.$n")
    awk -v mode="$mode" -v n="$n" -v m="$m" -v b="$b" \
      'BEGIN { printf "  %-8s %-10s %7d TPS  %.2f × PgBouncer\n", mode, n, m, (b > 0 ? m / b : 0) }'
  done
done

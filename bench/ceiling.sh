#!/usr/bin/env bash
# How far a Node gateway gets on this machine at all, side by side in one run: pgbench -S -c 8 -j 2
# against PgBouncer (session mode), a bare Node relay (bench/bare-relay.mjs: relays, nothing else),
# the gateway without its record (HOLD_WITHOUT_RECORD=1: a floor, never a result) and the gateway,
# in alternating rounds, simple and prepared; prints each run and the medians as × PgBouncer
# (docs/performance.md, "What 0.5 × leaves the gateway"). Two holds (bench/hold.ts), each with its
# own embedded PostgreSQL; PgBouncer and the relay front the first one's.
#
#   bench/ceiling.sh [rounds=3]     T=<seconds per run, default 6>     (needs npm run build, pgbouncer)
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-3}; T=${T:-6}
command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed (apt-get install pgbouncer)"; exit 1; }
tmp=$(mktemp -d)
chmod 755 "$tmp"
(HOLD_BARE_RELAY=1 HOLD_ENV_FILE="$tmp/a.env" npx tsx bench/hold.ts >"$tmp/a.log" 2>&1) &
holders=($!)
(HOLD_WITHOUT_RECORD=1 HOLD_ENV_FILE="$tmp/b.env" npx tsx bench/hold.ts >"$tmp/b.log" 2>&1) &
holders+=($!)
bouncer=
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
cleanup() {
  [[ -n "$bouncer" ]] && kill -INT "$bouncer" 2>/dev/null || true
  # SIGINT to bench/hold.ts stops its gateway, relay and PostgreSQL cleanly.
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

# PgBouncer on the first hold's PostgreSQL, as `npm run bench` configures it.
read -r pgport password < <(sed -E 's/.*PGPORT=([0-9]+).*PGPASSWORD=([^ ]+).*/\1 \2/' "$tmp/a.env.direct")
bport=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
# The files with the bench PostgreSQL's password are the user's alone (bench/hold.ts writes its own so).
(umask 077 && printf '"postgres" "%s"\n' "$password" >"$tmp/userlist.txt")
printf '[databases]\npostgres = host=127.0.0.1 port=%s dbname=postgres\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = %s\nunix_socket_dir =\nauth_type = plain\nauth_file = %s/userlist.txt\npool_mode = session\nmax_client_conn = 200\ndefault_pool_size = 50\n' \
  "$pgport" "$bport" "$tmp" >"$tmp/pgbouncer.ini"
# The password file is PgBouncer's user's alone (as root, PgBouncer runs as postgres); the ini holds
# no secret.
chmod 644 "$tmp/pgbouncer.ini"
if [[ $(id -u) == 0 ]]; then
  chown postgres "$tmp/userlist.txt"
  pgbouncer -u postgres "$tmp/pgbouncer.ini" >/dev/null 2>&1 &
else pgbouncer "$tmp/pgbouncer.ini" >/dev/null 2>&1 &
fi
bouncer=$!
for _ in $(seq 1 50); do (echo >"/dev/tcp/127.0.0.1/$bport") 2>/dev/null && break; sleep 0.1; done
(umask 077 && sed "s/PGPORT=$pgport/PGPORT=$bport/" "$tmp/a.env.direct" >"$tmp/pgbouncer.env")

names=(pgbouncer relay floor gateway)
declare -A envs=([pgbouncer]="$tmp/pgbouncer.env" [relay]="$tmp/a.env.relay" [floor]="$tmp/b.env" [gateway]="$tmp/a.env")
tps() { env $(cat "${envs[$1]}") pgbench -n -S -M "$2" -c 8 -j 2 -T "$3" 2>&1 | grep -oP 'tps = \K[0-9]+' || echo 0; }
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

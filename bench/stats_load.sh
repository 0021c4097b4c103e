#!/usr/bin/env bash
# Load on /stats against load on /healthz: gunicorn on 127.0.0.1, wrk with 64 connections, 30 days
# of synthetic history in the database. Figure: p99(/stats) / p99(/healthz), measured in the same
# run on the same server. Goal <= 2: /stats reads pre-aggregated rows through indexes and is cached
# for a few seconds, so its cost must not grow with history.
#
# Database: BENCH_DATABASE_URL if set; else a fresh PostgreSQL database on 127.0.0.1:5432 when one
# answers (dropped afterwards); else a SQLite file in a temp dir. Needs Debian's `wrk`.
# Knobs: BENCH_SECONDS (8 per run), BENCH_ROUNDS (3), BENCH_DAYS (30), BENCH_EVENTS_PER_DAY (1000), BENCH_CONNECTIONS (64).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PY:-$ROOT/.venv/bin/python}
GUNICORN=${GUNICORN:-$ROOT/.venv/bin/gunicorn}
SECONDS_PER_RUN=${BENCH_SECONDS:-8}
ROUNDS=${BENCH_ROUNDS:-3}
DAYS=${BENCH_DAYS:-30}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
GOAL=2

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
[ -x "$GUNICORN" ] || { echo "gunicorn not found at $GUNICORN (make dev-deps)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/blacksky-bench-stats.XXXXXX)
PGDB=""
GPID=""
cleanup() {
  if [ -n "$GPID" ]; then kill "$GPID" 2>/dev/null || true; wait "$GPID" 2>/dev/null || true; fi
  if [ -n "$PGDB" ]; then psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $PGDB" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  DATABASE_URL=$BENCH_DATABASE_URL
elif command -v psql >/dev/null && psql -h 127.0.0.1 -U postgres -d postgres -qc "SELECT 1" >/dev/null 2>&1; then
  PGDB="blacksky_bench_stats_$$"
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $PGDB" >/dev/null
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$PGDB"
else
  DATABASE_URL="sqlite:///$WORK/db.sqlite3"
fi

TOKEN="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DATABASE_URL STATS_TOKEN=$TOKEN BLACKSKY_DOTENV=0 DJANGO_SETTINGS_MODULE=blacksky_site.settings \
  SECRET_KEY="bench-secret-key-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" DEBUG=false \
  ALLOWED_HOSTS=127.0.0.1 CLOUD_MODE=false HTTPS_ONLY=false LOG_LEVEL=WARNING HEARTBEAT_TIMEOUT=3600 \
  MEDIA_STARTER_PACK=false WA_STORE_DIR="$WORK/wa" MEDIA_ROOT="$WORK/media" PYTHONPATH="$ROOT"

echo "database: ${DATABASE_URL%%:*}; seeding $DAYS days of history" >&2
"$PY" manage.py migrate --noinput -v 0
"$PY" bench/_stats_seed.py --days "$DAYS" --events-per-day "${BENCH_EVENTS_PER_DAY:-1000}" >&2

# --max-requests 0: gunicorn.conf.py recycles a worker every ~2000 requests (a leak guard sized for
# real traffic); at 1000+ req/s that is a worker restart every few seconds, and the p99 would
# measure Django's start-up instead of the endpoints.
"$GUNICORN" blacksky_site.wsgi -c gunicorn.conf.py -b "127.0.0.1:$PORT" --workers 2 --threads 4 \
  --max-requests 0 --access-logfile /dev/null --error-logfile "$WORK/gunicorn.log" >"$WORK/app.log" 2>&1 &
GPID=$!
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$PORT/healthz?live=1" >/dev/null 2>&1 && break
  kill -0 "$GPID" 2>/dev/null || { cat "$WORK/gunicorn.log" >&2; exit 1; }
  sleep 0.5
done
code_stats=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/stats")
code_health=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
if [ "$code_stats" != 200 ] || [ "$code_health" != 200 ]; then
  echo "server not ready: /stats $code_stats, /healthz $code_health" >&2; tail -20 "$WORK/gunicorn.log" "$WORK/app.log" >&2; exit 1
fi

run_wrk() {  # url out [header]
  local url=$1 out=$2
  shift 2
  wrk -t2 -c"$CONNECTIONS" -d2s "$@" "$url" >/dev/null  # warm-up: connections, caches, code paths
  wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@" "$url" >"$out"
  if grep -q "Non-2xx" "$out"; then echo "non-2xx answers from $url:" >&2; cat "$out" >&2; exit 1; fi
}
p99_ms() {  # the 99% line of wrk --latency, in milliseconds
  awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) }
       else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.3f", v }' "$1"
}
rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }

# Interleaved rounds, median of each endpoint's p99: a burst of load from elsewhere on the machine
# then hits both endpoints alike instead of deciding the ratio.
stats_runs=()
health_runs=()
for round in $(seq 1 "$ROUNDS"); do
  run_wrk "http://127.0.0.1:$PORT/stats" "$WORK/stats.$round.txt" -H "Authorization: Bearer $TOKEN"
  run_wrk "http://127.0.0.1:$PORT/healthz" "$WORK/healthz.$round.txt"
  stats_runs+=("$(p99_ms "$WORK/stats.$round.txt")")
  health_runs+=("$(p99_ms "$WORK/healthz.$round.txt")")
  echo "round $round: /stats p99 ${stats_runs[-1]} ms ($(rps "$WORK/stats.$round.txt") req/s), /healthz p99 ${health_runs[-1]} ms ($(rps "$WORK/healthz.$round.txt") req/s)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
stats_p99=$(median "${stats_runs[@]}")
health_p99=$(median "${health_runs[@]}")
ratio=$(awk -v a="$stats_p99" -v b="$health_p99" 'BEGIN { printf "%.2f", a / b }')
echo "median p99 over $ROUNDS rounds of ${SECONDS_PER_RUN}s, $CONNECTIONS connections, $DAYS days of history: /stats ${stats_p99} ms, /healthz ${health_p99} ms"
echo "RESULT stats_p99_over_healthz_p99 value=${stats_p99}ms floor=${health_p99}ms ratio=${ratio} goal=<=${GOAL}"

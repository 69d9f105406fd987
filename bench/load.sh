#!/usr/bin/env bash
# Load benchmark: the service as deployed (gunicorn with gunicorn.conf.py) on loopback,
# driven by wrk. Installs nothing: it checks that its tools are there and says what is not.
#
#   1. POST /v1/render/html (examples/bike-lanes.json) beside GET /v1/schema/article.json on
#      the same server, 64 connections for 30 s each, in ROUNDS rounds (3): requests per
#      second and their ratio, each round's and the median.
#      The schema route answers a string built once per process: it measures the server
#      (gunicorn, Flask, the worker threads) and nothing of Broadsheet's work, so the ratio
#      says how much of the server's capacity a render leaves. /healthz would query the
#      database, which is work of its own.
#   2. POST /v1/render/pdf, 16 concurrent clients for 60 s, each request a headline of its
#      own (the PDF cache never answers): p50 and p99, and the resident memory of the whole
#      gunicorn process tree (master, workers, printer processes) before and after.
# Every answer must be 2xx and no socket may fail; the exit status says whether one did.
# Settings: rate limits off, a throwaway SQLite database; all else as gunicorn.conf.py says.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
HTML_SECONDS=${HTML_SECONDS:-30}
HTML_CONNECTIONS=${HTML_CONNECTIONS:-64}
PDF_SECONDS=${PDF_SECONDS:-60}
PDF_CONNECTIONS=${PDF_CONNECTIONS:-16}
WRK_THREADS=${WRK_THREADS:-2}
ROUNDS=${ROUNDS:-3}
ARTICLE=examples/bike-lanes.json

missing=()
for tool in wrk curl ps awk; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
for tool in gunicorn broadsheet python; do
  [ -x "$BIN/$tool" ] || missing+=("$BIN/$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "load: missing ${missing[*]} (wrk is the Debian package wrk; run make install for .venv)" >&2
  exit 2
fi

work=$(mktemp -d)
port=$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export BROADSHEET_ENV=production
BROADSHEET_SECRET_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
export BROADSHEET_SECRET_KEY
export BROADSHEET_DATABASE_URL="sqlite:///$work/load.sqlite3"
export BROADSHEET_RATELIMIT_ENABLED=false
export BROADSHEET_BASE_URL=https://news.example.org
export BROADSHEET_MAIL_RELAY=false
export GUNICORN_BIND="127.0.0.1:$port"
unset PROMETHEUS_MULTIPROC_DIR

server=""
stop_server() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
  rm -rf "$work"
}
trap stop_server EXIT

"$BIN/broadsheet" db upgrade >/dev/null
"$BIN/gunicorn" --config gunicorn.conf.py wsgi:app >"$work/gunicorn.log" 2>&1 &
server=$!
for _ in $(seq 1 360); do
  curl -fs "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/gunicorn.log" >&2; exit 1; }
  sleep 0.5
done
curl -fs "$base/healthz" >/dev/null || { echo "load: the server did not answer" >&2; exit 1; }

# The pids of the gunicorn master and everything under it.
tree_pids() {
  ps -eo pid=,ppid= | awk -v root="$server" '
    { parent[$1] = $2 }
    END {
      keep[root] = 1; grew = 1
      while (grew) { grew = 0
        for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; grew = 1 } }
      for (p in keep) print p }'
}

# "N processes, RSS X MiB, PSS Y MiB": RSS counts shared pages once per process; PSS
# divides them among the processes sharing them, so it is the tree's real share of memory.
tree_memory() {
  local pids rss pss count
  pids=$(tree_pids)
  count=$(echo "$pids" | wc -w)
  rss=$(ps -o rss= -p "$(echo "$pids" | paste -sd,)" | awk '{ s += $1 } END { print s }')
  pss=0
  for pid in $pids; do
    value=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    pss=$((pss + ${value:-0}))
  done
  printf '%d processes, RSS %.0f MiB, PSS %.0f MiB' "$count" "$((rss / 1024))" "$((pss / 1024))"
}

# CPU time (in clock ticks) of the whole tree, including processes it has reaped: a
# process's own user and system time plus that of its waited-for children.
ticks_per_second=$(getconf CLK_TCK)
tree_cpu_ticks() {
  local total=0 pid fields
  for pid in $(tree_pids); do
    fields=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + $(echo "$fields" | awk '{ print $12 + $13 + $14 + $15 }')))
  done
  echo "$total"
}

# How the server's established connections are spread over the workers, e.g. "33/31".
connections_per_worker() {
  command -v ss >/dev/null 2>&1 || { echo "?"; return; }
  ss -tnpH state established "( sport = :$port )" 2>/dev/null |
    grep -o 'pid=[0-9]*' | sort | uniq -c | awk '{ print $1 }' | sort -rn | paste -sd/
}

failures=0
# run NAME CONNECTIONS SECONDS URL [ARTICLE [RUN]]: prints wrk's RESULT line as NAME.
run() {
  local name=$1 connections=$2 seconds=$3 url=$4 article=${5:-} tag=${6:-} line wrk_pid spread
  wrk --threads "$WRK_THREADS" --connections "$connections" --duration "${seconds}s" \
    --timeout 60s --latency --script bench/load.lua "$url" -- "$article" "$tag" \
    >"$work/wrk.out" &
  wrk_pid=$!
  cpu_before=$(tree_cpu_ticks)
  sleep "$(awk -v s="$seconds" 'BEGIN { print s / 2 }')"
  spread=$(connections_per_worker)
  wait "$wrk_pid"
  cpu_after=$(tree_cpu_ticks)
  line=$(grep '^RESULT' "$work/wrk.out")
  server_cpu=$(awk -v a="$cpu_after" -v b="$cpu_before" -v hz="$ticks_per_second" \
    'BEGIN { printf "%.2f", (a - b) / hz }')
  per_cpu=$(awk -v n="$(field "$line" requests)" -v c="$server_cpu" \
    'BEGIN { printf "%.1f", (c > 0 ? n / c : 0) }')
  line="$line server_cpu_s=$server_cpu requests_per_cpu_s=$per_cpu connections_per_worker=$spread"
  echo "$name ${line#RESULT }"
  errors=$(echo "$line" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "=");
    if (kv[1] ~ /^(non2xx|connect|read|write|timeout|status)$/) s += kv[2] } } END { print s }')
  if [ "$errors" -gt 0 ]; then
    echo "load: $name had $errors errors" >&2
    failures=$((failures + 1))
  fi
  last_line=$line
}
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

echo "gunicorn: $(grep -c 'Booting worker' "$work/gunicorn.log") workers; $(tree_memory) when it answers"
# Warm up: every worker imports and renders once before anything is measured.
run warm-schema "$HTML_CONNECTIONS" 3 "$base/v1/schema/article.json"
run warm-html "$HTML_CONNECTIONS" 3 "$base/v1/render/html" "$ARTICLE"

# Rounds, each the trivial route then the render. wrk opens its connections at once and
# gthread keeps each on the worker that accepted it; now and then one worker accepts all
# of them and the other core idles, which halves either route whatever it costs. Such a
# run measures the accept race, not the route, so it is shown and run again (up to
# ATTEMPTS times); the median of the rounds is the figure.
ATTEMPTS=${ATTEMPTS:-4}
workers=$(grep -c 'Booting worker' "$work/gunicorn.log")
measure() {  # measure NAME URL [ARTICLE]: like run, again while one worker holds them all
  local name=$1 url=$2 article=${3:-} attempt spread
  for attempt in $(seq 1 "$ATTEMPTS"); do
    run "$name" "$HTML_CONNECTIONS" "$HTML_SECONDS" "$url" "$article"
    spread=$(field "$last_line" connections_per_worker)
    if [ "$workers" -lt 2 ] || [[ "$spread" == */* ]] || [ "$attempt" -eq "$ATTEMPTS" ]; then
      return
    fi
    echo "  ($name: all connections on one worker; run again)"
  done
}
ratios=()
schema_all=()
html_all=()
for round in $(seq 1 "$ROUNDS"); do
  measure "schema-$round" "$base/v1/schema/article.json"
  schema_rps=$(field "$last_line" rps)
  measure "html-$round" "$base/v1/render/html" "$ARTICLE"
  html_rps=$(field "$last_line" rps)
  ratio=$(awk -v h="$html_rps" -v s="$schema_rps" 'BEGIN { printf "%.3f", h / s }')
  echo "round $round: html / schema = $ratio"
  schema_all+=("$schema_rps")
  html_all+=("$html_rps")
  ratios+=("$ratio")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median of $ROUNDS rounds: schema $(median "${schema_all[@]}") req/s," \
  "html $(median "${html_all[@]}") req/s," \
  "html / schema = $(median "${ratios[@]}") (goal at least 0.50)"

# Every worker starts its printers before its first request; a few PDFs before "before"
# bring them to their working size.
run warm-pdf "$PDF_CONNECTIONS" 20 "$base/v1/render/pdf" "$ARTICLE" "warm$$"
before=$(tree_memory)
run pdf "$PDF_CONNECTIONS" "$PDF_SECONDS" "$base/v1/render/pdf" "$ARTICLE" "run$$"
after=$(tree_memory)
echo "pdf p50 $(field "$last_line" p50_ms) ms, p99 $(field "$last_line" p99_ms) ms"
echo "gunicorn tree before the PDF run: $before"
echo "gunicorn tree after the PDF run:  $after"
booted=$(grep -c 'Booting worker' "$work/gunicorn.log" || true)
echo "workers started: $booted (the first ones included)"
if [ "$failures" -gt 0 ]; then
  echo "load: FAILED: $failures runs had errors" >&2
  exit 1
fi
echo "load: no errors"

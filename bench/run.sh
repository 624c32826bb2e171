#!/usr/bin/env bash
# Benchmarks a real qazauth on loopback (PERFORMANCE.md): builds the server
# and the load tool, starts the server on 127.0.0.1 with a temporary data
# directory and seed file, runs each load with its in-process ceiling (half
# measured just before the load, half just after), records the server's
# resident memory (VmHWM) after each, and prints a Markdown table plus the
# exact commands. The server is always stopped.
#
# Environment:
#   BENCH_DURATION     measured time per load, also the ceiling's (default 10s)
#   BENCH_WARMUP       warmup per load, not counted (default 2s)
#   BENCH_CONCURRENCY  workers (default 32)
#   BENCH_LOADS        loads to run (default "refresh client_credentials password jwks";
#                      "validate" is also available)
#   BENCH_PORT         port on 127.0.0.1 (default 18080)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-2s}
concurrency=${BENCH_CONCURRENCY:-32}
loads=${BENCH_LOADS:-refresh client_credentials password jwks}
port=${BENCH_PORT:-18080}
issuer="http://127.0.0.1:$port"
server_bin=/tmp/qazauth-bench
load_bin=/tmp/qazauth-bench-load

command -v curl >/dev/null || { echo "run.sh: curl is required" >&2; exit 2; }

workdir=$(mktemp -d "${TMPDIR:-/tmp}/qazauth-bench.XXXXXX")
server_pid=""
status=0
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] && [ -f "$workdir/server.log" ]; then
    echo "--- last lines of the server log" >&2
    tail -n 20 "$workdir/server.log" >&2
  fi
  rm -rf "$workdir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== build" >&2
go build -o "$server_bin" ./cmd/qazauth
go build -o "$load_bin" ./bench

if curl -s -o /dev/null --max-time 2 "$issuer/"; then
  echo "run.sh: something already listens on $issuer; set BENCH_PORT" >&2
  exit 2
fi

cat >"$workdir/seed.yaml" <<'YAML'
clients:
  - client_id: qaznat-mobile
    public: true
    grant_types: [password, refresh_token]
    scopes: [offline_access, translate]
    audience: [qaznat-api]
  - client_id: translation-worker
    client_secret: "change-me"
    grant_types: [client_credentials]
    scopes: [translate]
    audience: [qaznat-api]
users:
  - username: aigerim
    password: "correct horse"
    email: aigerim@example.kz
    roles: [translator]
YAML

server_env=(
  QAZAUTH_ADDR="127.0.0.1:$port"
  QAZAUTH_ISSUER="$issuer"
  QAZAUTH_DATA_DIR="$workdir/data"
  QAZAUTH_SEED_FILE="$workdir/seed.yaml"
  QAZAUTH_RATE_LIMIT=0
  QAZAUTH_LOGIN_MAX_FAILURES=1000
  QAZAUTH_LOG_FORMAT=json
  ${BENCH_SERVER_ENV:-}
)
echo "== start qazauth on $issuer" >&2
env "${server_env[@]}" "$server_bin" serve >"$workdir/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 300); do
  if curl -sf -o /dev/null --max-time 1 "$issuer/readyz"; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { echo "run.sh: qazauth exited during start" >&2; exit 1; }
  sleep 0.1
done
curl -sf -o /dev/null --max-time 1 "$issuer/readyz" || { echo "run.sh: qazauth not ready after 30s" >&2; exit 1; }

# vm KEY prints a /proc/<server>/status value (kB) of the server.
vm() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server_pid/status"; }
# field NAME JSON prints a top-level scalar of the tool's one-line JSON.
field() { printf '%s\n' "$2" | sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" | tr -d '"'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

rows=()
commands=()
results=()
for load in $loads; do
  # Reset the peak (VmHWM) to the current RSS so that the value read after
  # the tool is the peak during this load (Linux ≥ 4.0; we own the process).
  hwm_note="peak since a reset just before each run of the tool"
  echo 5 >"/proc/$server_pid/clear_refs" 2>/dev/null || hwm_note="peak since the server started: resetting it was refused"
  cmd=("$load_bin" -url "$issuer" -load "$load" -c "$concurrency" -d "$duration" -warmup "$warmup" -pid "$server_pid" -json)
  case "$load" in
    client_credentials) cmd+=(-client translation-worker -secret change-me -ceiling) ;;
    refresh | password | validate) cmd+=(-ceiling) ;;
  esac
  printf -v shown '%q ' "${cmd[@]}"
  commands+=("${shown% }")
  echo "== $load: ${shown% }" >&2
  rc=0
  json=$("${cmd[@]}") || rc=$?
  if [ "$rc" -ge 128 ]; then
    echo "run.sh: interrupted" >&2
    exit "$rc"
  fi
  if [ "$rc" -ne 0 ]; then
    echo "run.sh: load $load failed" >&2
    rows+=("| $load | failed | | | | | | | |")
    status=1
    continue
  fi
  results+=("$json")
  hwm=$(vm VmHWM)
  rps=$(field rps "$json")
  ceiling=$(field ceiling "$json")
  ceiling_cell="—" ratio_cell="—"
  if [ -n "$ceiling" ]; then
    ceiling_cell=$(printf '%.0f/s %s' "$(field ceiling_per_s "$json")" "${ceiling%/s}")
    ratio_cell=$(awk -v r="$(field ratio "$json")" 'BEGIN { printf "%.1f %%", 100 * r }')
    drift=$(field ceiling_drift "$json")
    if awk -v d="${drift:-0}" 'BEGIN { exit !(d > 0.10) }'; then
      ceiling_cell+=$(printf ' **(noisy: %.0f/s before, %.0f/s after)**' "$(field ceiling_before_per_s "$json")" "$(field ceiling_after_per_s "$json")")
    fi
  fi
  rows+=("$(printf '| %s | %.0f | %.2f ms | %.2f ms | %s | %s | %s | %s | %s |' "$load" "$rps" \
    "$(field p50_ms "$json")" "$(field p99_ms "$json")" "$ceiling_cell" "$ratio_cell" \
    "$(mib "$(field rss_peak_kib "$json")")" "$(mib "$hwm")" "$(field failed "$json")")")
done

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
cat <<EOF

## qazauth load test ($(date -u +%Y-%m-%dT%H:%MZ))

$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(go version | cut -d' ' -f3-), commit $commit.
Server and load generator share these CPUs. c=$concurrency, ${duration} measured after ${warmup} warmup per load;
each ceiling measured in process for ${duration} in total, half just before and half just after its load.
RSS under load: the server's largest VmRSS sampled every 50 ms in the measured window. VmHWM: read
after the load, $hwm_note; it includes the load's setup (e.g. the 32 password logins of refresh),
and since a reset only lowers it to the current RSS, memory the previous load left resident too.

| load | rps (200 only) | p50 | p99 | ceiling | ratio | RSS under load | VmHWM | non-200 + errors |
|---|---|---|---|---|---|---|---|---|
EOF
printf '%s\n' "${rows[@]}"
cat <<EOF

Server: \`env ${server_env[*]} $server_bin serve\` (built with \`go build -o $server_bin ./cmd/qazauth\`), seed file:
clients qaznat-mobile (public, password + refresh_token) and translation-worker (client_credentials), user aigerim.

Load commands (built with \`go build -o $load_bin ./bench\`; \`go run ./bench\` takes the same flags):
EOF
printf '    %s\n' "${commands[@]}"
if [ "${#results[@]}" -gt 0 ]; then
  printf '\nRaw results:\n'
  printf '    %s\n' "${results[@]}"
fi
exit "$status"

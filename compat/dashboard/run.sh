#!/usr/bin/env bash
# Drives openiav's sandbox dashboard (/_openiav/dashboard) in a real browser: Debian's Chromium
# (through playwright-core) logs in through the dashboard's form, opens every page and performs
# its actions (force statuses, fire events and webhooks, Retry, Snapshot, Reset), checking each
# effect on the page and through the MX and Dwolla APIs, and scans every page with axe-core.
# Data is seeded through the real APIs; a webhook receiver in the suite takes the deliveries.
#
#   bash compat/dashboard/run.sh
#
# Environment:
#   OPENIAV_BIN              binary to test (default: <repo>/target/release/openiav)
#   OPENIAV_DATABASE_URL     sqlite://… or postgres://… (default: a SQLite file in a fresh temp dir).
#                            For postgres, a fresh database openiav_compat_dashboard_* is created next
#                            to the one named in the URL (and dropped afterwards).
#   CHROMIUM_PATH            browser binary (default: /usr/bin/chromium, Debian's package `chromium`)
#   DASHBOARD_TESTS          test files to run, relative to compat/dashboard (default: test/*.test.mjs)
#   COMPAT_KEEP              set to 1 to keep the temp dir (server log, SQLite file) and the postgres database
#
# Screenshots: compat/dashboard/artifacts/screenshots/<test>/<NN>-<step>.png
# (artifacts/screenshots-postgres/ for a postgres run), cleared at the start of each run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OPENIAV_BIN="${OPENIAV_BIN:-$REPO/target/release/openiav}"
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
COMPAT_KEEP="${COMPAT_KEEP:-0}"

MX_CLIENT_ID="compat-mx-client-0000-000000000001"
MX_API_KEY="compat0mx0api0key0000000000000000000001"
DWOLLA_KEY="compat0dwolla0key000000000000000000000000000001"
DWOLLA_SECRET="compat0dwolla0secret0000000000000000000000000001"
ENCRYPTION_KEY="00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

log() { printf '[compat/dashboard] %s\n' "$*" >&2; }

if [[ ! -x "$OPENIAV_BIN" ]]; then
  log "binary not found or not executable: $OPENIAV_BIN (build it with: cargo build --release -p openiav-server)"
  exit 2
fi
for tool in node npm python3 curl; do
  command -v "$tool" >/dev/null || { log "missing required tool: $tool"; exit 2; }
done
if [[ ! -x "$CHROMIUM_PATH" ]]; then
  log "no browser at $CHROMIUM_PATH: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH"
  exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/openiav-compat-dashboard.XXXXXX")"
SERVER_LOG="$WORK/server.log"
SERVER_PID=""
PG_ADMIN_URL=""
PG_DB=""

cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ -n "$PG_DB" && "$COMPAT_KEEP" != 1 ]]; then
    psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [[ "$COMPAT_KEEP" == 1 ]]; then
    log "kept $WORK${PG_DB:+ and database $PG_DB}"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

print_server_log() {
  log "----- server log ($SERVER_LOG) -----"
  cat "$SERVER_LOG" >&2 || true
  log "----- end of server log -----"
}

# --- database ------------------------------------------------------------------------------
DATABASE_URL="${OPENIAV_DATABASE_URL:-sqlite://$WORK/openiav.db}"
SHOTS="$HERE/artifacts/screenshots"
case "$DATABASE_URL" in
  postgres://*|postgresql://*)
    command -v psql >/dev/null || { log "psql is needed for a postgres database URL"; exit 2; }
    PG_ADMIN_URL="$DATABASE_URL"
    PG_DB="openiav_compat_dashboard_$(date +%s)_$$_$RANDOM"
    psql -q -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    # Same server and user, the fresh database in place of the URL's path; the query string is kept.
    DATABASE_URL="$(printf '%s' "$PG_ADMIN_URL" | sed -E "s#^(postgres(ql)?://[^/?]+)(/[^?]*)?(\\?.*)?\$#\\1/$PG_DB\\4#")"
    SHOTS="$HERE/artifacts/screenshots-postgres"
    log "database: fresh PostgreSQL database $PG_DB"
    ;;
  sqlite:*)
    log "database: $DATABASE_URL"
    ;;
  *)
    log "unsupported OPENIAV_DATABASE_URL: $DATABASE_URL"; exit 2 ;;
esac

# --- dependencies ----------------------------------------------------------------------------
installed() { node -p "try { require('$HERE/node_modules/$1/package.json').version } catch (e) { '' }"; }
wanted() { node -p "require('$HERE/package.json').dependencies['$1']"; }
if [[ "$(installed axe-core)" != "$(wanted axe-core)" \
   || "$(installed playwright-core)" != "$(wanted playwright-core)" \
   || ! "$HERE/node_modules/.package-lock.json" -nt "$HERE/package-lock.json" ]]; then
  log "installing Node dependencies (npm ci)"
  # playwright-core downloads no browser by itself; the variable only makes sure of it.
  (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2)
fi

rm -rf "$SHOTS"
mkdir -p "$SHOTS"

# --- server --------------------------------------------------------------------------------
read -r P1 P2 P3 < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(3):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
EOF
)
BASE="http://127.0.0.1:$P1"

log "starting $OPENIAV_BIN (aggregation $BASE, payments http://127.0.0.1:$P2, webhook receiver on port $P3)"
OPENIAV_DATABASE_URL="$DATABASE_URL" \
OPENIAV_ENCRYPTION_KEY="$ENCRYPTION_KEY" \
OPENIAV_SANDBOX_MX_CLIENT_ID="$MX_CLIENT_ID" \
OPENIAV_SANDBOX_MX_API_KEY="$MX_API_KEY" \
OPENIAV_SANDBOX_DWOLLA_KEY="$DWOLLA_KEY" \
OPENIAV_SANDBOX_DWOLLA_SECRET="$DWOLLA_SECRET" \
OPENIAV_SANDBOX_DELAY_MS=0 \
OPENIAV_SANDBOX_MX_WEBHOOK_URL="http://127.0.0.1:$P3/mx" \
RUST_LOG="${RUST_LOG:-info}" \
  "$OPENIAV_BIN" serve --aggregation-listen "127.0.0.1:$P1" --payments-listen "127.0.0.1:$P2" \
  >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 1 300); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    break
  fi
  if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health" || true)" == 200 ]]; then
    ready=1
    break
  fi
  sleep 0.1
done
if [[ "$ready" != 1 ]]; then
  log "server did not become healthy on $BASE/health within 30 s"
  print_server_log
  exit 1
fi
if ! grep -q "client_id: $MX_CLIENT_ID" "$SERVER_LOG"; then
  log "warning: the server did not report bootstrapping a sandbox tenant with the test credentials"
fi
log "server is healthy (pid $SERVER_PID)"

export MX_BASE_URL="$BASE" DWOLLA_BASE_URL="http://127.0.0.1:$P2" MX_CLIENT_ID MX_API_KEY DWOLLA_KEY DWOLLA_SECRET
export CHROMIUM_PATH WEBHOOK_RECEIVER_PORT="$P3" DASHBOARD_SCREENSHOT_DIR="$SHOTS"

# --- suite ---------------------------------------------------------------------------------
OUT="$WORK/node.out"
log "===== dashboard suite ====="
start=$SECONDS
suite_rc=0
(
  cd "$HERE"
  # shellcheck disable=SC2086
  node --test --test-concurrency=1 --test-reporter=spec ${DASHBOARD_TESTS:-test/*.test.mjs}
) 2>&1 | tee "$OUT" || suite_rc=$?
passed="$(sed -nE 's/^ℹ pass ([0-9]+)$/\1/p' "$OUT" | tail -1)"
failed="$(sed -nE 's/^ℹ (fail|cancelled) ([0-9]+)$/\2/p' "$OUT" | awk '{ n += $1 } END { print n + 0 }')"
passed="${passed:-0}"
failed="${failed:-0}"
# A suite that crashed before reporting still counts as a failure.
if [[ "$suite_rc" != 0 && "$failed" == 0 ]]; then failed=1; fi
elapsed=$((SECONDS - start))

# --- shutdown ------------------------------------------------------------------------------
log "stopping the server with SIGTERM"
kill -TERM "$SERVER_PID"
server_rc=0
for _ in $(seq 1 150); do
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$SERVER_PID" 2>/dev/null; then
  log "server did not exit within 15 s of SIGTERM"
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  server_rc=137
  wait "$SERVER_PID" 2>/dev/null || true
else
  wait "$SERVER_PID" || server_rc=$?
fi
SERVER_PID=""

shots="$(find "$SHOTS" -name '*.png' | wc -l)"
echo
echo "===== compat/dashboard summary ($OPENIAV_BIN, ${PG_DB:+postgres }${PG_DB:-sqlite}) ====="
printf '  %-8s %s\n' suite "$([[ "$suite_rc" == 0 ]] && echo passed || echo "FAILED (exit $suite_rc)"): $passed passed, $failed failed (${elapsed} s)"
printf '  %-8s %s\n' shots "$shots screenshots in ${SHOTS#"$REPO"/}"
printf '  %-8s %s\n' server "exit status $server_rc after SIGTERM"
if [[ "$server_rc" != 0 ]]; then
  log "server exited with status $server_rc after SIGTERM (expected 0)"
  failed=$((failed + 1))
fi

if [[ "$suite_rc" != 0 || "$server_rc" != 0 ]]; then
  print_server_log
  echo "compat/dashboard: FAILED"
  echo "compat/dashboard: $passed passed, $failed failed"
  exit 1
fi
echo "compat/dashboard: all tests passed"
echo "compat/dashboard: $passed passed, $failed failed"

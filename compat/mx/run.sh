#!/usr/bin/env bash
# Drives the real openiav binary with the official, unmodified MX Platform SDKs
# (mx-platform-node 2.1.0 and mx-platform-python 1.12.0; only their base URL is changed).
#
#   bash compat/mx/run.sh
#
# Environment:
#   OPENIAV_BIN           binary to test (default: <repo>/target/release/openiav)
#   OPENIAV_DATABASE_URL  sqlite://… or postgres://… (default: a SQLite file in a fresh temp dir).
#                         For postgres, a fresh database is created next to the one named in the
#                         URL (and dropped afterwards), so the sandbox tenant is always bootstrapped
#                         with the fixed test credentials below.
#   COMPAT_SUITES         which suites to run: "node python" (default), "node" or "python"
#   COMPAT_KEEP           set to 1 to keep the temp dir (server log, SQLite file) and the postgres database
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OPENIAV_BIN="${OPENIAV_BIN:-$REPO/target/release/openiav}"
COMPAT_SUITES="${COMPAT_SUITES:-node python}"
COMPAT_KEEP="${COMPAT_KEEP:-0}"

MX_CLIENT_ID="compat-mx-client-0000-000000000001"
MX_API_KEY="compat0mx0api0key0000000000000000000001"
DWOLLA_KEY="compat0dwolla0key000000000000000000000000000001"
DWOLLA_SECRET="compat0dwolla0secret0000000000000000000000000001"
ENCRYPTION_KEY="00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

log() { printf '[compat/mx] %s\n' "$*" >&2; }

if [[ ! -x "$OPENIAV_BIN" ]]; then
  log "binary not found or not executable: $OPENIAV_BIN (build it with: cargo build --release -p openiav-server)"
  exit 2
fi
for tool in node npm python3 curl; do
  command -v "$tool" >/dev/null || { log "missing required tool: $tool"; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/openiav-compat-mx.XXXXXX")"
SERVER_LOG="$WORK/server.log"
SERVER_PID=""
PG_ADMIN_URL=""
PG_DB=""
FAILED=0

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
case "$DATABASE_URL" in
  postgres://*|postgresql://*)
    command -v psql >/dev/null || { log "psql is needed for a postgres database URL"; exit 2; }
    PG_ADMIN_URL="$DATABASE_URL"
    PG_DB="openiav_compat_$(date +%s)_$$_$RANDOM"
    psql -q -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    # Same server and user, the fresh database in place of the URL's path; the query string is kept.
    DATABASE_URL="$(printf '%s' "$PG_ADMIN_URL" | sed -E "s#^(postgres(ql)?://[^/?]+)(/[^?]*)?(\\?.*)?\$#\\1/$PG_DB\\4#")"
    log "database: fresh PostgreSQL database $PG_DB"
    ;;
  sqlite:*)
    log "database: $DATABASE_URL"
    ;;
  *)
    log "unsupported OPENIAV_DATABASE_URL: $DATABASE_URL"; exit 2 ;;
esac

# --- dependencies ----------------------------------------------------------------------------
NODE_DIR="$HERE/node"
PY_DIR="$HERE/python"
VENV="$PY_DIR/.venv"

if [[ " $COMPAT_SUITES " == *" node "* ]]; then
  want="$(node -p "require('$NODE_DIR/package.json').dependencies['mx-platform-node']")"
  have="$(node -p "try { require('$NODE_DIR/node_modules/mx-platform-node/package.json').version } catch (e) { '' }")"
  if [[ "$have" != "$want" || ! "$NODE_DIR/node_modules/.package-lock.json" -nt "$NODE_DIR/package-lock.json" ]]; then
    log "installing Node dependencies (npm ci)"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund >&2)
  fi
fi

if [[ " $COMPAT_SUITES " == *" python "* ]]; then
  req_sum="$(sha256sum "$PY_DIR/requirements.txt" | cut -d' ' -f1)"
  if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$req_sum" ]]; then
    log "creating the Python venv ($VENV) and installing requirements.txt"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$PY_DIR/requirements.txt" >&2
    printf '%s\n' "$req_sum" > "$VENV/.requirements.sha256"
  fi
fi

# --- server --------------------------------------------------------------------------------
read -r P1 P2 < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
EOF
)
BASE="http://127.0.0.1:$P1"

log "starting $OPENIAV_BIN (aggregation $BASE, payments http://127.0.0.1:$P2)"
OPENIAV_DATABASE_URL="$DATABASE_URL" \
OPENIAV_ENCRYPTION_KEY="$ENCRYPTION_KEY" \
OPENIAV_SANDBOX_MX_CLIENT_ID="$MX_CLIENT_ID" \
OPENIAV_SANDBOX_MX_API_KEY="$MX_API_KEY" \
OPENIAV_SANDBOX_DWOLLA_KEY="$DWOLLA_KEY" \
OPENIAV_SANDBOX_DWOLLA_SECRET="$DWOLLA_SECRET" \
OPENIAV_SANDBOX_DELAY_MS=0 \
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

export MX_BASE_URL="$BASE" MX_CLIENT_ID MX_API_KEY

# --- suites --------------------------------------------------------------------------------
declare -A RESULT
declare -A PASSED_N
declare -A FAILED_N
run_suite() {
  local name="$1"; shift
  local out="$WORK/$name.out"
  log "===== $name suite ====="
  local start=$SECONDS rc=0
  "$@" 2>&1 | tee "$out" || rc=$?
  local passed failed
  if [[ "$name" == node ]]; then
    passed="$(sed -nE 's/^ℹ pass ([0-9]+)$/\1/p' "$out" | tail -1)"
    failed="$(sed -nE 's/^ℹ (fail|cancelled) ([0-9]+)$/\2/p' "$out" | awk '{ n += $1 } END { print n + 0 }')"
  else
    passed="$(grep -E '^=+ .* in [0-9.]+s' "$out" | tail -1 | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)"
    failed="$(grep -E '^=+ .* in [0-9.]+s' "$out" | tail -1 | grep -oE '[0-9]+ (failed|errors?)' | awk '{ n += $1 } END { print n + 0 }' || true)"
  fi
  PASSED_N[$name]="${passed:-0}"
  FAILED_N[$name]="${failed:-0}"
  if [[ "$rc" == 0 ]]; then
    RESULT[$name]="passed: ${passed:-0} passed, ${failed:-0} failed ($((SECONDS - start)) s)"
  else
    RESULT[$name]="FAILED (exit $rc): ${passed:-0} passed, ${failed:-0} failed ($((SECONDS - start)) s)"
    FAILED=1
    # A suite that crashed before reporting still counts as a failure.
    if [[ "${FAILED_N[$name]}" == 0 ]]; then FAILED_N[$name]=1; fi
  fi
}

if [[ " $COMPAT_SUITES " == *" node "* ]]; then
  run_suite node bash -c 'cd "$1" && node --test --test-reporter=spec test/*.test.js' _ "$NODE_DIR"
fi
if [[ " $COMPAT_SUITES " == *" python "* ]]; then
  run_suite python bash -c 'cd "$1" && "$2/bin/python" -m pytest -p no:cacheprovider' _ "$PY_DIR" "$VENV"
fi

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
if [[ "$server_rc" != 0 ]]; then
  log "server exited with status $server_rc after SIGTERM (expected 0)"
  FAILED=1
fi

echo
echo "===== compat/mx summary ($OPENIAV_BIN, ${PG_DB:+postgres }${PG_DB:-sqlite}) ====="
for name in node python; do
  if [[ -n "${RESULT[$name]:-}" ]]; then printf '  %-8s %s\n' "$name" "${RESULT[$name]}"; fi
done
printf '  %-8s %s\n' server "exit status $server_rc after SIGTERM"

total_passed=0
total_failed=0
for name in "${!PASSED_N[@]}"; do
  total_passed=$((total_passed + PASSED_N[$name]))
  total_failed=$((total_failed + FAILED_N[$name]))
done
if [[ "$server_rc" != 0 ]]; then total_failed=$((total_failed + 1)); fi

if [[ "$FAILED" != 0 ]]; then
  print_server_log
  echo "compat/mx: FAILED"
  echo "compat/mx: $total_passed passed, $total_failed failed"
  exit 1
fi
echo "compat/mx: all suites passed"
echo "compat/mx: $total_passed passed, $total_failed failed"

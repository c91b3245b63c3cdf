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
# shellcheck source=SCRIPTDIR/../lib/server.sh
source "$HERE/../lib/server.sh"
COMPAT_SUITES="${COMPAT_SUITES:-node python}"
compat_init mx
compat_require_binary
compat_require_tools node npm python3 curl
compat_workdir
FAILED=0

# --- database ------------------------------------------------------------------------------
compat_database openiav_compat

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
compat_free_ports 2
P1="${PORTS[0]}" P2="${PORTS[1]}"
BASE="http://127.0.0.1:$P1"

log "starting $OPENIAV_BIN (aggregation $BASE, payments http://127.0.0.1:$P2)"
compat_start_server "$BASE" OPENIAV_SANDBOX_DELAY_MS=0 \
  -- --aggregation-listen "127.0.0.1:$P1" --payments-listen "127.0.0.1:$P2"
compat_check_bootstrap mx

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
  if [[ "$name" == node ]]; then compat_counts node "$out"; else compat_counts pytest "$out"; fi
  PASSED_N[$name]="$passed"
  FAILED_N[$name]="$failed"
  if [[ "$rc" == 0 ]]; then
    RESULT[$name]="passed: $passed passed, $failed failed ($((SECONDS - start)) s)"
  else
    RESULT[$name]="FAILED (exit $rc): $passed passed, $failed failed ($((SECONDS - start)) s)"
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
compat_stop_server
if [[ "$server_rc" != 0 ]]; then FAILED=1; fi

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

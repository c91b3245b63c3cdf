#!/usr/bin/env bash
# Drives the real openiav binary through seed 000 (MX instant account verification) with Dwolla's
# official, unmodified SDKs, only their base URL changed:
#   node-v2/     npm dwolla-v2 3.4.2   (c.apiUrl / c.tokenUrl assigned after construction)
#   typescript/  npm dwolla 1.1.1      (new Dwolla({ serverURL, security: { clientID, clientSecret } }))
#   python/      PyPI dwollav2 2.3.0   (a Client subclass with a `local` environment)
# Then node-v2/visa.test.mjs and python/tests/test_visa.py drive the Visa redirect flow through
# browser/visa_bank.mjs on a second server started with --visa-partner (the TypeScript SDK refuses
# a partner list that holds Visa); screenshots in artifacts/screenshots/visa-<suite>/.
# Each suite completes the MX Connect widget as the end user in Debian's Chromium through
# browser/complete_widget.mjs (playwright-core + @mxenabled/web-widget-sdk 0.0.15), checks seed
# 004's error table through the SDK's own error types, and receives signed webhooks. Each also
# runs Dwolla's Plaid flow (plaid.test.mjs, tests/test_plaid.py), completing openiav's Plaid
# Link through compat/plaid/complete_link.mjs (whose dependencies are installed here too). Each
# suite's reauth file (node-v2/reauth.test.mjs, typescript/reauth.test.mjs, python/tests/test_reauth.py)
# then re-authenticates an MX exchange: the sandbox simulation, UpdateCredentials on the balance,
# the customer_exchange_reauth_required webhook, and the re-auth session's widget completed in
# update-credentials mode. Each suite's transfers file (node-v2/transfers.test.mjs,
# typescript/transfers.test.mjs, python/tests/test_transfers.py) then moves money: IAV to a verified
# bank, $1.00 to the account's balance processed by POST /sandbox-simulations with the completed
# webhooks carrying the correlationId, a cancel, filtered lists, facilitator fees, "Insufficient
# funds.", and an R01 failure with its failure reason.
#
#   bash compat/dwolla/run.sh
#
# Environment:
#   OPENIAV_BIN              binary to test (default: <repo>/target/release/openiav); nothing is built
#   OPENIAV_DATABASE_URL     sqlite://… or postgres://… (default: a SQLite file in a fresh temp dir).
#                            For postgres, a fresh database openiav_compat_dwolla_* is created next to
#                            the one named in the URL (and dropped afterwards).
#   COMPAT_SUITES            which suites to run (default: "node-v2 typescript python")
#   CHROMIUM_PATH            browser binary (default: /usr/bin/chromium, Debian's package `chromium`)
#   DWOLLA_SANDBOX_DELAY_MS  sandbox step delay, so that "connecting" is visible (default 300)
#   DWOLLA_WEBHOOK_WAIT_MS   how long to wait for the two webhooks (default 15000)
#   COMPAT_KEEP              set to 1 to keep the temp dir (server log, SQLite file) and the postgres database
#
# Screenshots of the widget steps: compat/dwolla/artifacts/screenshots/<suite>/<NN>-<step>.png
# (artifacts/screenshots-postgres/ for a postgres run), cleared at the start of each run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OPENIAV_BIN="${OPENIAV_BIN:-$REPO/target/release/openiav}"
COMPAT_SUITES="${COMPAT_SUITES:-node-v2 typescript python}"
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
DWOLLA_SANDBOX_DELAY_MS="${DWOLLA_SANDBOX_DELAY_MS:-300}"
COMPAT_KEEP="${COMPAT_KEEP:-0}"

MX_CLIENT_ID="compat-mx-client-0000-000000000001"
MX_API_KEY="compat0mx0api0key0000000000000000000001"
DWOLLA_KEY="compat0dwolla0key000000000000000000000000000001"
DWOLLA_SECRET="compat0dwolla0secret0000000000000000000000000001"
ENCRYPTION_KEY="00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

log() { printf '[compat/dwolla] %s\n' "$*" >&2; }

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
for suite in $COMPAT_SUITES; do
  case "$suite" in
    node-v2|typescript|python) ;;
    *) log "unknown suite in COMPAT_SUITES: $suite (known: node-v2 typescript python)"; exit 2 ;;
  esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/openiav-compat-dwolla.XXXXXX")"
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
  if [[ -n "${VISA_PG_DB:-}" && "$COMPAT_KEEP" != 1 ]]; then
    psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$VISA_PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
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
    PG_DB="openiav_compat_dwolla_$(date +%s)_$$_$RANDOM"
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
# One package.json for both Node suites and the browser helper (the Python suite runs the helper
# with node too, so the Node dependencies are always installed).
installed() { node -p "try { require('$HERE/node_modules/$1/package.json').version } catch (e) { '' }"; }
wanted() { node -p "require('$HERE/package.json').dependencies['$1']"; }
need_npm=0
for dep in dwolla-v2 dwolla playwright-core @mxenabled/web-widget-sdk mx-platform-node; do
  [[ "$(installed "$dep")" == "$(wanted "$dep")" ]] || need_npm=1
done
[[ "$HERE/node_modules/.package-lock.json" -nt "$HERE/package-lock.json" ]] || need_npm=1
if [[ "$need_npm" == 1 ]]; then
  log "installing Node dependencies (npm ci)"
  # playwright-core downloads no browser by itself; the variable only makes sure of it.
  (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2)
fi
# The Plaid suites complete Link through compat/plaid's helper, which has its own package.json.
# shellcheck source=../plaid/ensure_deps.sh
source "$REPO/compat/plaid/ensure_deps.sh"
plaid_ensure_deps "$REPO/compat/plaid"

PY_DIR="$HERE/python"
VENV="$PY_DIR/.venv"
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

rm -rf "$SHOTS"
mkdir -p "$SHOTS"

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
MX_BASE="http://127.0.0.1:$P1"
DWOLLA_BASE="http://127.0.0.1:$P2"

log "starting $OPENIAV_BIN (aggregation $MX_BASE, payments $DWOLLA_BASE, sandbox delay ${DWOLLA_SANDBOX_DELAY_MS} ms)"
OPENIAV_DATABASE_URL="$DATABASE_URL" \
OPENIAV_ENCRYPTION_KEY="$ENCRYPTION_KEY" \
OPENIAV_SANDBOX_MX_CLIENT_ID="$MX_CLIENT_ID" \
OPENIAV_SANDBOX_MX_API_KEY="$MX_API_KEY" \
OPENIAV_SANDBOX_DWOLLA_KEY="$DWOLLA_KEY" \
OPENIAV_SANDBOX_DWOLLA_SECRET="$DWOLLA_SECRET" \
OPENIAV_SANDBOX_DELAY_MS="$DWOLLA_SANDBOX_DELAY_MS" \
RUST_LOG="${RUST_LOG:-info}" \
  "$OPENIAV_BIN" serve --aggregation-listen "127.0.0.1:$P1" --payments-listen "127.0.0.1:$P2" \
  >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 1 300); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    break
  fi
  if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$MX_BASE/health" || true)" == 200 ]]; then
    ready=1
    break
  fi
  sleep 0.1
done
if [[ "$ready" != 1 ]]; then
  log "server did not become healthy on $MX_BASE/health within 30 s"
  print_server_log
  exit 1
fi
if ! grep -q "key:  *$DWOLLA_KEY" "$SERVER_LOG"; then
  log "warning: the server did not report bootstrapping a sandbox tenant with the test Dwolla key"
fi
log "server is healthy (pid $SERVER_PID)"

export DWOLLA_BASE_URL="$DWOLLA_BASE" MX_BASE_URL="$MX_BASE" DWOLLA_KEY DWOLLA_SECRET CHROMIUM_PATH
# The secure-exchange suites request MX authorization codes as the tenant's aggregation client,
# and the Plaid API (secure exchange with a processor token) takes the same client_id and api_key.
export MX_CLIENT_ID MX_API_KEY
export DWOLLA_SCREENSHOT_DIR="$SHOTS"

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
  if [[ "$name" == *python ]]; then
    passed="$(grep -E '^=+ .* in [0-9.]+s' "$out" | tail -1 | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)"
    failed="$(grep -E '^=+ .* in [0-9.]+s' "$out" | tail -1 | grep -oE '[0-9]+ (failed|errors?)' | awk '{ n += $1 } END { print n + 0 }' || true)"
  else
    passed="$(sed -nE 's/^ℹ pass ([0-9]+)$/\1/p' "$out" | tail -1)"
    failed="$(sed -nE 's/^ℹ (fail|cancelled) ([0-9]+)$/\2/p' "$out" | awk '{ n += $1 } END { print n + 0 }')"
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

for suite in $COMPAT_SUITES; do
  case "$suite" in
    node-v2|typescript)
      # visa.test.mjs runs on the Visa server below.
      run_suite "$suite" bash -c 'cd "$1" && node --test --test-reporter=spec $(ls "$2"/*.test.mjs | grep -v "/visa\.test\.mjs$")' _ "$HERE" "$suite" ;;
    python)
      run_suite python bash -c 'cd "$1" && "$2/bin/python" -m pytest -p no:cacheprovider --ignore=tests/test_visa.py' _ "$PY_DIR" "$VENV" ;;
  esac
done

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

# --- Visa: a second server ------------------------------------------------------------------
# The TypeScript SDK refuses a partner list that holds Visa, so the Visa redirect flow runs on a
# server of its own: --visa-partner, its own SQLite file (or a fresh PostgreSQL database), and
# the host app's redirect URL configured for the sandbox tenant. Only node-v2 and python run it.
VISA_SUITES=""
for suite in $COMPAT_SUITES; do
  case "$suite" in node-v2|python) VISA_SUITES="$VISA_SUITES $suite" ;; esac
done
visa_rc=0
if [[ -n "$VISA_SUITES" ]]; then
  VISA_DATABASE_URL="sqlite://$WORK/openiav-visa.db"
  if [[ -n "$PG_DB" ]]; then
    VISA_PG_DB="${PG_DB}_visa"
    psql -q -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" -c "CREATE DATABASE \"$VISA_PG_DB\"" >/dev/null
    VISA_DATABASE_URL="$(printf '%s' "$PG_ADMIN_URL" | sed -E "s#^(postgres(ql)?://[^/?]+)(/[^?]*)?(\\?.*)?\$#\\1/$VISA_PG_DB\\4#")"
  fi
  read -r V1 V2 V3 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
')
  VISA_REDIRECT_URL="http://127.0.0.1:$V3/create-funding-source"
  SERVER_LOG="$WORK/server-visa.log"
  log "starting the Visa server (aggregation http://127.0.0.1:$V1, payments http://127.0.0.1:$V2, redirect URL $VISA_REDIRECT_URL)"
  OPENIAV_DATABASE_URL="$VISA_DATABASE_URL" \
  OPENIAV_ENCRYPTION_KEY="$ENCRYPTION_KEY" \
  OPENIAV_SANDBOX_MX_CLIENT_ID="$MX_CLIENT_ID" \
  OPENIAV_SANDBOX_MX_API_KEY="$MX_API_KEY" \
  OPENIAV_SANDBOX_DWOLLA_KEY="$DWOLLA_KEY" \
  OPENIAV_SANDBOX_DWOLLA_SECRET="$DWOLLA_SECRET" \
  OPENIAV_SANDBOX_REDIRECT_URLS="$VISA_REDIRECT_URL" \
  RUST_LOG="${RUST_LOG:-info}" \
    "$OPENIAV_BIN" serve --visa-partner --aggregation-listen "127.0.0.1:$V1" --payments-listen "127.0.0.1:$V2" \
    >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  ready=0
  for _ in $(seq 1 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$V1/health" || true)" == 200 ]]; then
      ready=1
      break
    fi
    sleep 0.1
  done
  if [[ "$ready" != 1 ]]; then
    log "the Visa server did not become healthy within 30 s"
    print_server_log
    exit 1
  fi
  export DWOLLA_BASE_URL="http://127.0.0.1:$V2" MX_BASE_URL="http://127.0.0.1:$V1" VISA_REDIRECT_URL
  for suite in $VISA_SUITES; do
    case "$suite" in
      node-v2)
        run_suite visa-node-v2 bash -c 'cd "$1" && node --test --test-reporter=spec node-v2/visa.test.mjs' _ "$HERE" ;;
      python)
        run_suite visa-python bash -c 'cd "$1" && "$2/bin/python" -m pytest -p no:cacheprovider tests/test_visa.py' _ "$PY_DIR" "$VENV" ;;
    esac
  done
  log "stopping the Visa server with SIGTERM"
  kill -TERM "$SERVER_PID"
  for _ in $(seq 1 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    visa_rc=137
    wait "$SERVER_PID" 2>/dev/null || true
  else
    wait "$SERVER_PID" || visa_rc=$?
  fi
  SERVER_PID=""
  if [[ "$visa_rc" != 0 ]]; then
    log "the Visa server exited with status $visa_rc after SIGTERM (expected 0)"
    FAILED=1
    server_rc="$visa_rc"
  fi
fi

shots="$(find "$SHOTS" -name '*.png' | wc -l)"
echo
echo "===== compat/dwolla summary ($OPENIAV_BIN, ${PG_DB:+postgres }${PG_DB:-sqlite}) ====="
for name in node-v2 typescript python visa-node-v2 visa-python; do
  if [[ -n "${RESULT[$name]:-}" ]]; then printf '  %-13s %s\n' "$name" "${RESULT[$name]}"; fi
done
printf '  %-13s %s\n' shots "$shots screenshots in ${SHOTS#"$REPO"/}"
printf '  %-13s %s\n' server "exit status $server_rc after SIGTERM"

total_passed=0
total_failed=0
for name in "${!PASSED_N[@]}"; do
  total_passed=$((total_passed + PASSED_N[$name]))
  total_failed=$((total_failed + FAILED_N[$name]))
done
if [[ "$server_rc" != 0 ]]; then total_failed=$((total_failed + 1)); fi

if [[ "$FAILED" != 0 ]]; then
  print_server_log
  echo "compat/dwolla: FAILED"
  echo "compat/dwolla: $total_passed passed, $total_failed failed"
  exit 1
fi
echo "compat/dwolla: all suites passed"
echo "compat/dwolla: $total_passed passed, $total_failed failed"

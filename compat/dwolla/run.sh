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
# shellcheck source=SCRIPTDIR/../lib/server.sh
source "$HERE/../lib/server.sh"
COMPAT_SUITES="${COMPAT_SUITES:-node-v2 typescript python}"
DWOLLA_SANDBOX_DELAY_MS="${DWOLLA_SANDBOX_DELAY_MS:-300}"
compat_init dwolla
compat_require_binary
compat_require_tools node npm python3 curl
compat_require_chromium
for suite in $COMPAT_SUITES; do
  case "$suite" in
    node-v2|typescript|python) ;;
    *) log "unknown suite in COMPAT_SUITES: $suite (known: node-v2 typescript python)"; exit 2 ;;
  esac
done
compat_workdir
FAILED=0

# --- database ------------------------------------------------------------------------------
compat_database openiav_compat_dwolla
SHOTS="$HERE/artifacts/screenshots${PG_DB:+-postgres}"

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
# shellcheck source=SCRIPTDIR/../plaid/ensure_deps.sh
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
compat_free_ports 2
P1="${PORTS[0]}" P2="${PORTS[1]}"
MX_BASE="http://127.0.0.1:$P1"
DWOLLA_BASE="http://127.0.0.1:$P2"

log "starting $OPENIAV_BIN (aggregation $MX_BASE, payments $DWOLLA_BASE, sandbox delay ${DWOLLA_SANDBOX_DELAY_MS} ms)"
compat_start_server "$MX_BASE" OPENIAV_SANDBOX_DELAY_MS="$DWOLLA_SANDBOX_DELAY_MS" \
  -- --aggregation-listen "127.0.0.1:$P1" --payments-listen "127.0.0.1:$P2"
compat_check_bootstrap dwolla

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
  if [[ "$name" == *python ]]; then compat_counts pytest "$out"; else compat_counts node "$out"; fi
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
compat_stop_server
if [[ "$server_rc" != 0 ]]; then FAILED=1; fi

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
    compat_pg_create "${PG_DB}_visa"
    VISA_DATABASE_URL="$(compat_pg_url "${PG_DB}_visa")"
  fi
  compat_free_ports 3
  V1="${PORTS[0]}" V2="${PORTS[1]}" V3="${PORTS[2]}"
  VISA_REDIRECT_URL="http://127.0.0.1:$V3/create-funding-source"
  SERVER_LOG="$WORK/server-visa.log"
  log "starting the Visa server (aggregation http://127.0.0.1:$V1, payments http://127.0.0.1:$V2, redirect URL $VISA_REDIRECT_URL)"
  compat_start_server "http://127.0.0.1:$V1" \
    OPENIAV_DATABASE_URL="$VISA_DATABASE_URL" \
    OPENIAV_SANDBOX_REDIRECT_URLS="$VISA_REDIRECT_URL" \
    -- --visa-partner --aggregation-listen "127.0.0.1:$V1" --payments-listen "127.0.0.1:$V2"
  export DWOLLA_BASE_URL="http://127.0.0.1:$V2" MX_BASE_URL="http://127.0.0.1:$V1" VISA_REDIRECT_URL
  for suite in $VISA_SUITES; do
    case "$suite" in
      node-v2)
        run_suite visa-node-v2 bash -c 'cd "$1" && node --test --test-reporter=spec node-v2/visa.test.mjs' _ "$HERE" ;;
      python)
        run_suite visa-python bash -c 'cd "$1" && "$2/bin/python" -m pytest -p no:cacheprovider tests/test_visa.py' _ "$PY_DIR" "$VENV" ;;
    esac
  done
  compat_stop_server visa_rc "Visa server"
  if [[ "$visa_rc" != 0 ]]; then
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

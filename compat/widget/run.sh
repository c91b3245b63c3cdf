#!/usr/bin/env bash
# Drives openiav's Connect widget in a real browser: Debian's Chromium (through playwright-core)
# opens a host page on an origin of its own, which embeds the widget with MX's unmodified web
# widget SDK (@mxenabled/web-widget-sdk 0.0.15). Each test creates a user and a widget URL through
# the real API, clicks through the widget, screenshots every step and checks the SDK callbacks.
#
#   bash compat/widget/run.sh
#
# Environment:
#   OPENIAV_BIN              binary to test (default: <repo>/target/release/openiav)
#   OPENIAV_DATABASE_URL     sqlite://… or postgres://… (default: a SQLite file in a fresh temp dir).
#                            For postgres, a fresh database openiav_compat_widget_* is created next to
#                            the one named in the URL (and dropped afterwards).
#   CHROMIUM_PATH            browser binary (default: /usr/bin/chromium, Debian's package `chromium`)
#   WIDGET_SANDBOX_DELAY_MS  sandbox step delay, so that "connecting" is visible (default 300)
#   WIDGET_TESTS             test files to run, relative to compat/widget (default: test/*.test.mjs)
#   COMPAT_KEEP              set to 1 to keep the temp dir (server log, SQLite file) and the postgres database
#
# Screenshots: compat/widget/artifacts/screenshots/<test>/<NN>-<step>.png
# (artifacts/screenshots-postgres/ for a postgres run), cleared at the start of each run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=SCRIPTDIR/../lib/server.sh
source "$HERE/../lib/server.sh"
WIDGET_SANDBOX_DELAY_MS="${WIDGET_SANDBOX_DELAY_MS:-300}"
compat_init widget
compat_require_binary
compat_require_tools node npm python3 curl
compat_require_chromium
compat_workdir

# --- database ------------------------------------------------------------------------------
compat_database openiav_compat_widget
SHOTS="$HERE/artifacts/screenshots${PG_DB:+-postgres}"

# --- dependencies ----------------------------------------------------------------------------
installed() { node -p "try { require('$HERE/node_modules/$1/package.json').version } catch (e) { '' }"; }
wanted() { node -p "require('$HERE/package.json').dependencies['$1']"; }
if [[ "$(installed @mxenabled/web-widget-sdk)" != "$(wanted @mxenabled/web-widget-sdk)" \
   || "$(installed playwright-core)" != "$(wanted playwright-core)" \
   || ! "$HERE/node_modules/.package-lock.json" -nt "$HERE/package-lock.json" ]]; then
  log "installing Node dependencies (npm ci)"
  # playwright-core downloads no browser by itself; the variable only makes sure of it.
  (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2)
fi

rm -rf "$SHOTS"
mkdir -p "$SHOTS"

# --- server --------------------------------------------------------------------------------
compat_free_ports 2
P1="${PORTS[0]}" P2="${PORTS[1]}"
BASE="http://127.0.0.1:$P1"

log "starting $OPENIAV_BIN (aggregation $BASE, payments http://127.0.0.1:$P2, sandbox delay ${WIDGET_SANDBOX_DELAY_MS} ms)"
compat_start_server "$BASE" \
  OPENIAV_SANDBOX_DELAY_MS="$WIDGET_SANDBOX_DELAY_MS" \
  -- --aggregation-listen "127.0.0.1:$P1" --payments-listen "127.0.0.1:$P2"
compat_check_bootstrap mx

export MX_BASE_URL="$BASE" MX_CLIENT_ID MX_API_KEY CHROMIUM_PATH
export WIDGET_SCREENSHOT_DIR="$SHOTS"

# --- suite ---------------------------------------------------------------------------------
OUT="$WORK/node.out"
log "===== widget suite ====="
start=$SECONDS
suite_rc=0
(
  cd "$HERE"
  # shellcheck disable=SC2086
  node --test --test-reporter=spec ${WIDGET_TESTS:-test/*.test.mjs}
) 2>&1 | tee "$OUT" || suite_rc=$?
compat_counts node "$OUT"
# A suite that crashed before reporting still counts as a failure.
if [[ "$suite_rc" != 0 && "$failed" == 0 ]]; then failed=1; fi
elapsed=$((SECONDS - start))

# --- shutdown ------------------------------------------------------------------------------
compat_stop_server

shots="$(find "$SHOTS" -name '*.png' | wc -l)"
echo
echo "===== compat/widget summary ($OPENIAV_BIN, ${PG_DB:+postgres }${PG_DB:-sqlite}) ====="
printf '  %-8s %s\n' suite "$([[ "$suite_rc" == 0 ]] && echo passed || echo "FAILED (exit $suite_rc)"): $passed passed, $failed failed (${elapsed} s)"
printf '  %-8s %s\n' shots "$shots screenshots in ${SHOTS#"$REPO"/}"
printf '  %-8s %s\n' server "exit status $server_rc after SIGTERM"
if [[ "$server_rc" != 0 ]]; then failed=$((failed + 1)); fi

if [[ "$suite_rc" != 0 || "$server_rc" != 0 ]]; then
  print_server_log
  echo "compat/widget: FAILED"
  echo "compat/widget: $passed passed, $failed failed"
  exit 1
fi
echo "compat/widget: all tests passed"
echo "compat/widget: $passed passed, $failed failed"

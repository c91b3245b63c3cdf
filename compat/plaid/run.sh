#!/usr/bin/env bash
# Completes openiav's Plaid Link stand-in in Debian's Chromium from front ends written for
# Plaid (react-plaid-link 5.0.0's usePlaidLink, and a plain Plaid.create page), with Plaid's
# CDN script answered by openiav's (complete_link.mjs). Link tokens come from Dwolla-style
# exchange sessions on the payments API; compat/dwolla runs the whole Plaid flow through
# Dwolla's SDKs with the same helper.
#
#   bash compat/plaid/run.sh
#
# Environment:
#   OPENIAV_BIN     binary to test (default: <repo>/target/release/openiav); nothing is built
#   CHROMIUM_PATH   browser binary (default: /usr/bin/chromium, Debian's package `chromium`)
#   COMPAT_KEEP     set to 1 to keep the temp dir (server log, SQLite file)
#
# Screenshots: compat/plaid/artifacts/screenshots/<react|plain>/NN-<step>.png, cleared each run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=SCRIPTDIR/../lib/server.sh
source "$HERE/../lib/server.sh"
compat_init plaid
compat_require_binary
compat_require_tools node npm python3 curl
compat_require_chromium

# shellcheck source=SCRIPTDIR/ensure_deps.sh
source "$HERE/ensure_deps.sh"
plaid_ensure_deps "$HERE"

compat_workdir
# Always SQLite: this suite does not read OPENIAV_DATABASE_URL.
DATABASE_URL="sqlite://$WORK/openiav.db"

SHOTS="$HERE/artifacts/screenshots"
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

compat_free_ports 2
P1="${PORTS[0]}" P2="${PORTS[1]}"
MX_BASE="http://127.0.0.1:$P1"
DWOLLA_BASE="http://127.0.0.1:$P2"

log "starting $OPENIAV_BIN (aggregation and Link $MX_BASE, payments $DWOLLA_BASE)"
compat_start_server "$MX_BASE" -- --aggregation-listen "127.0.0.1:$P1" --payments-listen "127.0.0.1:$P2"

export DWOLLA_BASE_URL="$DWOLLA_BASE" MX_BASE_URL="$MX_BASE" DWOLLA_KEY DWOLLA_SECRET CHROMIUM_PATH
export PLAID_SCREENSHOT_DIR="$SHOTS"
rc=0
(cd "$HERE" && node --test --test-reporter=spec test/*.test.mjs) || rc=$?
if [[ "$rc" != 0 ]]; then
  print_server_log
  echo "compat/plaid: FAILED"
  exit 1
fi
echo "compat/plaid: passed ($(find "$SHOTS" -name '*.png' | wc -l) screenshots in ${SHOTS#"$REPO"/})"

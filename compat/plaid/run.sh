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
OPENIAV_BIN="${OPENIAV_BIN:-$REPO/target/release/openiav}"
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
COMPAT_KEEP="${COMPAT_KEEP:-0}"

MX_CLIENT_ID="compat-mx-client-0000-000000000001"
MX_API_KEY="compat0mx0api0key0000000000000000000001"
DWOLLA_KEY="compat0dwolla0key000000000000000000000000000001"
DWOLLA_SECRET="compat0dwolla0secret0000000000000000000000000001"
ENCRYPTION_KEY="00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

log() { printf '[compat/plaid] %s\n' "$*" >&2; }

[[ -x "$OPENIAV_BIN" ]] || { log "binary not found: $OPENIAV_BIN (cargo build --release -p openiav-server)"; exit 2; }
for tool in node npm python3 curl; do
  command -v "$tool" >/dev/null || { log "missing required tool: $tool"; exit 2; }
done
[[ -x "$CHROMIUM_PATH" ]] || { log "no browser at $CHROMIUM_PATH (apt-get install chromium, or set CHROMIUM_PATH)"; exit 2; }

# shellcheck source=ensure_deps.sh
source "$HERE/ensure_deps.sh"
plaid_ensure_deps "$HERE"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/openiav-compat-plaid.XXXXXX")"
SERVER_LOG="$WORK/server.log"
SERVER_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ "$COMPAT_KEEP" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SHOTS="$HERE/artifacts/screenshots"
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

read -r P1 P2 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
MX_BASE="http://127.0.0.1:$P1"
DWOLLA_BASE="http://127.0.0.1:$P2"

log "starting $OPENIAV_BIN (aggregation and Link $MX_BASE, payments $DWOLLA_BASE)"
OPENIAV_DATABASE_URL="sqlite://$WORK/openiav.db" \
OPENIAV_ENCRYPTION_KEY="$ENCRYPTION_KEY" \
OPENIAV_SANDBOX_MX_CLIENT_ID="$MX_CLIENT_ID" \
OPENIAV_SANDBOX_MX_API_KEY="$MX_API_KEY" \
OPENIAV_SANDBOX_DWOLLA_KEY="$DWOLLA_KEY" \
OPENIAV_SANDBOX_DWOLLA_SECRET="$DWOLLA_SECRET" \
RUST_LOG="${RUST_LOG:-info}" \
  "$OPENIAV_BIN" serve --aggregation-listen "127.0.0.1:$P1" --payments-listen "127.0.0.1:$P2" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  kill -0 "$SERVER_PID" 2>/dev/null || break
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "$MX_BASE/health" || true)" == 200 ]] && break
  sleep 0.1
done
if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$MX_BASE/health" || true)" != 200 ]]; then
  log "server did not become healthy"; cat "$SERVER_LOG" >&2; exit 1
fi

export DWOLLA_BASE_URL="$DWOLLA_BASE" MX_BASE_URL="$MX_BASE" DWOLLA_KEY DWOLLA_SECRET CHROMIUM_PATH
export PLAID_SCREENSHOT_DIR="$SHOTS"
rc=0
(cd "$HERE" && node --test --test-reporter=spec test/*.test.mjs) || rc=$?
if [[ "$rc" != 0 ]]; then
  log "----- server log -----"; cat "$SERVER_LOG" >&2
  echo "compat/plaid: FAILED"
  exit 1
fi
echo "compat/plaid: passed ($(find "$SHOTS" -name '*.png' | wc -l) screenshots in ${SHOTS#"$REPO"/})"

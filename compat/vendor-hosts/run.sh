#!/usr/bin/env bash
# Vendor-host mode the way a user runs it: `openiav serve --vendor-hosts` on the vendors' port
# (443), the vendors' hosts sent to it by a hosts file, its CA trusted through
# NODE_EXTRA_CA_CERTS=$(openiav ca path), and seed 000 run by unchanged SDKs that hard-code the
# vendors' hosts:
#   dwolla-v2 3.4.2        new Client({ key, secret, environment: 'sandbox' })  (nothing assigned after)
#   mx-platform-node 2.1.0 new Configuration({ username, password, baseOptions })  (no basePath)
# (seed000.test.mjs; it shares compat/dwolla/lib/common.mjs with the Dwolla suites), then
#   dwollav2 2.3.0               dwollav2.Client(key=…, secret=…, environment="sandbox")
#   mx-platform-python 1.12.0    Configuration(username=…, password=…)  (no host)
# (python/test_vendor_hosts.py, in compat/dwolla's venv), trusting the CA through
# REQUESTS_CA_BUNDLE (requests) and SSL_CERT_FILE (urllib3's default context).
#
# The hosts override: the SDK process runs in a mount namespace of its own (`unshare --mount`,
# as root) in which a temporary hosts file is bind-mounted over /etc/hosts, so the machine's
# /etc/hosts is never touched and nothing outside the test resolves the vendors' hosts to
# openiav. The network namespace is the machine's (the server may use PostgreSQL on it); the
# server listens on a loopback address of its own (VENDOR_HOSTS_IP, default 127.43.0.1), so port
# 443 on 127.0.0.1 stays free. The end user completes the exchange session's widget in Debian's
# Chromium (compat/dwolla/browser/complete_widget.mjs, MX's web-widget-sdk), which resolves the
# widget host through the same hosts file and trusts the CA through an NSS database made in a
# temporary $HOME (certutil, Debian's libnss3-tools); the MX-side widget URL is completed over
# HTTP as the page's script does it. Screenshots: compat/vendor-hosts/artifacts/screenshots/
# (screenshots-postgres/ for a postgres run).
#
#   bash compat/vendor-hosts/run.sh
#
# Environment:
#   OPENIAV_BIN           binary to test (default: <repo>/target/release/openiav); nothing is built
#   OPENIAV_DATABASE_URL  sqlite://… or postgres://… (default: a SQLite file in a fresh temp dir).
#                         For postgres, a fresh database openiav_compat_vhosts_* is created next to
#                         the one named in the URL (and dropped afterwards).
#   VENDOR_HOSTS_IP       the loopback address the vendor hosts resolve to (default 127.43.0.1)
#   CHROMIUM_PATH         browser binary (default: /usr/bin/chromium, Debian's package `chromium`)
#   COMPAT_KEEP           set to 1 to keep the temp dir (server log, CA, hosts file) and the database
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OPENIAV_BIN="${OPENIAV_BIN:-$REPO/target/release/openiav}"
VENDOR_HOSTS_IP="${VENDOR_HOSTS_IP:-127.43.0.1}"
COMPAT_KEEP="${COMPAT_KEEP:-0}"
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
HOSTS="api-sandbox.dwolla.com api.dwolla.com int-api.mx.com api.mx.com int-widgets.moneydesktop.com widgets.moneydesktop.com"

MX_CLIENT_ID="compat-mx-client-0000-000000000001"
MX_API_KEY="compat0mx0api0key0000000000000000000001"
DWOLLA_KEY="compat0dwolla0key000000000000000000000000000001"
DWOLLA_SECRET="compat0dwolla0secret0000000000000000000000000001"
ENCRYPTION_KEY="00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

log() { printf '[compat/vendor-hosts] %s\n' "$*" >&2; }

if [[ ! -x "$OPENIAV_BIN" ]]; then
  log "binary not found or not executable: $OPENIAV_BIN (build it with: cargo build --release -p openiav-server)"
  exit 2
fi
for tool in node npm curl unshare mount python3 certutil; do
  command -v "$tool" >/dev/null || { log "missing required tool: $tool (certutil: apt-get install libnss3-tools)"; exit 2; }
done
if [[ ! -x "$CHROMIUM_PATH" ]]; then
  log "no browser at $CHROMIUM_PATH: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH"
  exit 2
fi
if [[ "$(id -u)" != 0 ]]; then
  log "needs root: the server binds port 443 and the SDK process gets its hosts file through a bind mount in its own mount namespace"
  exit 2
fi
if ! unshare --mount --propagation private true 2>/dev/null; then
  log "cannot make a mount namespace here (unshare --mount failed); no other hosts override is used"
  exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/openiav-compat-vhosts.XXXXXX")"
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
    PG_DB="openiav_compat_vhosts_$(date +%s)_$$_$RANDOM"
    psql -q -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    DATABASE_URL="$(printf '%s' "$PG_ADMIN_URL" | sed -E "s#^(postgres(ql)?://[^/?]+)(/[^?]*)?(\\?.*)?\$#\\1/$PG_DB\\4#")"
    SHOTS="$HERE/artifacts/screenshots-postgres"
    log "database: fresh PostgreSQL database $PG_DB"
    ;;
  sqlite:*) log "database: $DATABASE_URL" ;;
  *) log "unsupported OPENIAV_DATABASE_URL: $DATABASE_URL"; exit 2 ;;
esac

# --- dependencies ----------------------------------------------------------------------------
installed() { node -p "try { require('$HERE/node_modules/$1/package.json').version } catch (e) { '' }"; }
wanted() { node -p "require('$HERE/package.json').dependencies['$1']"; }
need_npm=0
for dep in dwolla-v2 mx-platform-node; do
  [[ "$(installed "$dep")" == "$(wanted "$dep")" ]] || need_npm=1
done
[[ "$HERE/node_modules/.package-lock.json" -nt "$HERE/package-lock.json" ]] || need_npm=1
if [[ "$need_npm" == 1 ]]; then
  log "installing Node dependencies (npm ci)"
  (cd "$HERE" && npm ci --no-audit --no-fund >&2)
fi
# The browser step is compat/dwolla's, with that suite's pinned playwright-core and web-widget-sdk.
DWOLLA_DIR="$REPO/compat/dwolla"
installed_in() { node -p "try { require('$1/node_modules/$2/package.json').version } catch (e) { '' }"; }
wanted_in() { node -p "require('$1/package.json').dependencies['$2']"; }
need_npm=0
for dep in playwright-core @mxenabled/web-widget-sdk; do
  [[ "$(installed_in "$DWOLLA_DIR" "$dep")" == "$(wanted_in "$DWOLLA_DIR" "$dep")" ]] || need_npm=1
done
if [[ "$need_npm" == 1 ]]; then
  log "installing compat/dwolla's Node dependencies (npm ci) for its browser helper"
  (cd "$DWOLLA_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2)
fi
# The Python suite uses compat/dwolla's venv (dwollav2 and mx-platform-python, pinned there).
PY_DIR="$DWOLLA_DIR/python"
VENV="$PY_DIR/.venv"
req_sum="$(sha256sum "$PY_DIR/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$req_sum" ]]; then
  log "creating compat/dwolla's Python venv ($VENV) from its requirements.txt"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$PY_DIR/requirements.txt" >&2
  printf '%s\n' "$req_sum" > "$VENV/.requirements.sha256"
fi
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

# --- the CA, as a user gets it (before any server runs) --------------------------------------
VH_DIR="$WORK/vendor-hosts"
CA_FILE="$("$OPENIAV_BIN" ca path --vendor-hosts-dir "$VH_DIR")"
[[ -s "$CA_FILE" ]] || { log "openiav ca path printed $CA_FILE, which is not a file"; exit 1; }
log "CA to trust: $CA_FILE"
# Chromium's trust store on Linux: an NSS database in $HOME, here a temporary one.
BROWSER_HOME="$WORK/home"
mkdir -p "$BROWSER_HOME/.pki/nssdb"
certutil -N -d "sql:$BROWSER_HOME/.pki/nssdb" --empty-password
certutil -A -d "sql:$BROWSER_HOME/.pki/nssdb" -t "C,," -n "openiav vendor-host CA" -i "$CA_FILE"

# --- server --------------------------------------------------------------------------------
read -r P1 P2 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
')
log "starting $OPENIAV_BIN serve --vendor-hosts on $VENDOR_HOSTS_IP:443 (plain listeners on 127.0.0.1:$P1 and :$P2)"
OPENIAV_DATABASE_URL="$DATABASE_URL" \
OPENIAV_ENCRYPTION_KEY="$ENCRYPTION_KEY" \
OPENIAV_SANDBOX_MX_CLIENT_ID="$MX_CLIENT_ID" \
OPENIAV_SANDBOX_MX_API_KEY="$MX_API_KEY" \
OPENIAV_SANDBOX_DWOLLA_KEY="$DWOLLA_KEY" \
OPENIAV_SANDBOX_DWOLLA_SECRET="$DWOLLA_SECRET" \
RUST_LOG="${RUST_LOG:-info}" \
  "$OPENIAV_BIN" serve --aggregation-listen "127.0.0.1:$P1" --payments-listen "127.0.0.1:$P2" \
  --vendor-hosts --vendor-hosts-listen "$VENDOR_HOSTS_IP:443" --vendor-hosts-dir "$VH_DIR" \
  >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 1 300); do
  kill -0 "$SERVER_PID" 2>/dev/null || break
  if [[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_FILE" \
        --resolve "api-sandbox.dwolla.com:443:$VENDOR_HOSTS_IP" https://api-sandbox.dwolla.com/health || true)" == 200 ]]; then
    ready=1
    break
  fi
  sleep 0.1
done
if [[ "$ready" != 1 ]]; then
  log "the server did not answer https://api-sandbox.dwolla.com/health on $VENDOR_HOSTS_IP:443 within 30 s"
  print_server_log
  exit 1
fi
log "server is healthy over TLS (pid $SERVER_PID)"

# --- the hosts override: a hosts file of the SDK process's own mount namespace ---------------
HOSTS_FILE="$WORK/hosts"
{ cat /etc/hosts; printf '%s %s\n' "$VENDOR_HOSTS_IP" "$HOSTS"; } > "$HOSTS_FILE"

# --- suites --------------------------------------------------------------------------------
# Each runs in a mount namespace of its own with the hosts file over /etc/hosts, trusting the CA
# the way its HTTP client looks for roots.
in_namespace() {
  NODE_EXTRA_CA_CERTS="$CA_FILE" REQUESTS_CA_BUNDLE="$CA_FILE" SSL_CERT_FILE="$CA_FILE" \
  DWOLLA_BASE_URL="https://api-sandbox.dwolla.com" \
  MX_BASE_URL="https://int-widgets.moneydesktop.com" \
  DWOLLA_KEY="$DWOLLA_KEY" DWOLLA_SECRET="$DWOLLA_SECRET" MX_CLIENT_ID="$MX_CLIENT_ID" MX_API_KEY="$MX_API_KEY" \
  VENDOR_HOSTS_IP="$VENDOR_HOSTS_IP" VENDOR_HOSTS_SCREENSHOT_DIR="$SHOTS" CHROMIUM_PATH="$CHROMIUM_PATH" HOME="$BROWSER_HOME" \
    unshare --mount --propagation private bash -c 'mount --bind "$1" /etc/hosts && cd "$2" && shift 2 && exec "$@"' \
    _ "$HOSTS_FILE" "$HERE" "$@"
}
passed=0
failed=0
declare -A RESULT
for suite in node python; do
  out="$WORK/$suite.out"
  rc=0
  case "$suite" in
    node)
      log "===== node: dwolla-v2 (sandbox) + mx-platform-node (default base path), widget in Chromium ====="
      in_namespace node --test --test-reporter=spec seed000.test.mjs 2>&1 | tee "$out" || rc=$?
      p="$(sed -nE 's/^ℹ pass ([0-9]+)$/\1/p' "$out" | tail -1)"
      f="$(sed -nE 's/^ℹ (fail|cancelled) ([0-9]+)$/\2/p' "$out" | awk '{ n += $1 } END { print n + 0 }')"
      ;;
    python)
      log "===== python: dwollav2 (sandbox) + mx-platform-python (default host) ====="
      in_namespace "$VENV/bin/python" -m pytest -p no:cacheprovider -v -W ignore::DeprecationWarning python/test_vendor_hosts.py 2>&1 | tee "$out" || rc=$?
      p="$(grep -E '^=+ .* in [0-9.]+s' "$out" | tail -1 | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)"
      f="$(grep -E '^=+ .* in [0-9.]+s' "$out" | tail -1 | grep -oE '[0-9]+ (failed|errors?)' | awk '{ n += $1 } END { print n + 0 }' || true)"
      ;;
  esac
  p="${p:-0}"
  f="${f:-0}"
  if [[ "$rc" != 0 && "$f" == 0 ]]; then f=1; fi
  RESULT[$suite]="$p passed, $f failed"
  passed=$((passed + p))
  failed=$((failed + f))
done
if getent hosts api-sandbox.dwolla.com >/dev/null 2>&1 && [[ "$(getent hosts api-sandbox.dwolla.com | awk '{print $1}')" == "$VENDOR_HOSTS_IP" ]]; then
  log "the machine's own resolver sends api-sandbox.dwolla.com to openiav: the override leaked"
  failed=$((failed + 1))
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
  failed=$((failed + 1))
fi

echo
echo "===== compat/vendor-hosts summary ($OPENIAV_BIN, ${PG_DB:+postgres }${PG_DB:-sqlite}) ====="
echo "  node     ${RESULT[node]}"
echo "  python   ${RESULT[python]}"
echo "  shots    $(find "$SHOTS" -name '*.png' | wc -l) screenshots in ${SHOTS#"$REPO"/}"
echo "  server   exit status $server_rc after SIGTERM"
if [[ "$failed" != 0 ]]; then
  print_server_log
  echo "compat/vendor-hosts: FAILED"
  echo "compat/vendor-hosts: $passed passed, $failed failed"
  exit 1
fi
echo "compat/vendor-hosts: all passed"
echo "compat/vendor-hosts: $passed passed, $failed failed"

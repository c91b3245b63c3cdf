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
# shellcheck source=SCRIPTDIR/../lib/server.sh
source "$HERE/../lib/server.sh"
VENDOR_HOSTS_IP="${VENDOR_HOSTS_IP:-127.43.0.1}"
HOSTS="api-sandbox.dwolla.com api.dwolla.com int-api.mx.com api.mx.com int-widgets.moneydesktop.com widgets.moneydesktop.com"
compat_init vendor-hosts
compat_require_binary
compat_require_tools node npm curl unshare mount python3 certutil
compat_require_chromium
if [[ "$(id -u)" != 0 ]]; then
  log "needs root: the server binds port 443 and the SDK process gets its hosts file through a bind mount in its own mount namespace"
  exit 2
fi
if ! unshare --mount --propagation private true 2>/dev/null; then
  log "cannot make a mount namespace here (unshare --mount failed); no other hosts override is used"
  exit 2
fi
compat_workdir vhosts

# --- database ------------------------------------------------------------------------------
compat_database openiav_compat_vhosts
SHOTS="$HERE/artifacts/screenshots${PG_DB:+-postgres}"

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
compat_free_ports 2
P1="${PORTS[0]}" P2="${PORTS[1]}"
log "starting $OPENIAV_BIN serve --vendor-hosts on $VENDOR_HOSTS_IP:443 (plain listeners on 127.0.0.1:$P1 and :$P2)"
# Healthy means answering over TLS on the vendor host, with the CA, at VENDOR_HOSTS_IP:443.
COMPAT_HEALTH_CURL_ARGS=(--cacert "$CA_FILE" --resolve "api-sandbox.dwolla.com:443:$VENDOR_HOSTS_IP")
compat_start_server https://api-sandbox.dwolla.com \
  -- --aggregation-listen "127.0.0.1:$P1" --payments-listen "127.0.0.1:$P2" \
  --vendor-hosts --vendor-hosts-listen "$VENDOR_HOSTS_IP:443" --vendor-hosts-dir "$VH_DIR"

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
total_passed=0
total_failed=0
declare -A RESULT
for suite in node python; do
  out="$WORK/$suite.out"
  rc=0
  case "$suite" in
    node)
      log "===== node: dwolla-v2 (sandbox) + mx-platform-node (default base path), widget in Chromium ====="
      in_namespace node --test --test-reporter=spec seed000.test.mjs 2>&1 | tee "$out" || rc=$?
      compat_counts node "$out"
      ;;
    python)
      log "===== python: dwollav2 (sandbox) + mx-platform-python (default host) ====="
      in_namespace "$VENV/bin/python" -m pytest -p no:cacheprovider -v -W ignore::DeprecationWarning python/test_vendor_hosts.py 2>&1 | tee "$out" || rc=$?
      compat_counts pytest "$out"
      ;;
  esac
  if [[ "$rc" != 0 && "$failed" == 0 ]]; then failed=1; fi
  RESULT[$suite]="$passed passed, $failed failed"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
done
if getent hosts api-sandbox.dwolla.com >/dev/null 2>&1 && [[ "$(getent hosts api-sandbox.dwolla.com | awk '{print $1}')" == "$VENDOR_HOSTS_IP" ]]; then
  log "the machine's own resolver sends api-sandbox.dwolla.com to openiav: the override leaked"
  total_failed=$((total_failed + 1))
fi

# --- shutdown ------------------------------------------------------------------------------
compat_stop_server
if [[ "$server_rc" != 0 ]]; then total_failed=$((total_failed + 1)); fi

echo
echo "===== compat/vendor-hosts summary ($OPENIAV_BIN, ${PG_DB:+postgres }${PG_DB:-sqlite}) ====="
echo "  node     ${RESULT[node]}"
echo "  python   ${RESULT[python]}"
echo "  shots    $(find "$SHOTS" -name '*.png' | wc -l) screenshots in ${SHOTS#"$REPO"/}"
echo "  server   exit status $server_rc after SIGTERM"
if [[ "$total_failed" != 0 ]]; then
  print_server_log
  echo "compat/vendor-hosts: FAILED"
  echo "compat/vendor-hosts: $total_passed passed, $total_failed failed"
  exit 1
fi
echo "compat/vendor-hosts: all passed"
echo "compat/vendor-hosts: $total_passed passed, $total_failed failed"

# shellcheck shell=bash
# What the compat suites' drivers (compat/<suite>/run.sh) share, sourced by each of them right
# after its `set -euo pipefail`: everything about the openiav server a suite runs against, and
# none of the suite itself. It owns
#   - the fixed sandbox-tenant test credentials (MX_CLIENT_ID, MX_API_KEY, DWOLLA_KEY,
#     DWOLLA_SECRET) and the fixed ENCRYPTION_KEY, as plain variables (a suite exports what its
#     tests need);
#   - `log`, which prefixes every line with [compat/<suite>] and writes it to stderr;
#   - the prerequisite checks, which exit 2 (binary, tools, Chromium);
#   - the temp dir WORK (with SERVER_LOG in it) and the EXIT/INT/TERM traps that clean up: stop a
#     server still running, drop the scratch PostgreSQL databases unless COMPAT_KEEP=1, remove WORK
#     unless COMPAT_KEEP=1;
#   - the database: a SQLite file in WORK, or a fresh PostgreSQL database created next to the one
#     OPENIAV_DATABASE_URL names (same server, user and query string);
#   - free loopback ports, starting `openiav serve` with the credentials and waiting for /health
#     (30 s), stopping it with SIGTERM (it must exit, with status 0, within 15 s), its log;
#   - reading the counts from node's spec reporter or pytest's closing line.
# Each run.sh keeps its own header (the environment it honours), dependency installation, suites
# and summary lines.
#
# Environment honoured here: OPENIAV_BIN (default <repo>/target/release/openiav),
# OPENIAV_DATABASE_URL (compat_database), COMPAT_KEEP, CHROMIUM_PATH (compat_require_chromium,
# default /usr/bin/chromium), RUST_LOG (the server's, default info), TMPDIR.
#
# A run.sh uses it like this:
#   source "$HERE/../lib/server.sh"
#   compat_init widget                              # log prefix, OPENIAV_BIN and COMPAT_KEEP
#   compat_require_binary
#   compat_require_tools node npm python3 curl
#   compat_require_chromium
#   compat_workdir                                  # WORK, SERVER_LOG, the traps
#   compat_database openiav_compat_widget           # DATABASE_URL (and PG_DB, PG_ADMIN_URL)
#   compat_free_ports 2                             # PORTS=(p1 p2)
#   compat_start_server "http://127.0.0.1:${PORTS[0]}" OPENIAV_SANDBOX_DELAY_MS=0 \
#     -- --aggregation-listen "127.0.0.1:${PORTS[0]}" --payments-listen "127.0.0.1:${PORTS[1]}"
#   …the suites (compat_counts node "$out" sets passed and failed)…
#   compat_stop_server                              # server_rc
# The traps are set in the sourcing shell (a function's `trap` is the shell's), so they fire on
# every exit of the run.sh, `set -e` ones included.

COMPAT_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# shellcheck disable=SC2034  # used by the suites that source this file
{
  MX_CLIENT_ID="compat-mx-client-0000-000000000001"
  MX_API_KEY="compat0mx0api0key0000000000000000000001"
  DWOLLA_KEY="compat0dwolla0key000000000000000000000000000001"
  DWOLLA_SECRET="compat0dwolla0secret0000000000000000000000000001"
  ENCRYPTION_KEY="00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
}

COMPAT_NAME=""
WORK=""
SERVER_LOG=""
SERVER_PID=""
DATABASE_URL=""
PG_ADMIN_URL=""
PG_DB=""
COMPAT_PG_DBS=()            # every scratch database made here, dropped by the cleanup
COMPAT_HEALTH_CURL_ARGS=()  # extra curl arguments for the /health probe (vendor-hosts: TLS)
PORTS=()
# shellcheck disable=SC2034  # read by the suites
server_rc=0                 # set by compat_stop_server

# compat_init <suite>: the log prefix (compat/<suite>) and the defaults of OPENIAV_BIN and COMPAT_KEEP.
compat_init() {
  COMPAT_NAME="$1"
  OPENIAV_BIN="${OPENIAV_BIN:-$COMPAT_REPO/target/release/openiav}"
  COMPAT_KEEP="${COMPAT_KEEP:-0}"
}

log() { printf '[compat/%s] %s\n' "$COMPAT_NAME" "$*" >&2; }

compat_require_binary() {
  if [[ ! -x "$OPENIAV_BIN" ]]; then
    log "binary not found or not executable: $OPENIAV_BIN (build it with: cargo build --release -p openiav-server)"
    exit 2
  fi
}

# compat_require_tools <tool>…: exits 2 naming the first one missing from PATH.
compat_require_tools() {
  local tool hint
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    case "$tool" in
      certutil) hint=" (apt-get install libnss3-tools)" ;;
      psql) hint=" (apt-get install postgresql-client)" ;;
      *) hint="" ;;
    esac
    log "missing required tool: $tool$hint"
    exit 2
  done
}

# compat_require_chromium: CHROMIUM_PATH (default /usr/bin/chromium) must be executable.
compat_require_chromium() {
  CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
  if [[ ! -x "$CHROMIUM_PATH" ]]; then
    log "no browser at $CHROMIUM_PATH: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH"
    exit 2
  fi
}

# shellcheck disable=SC2120  # the tag is optional
# compat_workdir [<tag>]: WORK=$TMPDIR/openiav-compat-<tag>.XXXXXX (tag: the suite's name),
# SERVER_LOG in it, and the traps that clean up.
compat_workdir() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/openiav-compat-${1:-$COMPAT_NAME}.XXXXXX")"
  SERVER_LOG="$WORK/server.log"
  SERVER_PID=""
  trap compat_cleanup EXIT
  trap 'exit 130' INT TERM
}

# The EXIT trap: keeps the exit status it was called with.
compat_cleanup() {
  local rc=$? db
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ "$COMPAT_KEEP" != 1 ]]; then
    for db in "${COMPAT_PG_DBS[@]}"; do
      psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
  fi
  if [[ "$COMPAT_KEEP" == 1 ]]; then
    log "kept $WORK${PG_DB:+ and database $PG_DB}"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}

print_server_log() {
  log "----- server log ($SERVER_LOG) -----"
  cat "$SERVER_LOG" >&2 || true
  log "----- end of server log -----"
}

# compat_database <prefix>: DATABASE_URL from OPENIAV_DATABASE_URL, default a SQLite file in
# WORK. For a postgres URL, a fresh database <prefix>_<time>_<pid>_<random> is created on that
# server (PG_DB; PG_ADMIN_URL is the URL given) and DATABASE_URL names it; the cleanup drops it.
compat_database() {
  local prefix="$1"
  DATABASE_URL="${OPENIAV_DATABASE_URL:-sqlite://$WORK/openiav.db}"
  case "$DATABASE_URL" in
    postgres://*|postgresql://*)
      command -v psql >/dev/null || { log "psql is needed for a postgres database URL"; exit 2; }
      PG_ADMIN_URL="$DATABASE_URL"
      PG_DB="${prefix}_$(date +%s)_$$_$RANDOM"
      compat_pg_create "$PG_DB"
      DATABASE_URL="$(compat_pg_url "$PG_DB")"
      log "database: fresh PostgreSQL database $PG_DB"
      ;;
    sqlite:*)
      log "database: $DATABASE_URL"
      ;;
    *)
      log "unsupported OPENIAV_DATABASE_URL: $DATABASE_URL"; exit 2 ;;
  esac
}

# compat_pg_create <db>: creates the database on PG_ADMIN_URL's server; the cleanup drops it.
compat_pg_create() {
  COMPAT_PG_DBS+=("$1")
  psql -q -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" -c "CREATE DATABASE \"$1\"" >/dev/null
}

# compat_pg_url <db>: PG_ADMIN_URL with <db> in place of its path (same server and user; the
# query string is kept).
compat_pg_url() {
  printf '%s' "$PG_ADMIN_URL" | sed -E "s#^(postgres(ql)?://[^/?]+)(/[^?]*)?(\\?.*)?\$#\\1/$1\\4#"
}

# compat_free_ports <n>: PORTS=(n ports free on 127.0.0.1 a moment ago).
compat_free_ports() {
  PORTS=()
  read -r -a PORTS < <(python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
' "$1")
  if [[ "${#PORTS[@]}" != "$1" ]]; then
    log "could not pick $1 free ports"
    exit 1
  fi
}

# compat_start_server <base-url> [NAME=VALUE…] -- <serve arguments…>
# Starts `$OPENIAV_BIN serve <serve arguments…>` in the background (SERVER_PID, output to
# SERVER_LOG) with DATABASE_URL, ENCRYPTION_KEY, the sandbox tenant's credentials and RUST_LOG
# (default info) in its environment, then the NAME=VALUE assignments (which may override those),
# and waits for <base-url>/health to answer 200 (curl with COMPAT_HEALTH_CURL_ARGS). Exits 1 with
# the server log if it does not within 30 s or the server dies.
compat_start_server() {
  local base="$1" assignment
  shift
  local -a extra_env=()
  while [[ $# -gt 0 && "$1" != -- ]]; do
    extra_env+=("$1")
    shift
  done
  if [[ "${1:-}" != -- ]]; then
    log "compat_start_server: no -- before the serve arguments"
    exit 2
  fi
  shift
  (
    export OPENIAV_DATABASE_URL="$DATABASE_URL" \
      OPENIAV_ENCRYPTION_KEY="$ENCRYPTION_KEY" \
      OPENIAV_SANDBOX_MX_CLIENT_ID="$MX_CLIENT_ID" \
      OPENIAV_SANDBOX_MX_API_KEY="$MX_API_KEY" \
      OPENIAV_SANDBOX_DWOLLA_KEY="$DWOLLA_KEY" \
      OPENIAV_SANDBOX_DWOLLA_SECRET="$DWOLLA_SECRET" \
      RUST_LOG="${RUST_LOG:-info}"
    for assignment in "${extra_env[@]}"; do
      export "${assignment?}"
    done
    exec "$OPENIAV_BIN" serve "$@"
  ) >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!

  local ready=0 _try
  for _try in $(seq 1 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "${COMPAT_HEALTH_CURL_ARGS[@]}" "$base/health" || true)" == 200 ]]; then
      ready=1
      break
    fi
    sleep 0.1
  done
  if [[ "$ready" != 1 ]]; then
    log "server did not become healthy on $base/health within 30 s"
    print_server_log
    exit 1
  fi
  log "server is healthy (pid $SERVER_PID)"
}

# compat_check_bootstrap mx|dwolla: warns (only) when the server log does not show the sandbox
# tenant bootstrapped with the test MX client_id, or the test Dwolla key.
compat_check_bootstrap() {
  case "$1" in
    mx)
      grep -q "client_id: $MX_CLIENT_ID" "$SERVER_LOG" ||
        log "warning: the server did not report bootstrapping a sandbox tenant with the test credentials"
      ;;
    dwolla)
      grep -q "key:  *$DWOLLA_KEY" "$SERVER_LOG" ||
        log "warning: the server did not report bootstrapping a sandbox tenant with the test Dwolla key"
      ;;
  esac
}

# shellcheck disable=SC2120  # both arguments are optional
# compat_stop_server [<status variable> [<label>]]: SIGTERM to SERVER_PID, SIGKILL after 15 s
# (status 137); sets the variable (default server_rc) to the server's exit status and logs it
# when it is not 0. The label (default "server") names the server in the log lines.
compat_stop_server() {
  local var="${1:-server_rc}" label="${2:-server}" rc=0 _try
  log "stopping the $label with SIGTERM"
  kill -TERM "$SERVER_PID"
  for _try in $(seq 1 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    log "$label did not exit within 15 s of SIGTERM"
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    rc=137
    wait "$SERVER_PID" 2>/dev/null || true
  else
    wait "$SERVER_PID" || rc=$?
  fi
  SERVER_PID=""
  if [[ "$rc" != 0 ]]; then
    log "$label exited with status $rc after SIGTERM (expected 0)"
  fi
  printf -v "$var" '%s' "$rc"
}

# compat_counts node|pytest <output file>: sets passed and failed (the caller's locals, when it
# has them) from the closing lines of node's spec reporter (pass; fail + cancelled) or of pytest
# (passed; failed + errors); 0 for what is not there.
compat_counts() {
  case "$1" in
    node)
      passed="$(sed -nE 's/^ℹ pass ([0-9]+)$/\1/p' "$2" | tail -1)"
      failed="$(sed -nE 's/^ℹ (fail|cancelled) ([0-9]+)$/\2/p' "$2" | awk '{ n += $1 } END { print n + 0 }')"
      ;;
    pytest)
      passed="$(grep -E '^=+ .* in [0-9.]+s' "$2" | tail -1 | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)"
      failed="$(grep -E '^=+ .* in [0-9.]+s' "$2" | tail -1 | grep -oE '[0-9]+ (failed|errors?)' | awk '{ n += $1 } END { print n + 0 }' || true)"
      ;;
    *)
      log "compat_counts: unknown runner $1"
      exit 2
      ;;
  esac
  passed="${passed:-0}"
  failed="${failed:-0}"
}

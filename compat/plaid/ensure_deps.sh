# Installs compat/plaid's Node dependencies (npm ci) when node_modules is missing or stale: a
# pinned version differs from the installed one, or the lockfile is newer than the install.
# Sourced by compat/plaid/run.sh and compat/dwolla/run.sh.
plaid_ensure_deps() {
  local dir="$1" need=0 dep have want
  for dep in react react-dom react-plaid-link esbuild playwright-core; do
    have="$(node -p "try { require('$dir/node_modules/$dep/package.json').version } catch (e) { '' }")"
    want="$(node -p "require('$dir/package.json').dependencies['$dep']")"
    [[ "$have" == "$want" ]] || need=1
  done
  [[ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]] || need=1
  if [[ "$need" == 1 ]]; then
    printf '[compat/plaid] installing Node dependencies (npm ci)\n' >&2
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2)
  fi
}

#!/usr/bin/env bash
# Installs the heavy tools test/graph-render.test.ts draws with, none of them a dependency of
# guild-fs: Debian's chromium and graphviz (apt, when missing) and mermaid-cli (npm, pinned by
# this folder's package-lock.json) into .cache/test-tools/ (git-ignored). Puppeteer never
# downloads a browser of its own: it is pointed at /usr/bin/chromium. Safe to run again: it does
# nothing when everything is there and the lockfile has not changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/.cache/test-tools"

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test-tools: apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

mkdir -p "$cache"
if ! cmp -s "$here/package-lock.json" "$cache/package-lock.json" || [ ! -x "$cache/node_modules/.bin/mmdc" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$cache/"
  echo "test-tools: npm ci into $cache" >&2
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix "$cache" --no-audit --no-fund --loglevel=error
fi

# The flags this machine's chromium needs headless (without the networking ones, connections are refused).
cat > "$cache/puppeteer-config.json" <<'JSON'
{
  "executablePath": "/usr/bin/chromium",
  "headless": true,
  "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
}
JSON
echo "test-tools: ready in $cache" >&2

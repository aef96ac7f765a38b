#!/usr/bin/env bash
# Installs the heavy tools only the tests use, none of them a dependency of guild-fs, so the quick
# start's install stays small:
#   - Debian's chromium and graphviz (apt, when missing);
#   - each set scripts/test-tools/<set>/ (package.json + the package-lock.json that pins it):
#     graph (mermaid-cli, for test/graph-render.test.ts) and agents (Claude Code, Codex, Gemini
#     CLI, ~750 MB, for test/recipes-*.test.ts).
# A set goes into ${GUILD_TEST_TOOLS:-${XDG_CACHE_HOME:-~/.cache}/guild-fs-test-tools}/<set>-<hash>,
# <hash> from its package.json and lockfile, so a changed set gets a fresh folder and an unchanged
# one is installed once per machine (clean clones and worktrees share it). A folder is used only
# once complete: it is made under a temp name and renamed. `npm ci --ignore-scripts`: no install
# script of the packages runs (Puppeteer never downloads a browser: it is pointed at
# /usr/bin/chromium); what a set needs of them is its own package.json's `postinstall`, run
# after (agents: Claude Code's, which copies its native binary out of the platform package,
# from disk).
#
#   scripts/test-tools/install.sh [SET...]      (default: every set)
# Safe to run again: it does nothing when everything is there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${GUILD_TEST_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/guild-fs-test-tools}"

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test-tools: apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

install_set() {
  local set="$1" hash dir temp
  hash="$(cat "$here/$set/package.json" "$here/$set/package-lock.json" | sha256sum | cut -c1-12)"
  dir="$cache/$set-$hash"
  if [ ! -e "$dir/.installed" ]; then
    temp="$dir.tmp-$$"
    rm -rf "$temp"
    mkdir -p "$temp"
    cp "$here/$set/package.json" "$here/$set/package-lock.json" "$temp/"
    echo "test-tools: npm ci $set into $dir" >&2
    PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix "$temp" --ignore-scripts --no-audit --no-fund --loglevel=error
    npm run --prefix "$temp" --if-present --silent postinstall
    date -u +%FT%TZ > "$temp/.installed"
    # Another install that finished first is as good as ours.
    mv -T "$temp" "$dir" 2>/dev/null || rm -rf "$temp"
  fi
  echo "test-tools: $set ready in $dir" >&2
}

sets=("$@")
[ "${#sets[@]}" -gt 0 ] || sets=(graph agents)
for set in "${sets[@]}"; do install_set "$set"; done

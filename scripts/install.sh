#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine: pnpm (if absent) and the workspace's dependencies.
# Used by the README's first command and by .ci/run, so both stay the same.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pnpm >/dev/null 2>&1; then
  echo "pnpm not found; installing it with npm"
  npm install -g pnpm@12 >/dev/null
fi

# better-sqlite3 compiles from source where no prebuilt binary can be downloaded. pnpm's node-gyp ignores npm's
# `nodedir` setting and would try to download Node's headers; point it at the headers installed with Node instead.
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$(dirname "$(dirname "$(command -v node)")")/include/node/node.h" ]; then
  export npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
fi

# The console's browser tests drive Debian's Chromium (playwright-core; no browser download). As root with apt, install
# it (and CJK fonts, so its pages and screenshots show Chinese) when missing; elsewhere those tests skip and say why.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the console's browser tests (apt-get)"
  if ! (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null); then
    echo "warning: could not install chromium; the console's browser tests will be skipped (under CI=true they fail)" >&2
  fi
fi

if [ "${CI:-}" = "true" ]; then
  pnpm install --frozen-lockfile
else
  pnpm install
fi

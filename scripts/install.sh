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

if [ "${CI:-}" = "true" ]; then
  pnpm install --frozen-lockfile
else
  pnpm install
fi

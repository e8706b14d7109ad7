#!/usr/bin/env bash
# Sets everything up, runs the whole test suite (unit and network-namespace tests), and ends
# with the plain line "N passed, N failed". Exit non-zero on any failure or when no test ran.
# Extra arguments go to vitest (e.g. a file filter). SKIP_SETUP=1 skips scripts/setup.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh || exit 1
# Node 24 from .runtime/ first on PATH: vitest, and the agent the tests start through
# process.execPath, run on it.
. scripts/node-runtime.sh
use_node_runtime || exit 1

if [ "$(id -u)" != 0 ]; then
  echo "test: the network-namespace tests need root (ip netns, nft); run as root" >&2
  exit 1
fi

report=$(mktemp /tmp/egress-router-vitest.XXXXXX.json)
trap 'rm -f "$report"' EXIT
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
node scripts/summarize-vitest.mjs "$report"
summary=$?
[ "$status" = 0 ] && [ "$summary" = 0 ] || exit 1

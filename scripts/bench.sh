#!/usr/bin/env bash
# Benchmarks of the egress router agent (issue 6): see docs/benchmarks.md.
#   scripts/bench.sh            # as root: the full suite, ~10 minutes on 2 cores
#   scripts/bench.sh --quick    # a ~2 minute smoke run
#   scripts/bench.sh --only rate,apply --out /tmp/bench
# Installs what is missing (scripts/setup.sh, plus strace, gcc and libc6-dev), builds dist/
# (the agent is benchmarked as shipped), then runs scripts/bench/main.ts. SKIP_SETUP=1 skips
# scripts/setup.sh, as in scripts/test.sh (then run `npm run build` yourself after a change).
# Reports only: a missed goal never makes it fail (exit 1 only when a suite itself broke).
set -euo pipefail
cd "$(dirname "$0")/.."
case " $* " in
  *" -h "*|*" --help "*|*" --from-json "*) report_only=1 ;;
  *)
    [ "${SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh >&2
    # strace for the profile suite; gcc and the C headers for the rate suite's generator (tools/*.c)
    if ! command -v strace >/dev/null || ! command -v gcc >/dev/null || [ ! -e /usr/include/stdio.h ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace gcc libc6-dev >/dev/null
    fi
    ;;
esac
# The agent is benchmarked on the project's Node 24 (.runtime/), which tsx and the agent it
# starts (process.execPath) pick up from PATH. Help and re-rendering a report run nothing
# and may use whatever node there is.
. scripts/node-runtime.sh
use_node_runtime || [ "${report_only:-}" = 1 ]
exec npx tsx scripts/bench/main.ts "$@"

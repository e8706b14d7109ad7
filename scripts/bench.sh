#!/usr/bin/env bash
# Benchmarks of the egress router agent (issue 6): see docs/benchmarks.md.
#   sudo scripts/bench.sh            # the full suite, ~15 minutes on 2 cores
#   sudo scripts/bench.sh --quick    # a ~2 minute smoke run
#   sudo scripts/bench.sh --only rate,apply --out /tmp/bench
# Builds dist/ first (the agent is benchmarked as shipped), then runs scripts/bench/main.ts.
# Reports only: a missed goal never makes it fail (exit 1 only when a suite itself broke).
set -euo pipefail
cd "$(dirname "$0")/.."
case " $* " in
  *" -h "*|*" --help "*) ;;
  *) npm run --silent build >&2 ;;
esac
exec npx tsx scripts/bench/main.ts "$@"

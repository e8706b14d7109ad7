#!/usr/bin/env bash
# Sets everything up (Debian packages, npm ci, build) and runs the agent's main job on its
# built-in demo: a virtual network in namespaces, the agent in run mode on
# examples/egressrouter.yaml, and traffic through it. Safe to re-run. Extra arguments go to
# the demo (--keep leaves it running; --teardown removes it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/node-runtime.sh
use_node_runtime
exec node dist/cli.js demo "$@"

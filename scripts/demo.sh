#!/usr/bin/env bash
# Sets everything up and runs the agent's main job on its bundled example. Until the
# namespace demo lands, that job is rendering: what the agent would program for
# examples/egressrouter.yaml. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== validate examples/egressrouter.yaml"
node dist/cli.js validate examples/egressrouter.yaml
echo
echo "== render examples/egressrouter.yaml"
node dist/cli.js render examples/egressrouter.yaml

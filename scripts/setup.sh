#!/usr/bin/env bash
# Installs what the agent, its tests and its demo need, then builds. Safe to re-run:
# each step is skipped when already done. Run as root on a Debian-based machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-runtime.sh

# nft and ip are the agent's own tools; arping (ARP probes and gratuitous ARP), ndisc6 (the
# IPv6 gateway check), conntrack (flushing stale flows), keepalived (HA) and ipv6toolkit (na6:
# unsolicited neighbour advertisements) too. The rest is for the tests, CI and benchmarks: socat, ncat,
# tcpdump, curl and python3 make and watch traffic; prometheus brings promtool (its server is
# never started); zsh checks the completion script; openssl makes the API-server stand-in's certificate.
PACKAGES=(
  nftables iproute2 iputils-arping iputils-ping conntrack keepalived ipv6toolkit ndisc6
  util-linux socat ncat tcpdump curl python3 zsh prometheus openssl
)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Installing keepalived or prometheus must not start their services: Debian's policy-rc.d
  # convention (exit 101: "not allowed") holds them back, unless the machine already has one.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node 24 LTS inside the project (see scripts/node-runtime.sh), then everything runs on it.
if ! node_runtime_installed; then
  echo "setup: installing node $NODE_RUNTIME_VERSION ($NODE_RUNTIME_PACKAGE) into .runtime/"
  npm install --prefix "$NODE_RUNTIME_DIR" --no-save --no-package-lock --no-audit --no-fund \
    --loglevel=error "$NODE_RUNTIME_PACKAGE@$NODE_RUNTIME_VERSION"
fi
use_node_runtime

# npm ci only when the lock file or the node release changed since the last install.
stamp=node_modules/.package-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1) node-$(node --version)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci (node $(node --version))"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

npm run --silent build

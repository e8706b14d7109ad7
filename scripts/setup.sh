#!/usr/bin/env bash
# Installs what the agent, its tests and its demo need, then builds. Safe to re-run:
# each step is skipped when already done. Run as root on a Debian-based machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# nft and ip are the agent's own tools; arping (gratuitous ARP) and ping (gateway check) too;
# the rest is what the tests and benchmarks use to make and watch traffic.
PACKAGES=(nftables iproute2 iputils-arping iputils-ping util-linux socat ncat tcpdump conntrack curl python3)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

npm run --silent build

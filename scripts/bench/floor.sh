#!/usr/bin/env bash
# The floor for `apply`: the same kernel work the agent does on a clean bench pod, with as few
# processes as possible and nothing else: one `ip` call in the node namespace (create the
# macvlan straight into the pod's namespace, as the agent does), one `ip -batch` in the pod
# (rename, alias, up, address, then the routes and policy rules, the agent's `nop` records
# included), one sysctl, and a single `nft -j -f` of the agent's own rendered batch.
# No reading back, no verification, no ARP probe, no gratuitous ARP: a lower bound for any
# implementation.
#
#   floor.sh NODE_NS POD_NS TMP_LINK EGRESS_CIDR NFT_BATCH ROUTES_BATCH [SYSCTL=VALUE]...
#   FLOOR_PROBE=1 floor.sh …   the same, with the agent's RFC 5227 ARP probe of the address
#                              (`arping -D -c 2 -w 2`, as ADD_PROBES in src/agent/effects.ts) before
#                              the address is added, and the table loaded while it waits: the
#                              lower bound for an apply that refuses an address another host holds.
#
# NFT_BATCH is `egress-router-agent render CONFIG --format json` and ROUTES_BATCH the `ip -batch`
# lines for the routes and rules the agent adds/removes (the bench derives them from the agent's
# own result on the same topology, so the floor follows the agent as it evolves); both are made
# before the timing starts. The bench checks once per run that both leave the same pod behind.
set -euo pipefail
node_ns=$1
pod_ns=$2
tmp_link=$3
egress_cidr=$4
nft_batch=$5
routes_batch=$6
shift 6

ip -n "$node_ns" link add "$tmp_link" link eth1 netns "$pod_ns" type macvlan mode bridge
link_lines() {
  printf 'link set dev %s name net1\n' "$tmp_link"
  printf 'link set dev net1 alias "egress-router-agent: created" up\n'
}
address_lines() {
  printf 'address add %s dev net1\n' "$egress_cidr"
  cat "$routes_batch"
}
if [ "${FLOOR_PROBE:-}" = 1 ]; then
  link_lines | ip -4 -n "$pod_ns" -batch -
  ip netns exec "$pod_ns" arping -q -D -c 2 -w 2 -I net1 "${egress_cidr%/*}" &
  probe=$!
  ip netns exec "$pod_ns" nft -j -f "$nft_batch"
  wait "$probe"
  address_lines | ip -4 -n "$pod_ns" -batch -
  if [ "$#" -gt 0 ]; then
    ip netns exec "$pod_ns" sysctl -q -w "$@"
  fi
  exit 0
fi
{
  link_lines
  address_lines
} | ip -4 -n "$pod_ns" -batch -
if [ "$#" -gt 0 ]; then
  ip netns exec "$pod_ns" sysctl -q -w "$@"
fi
ip netns exec "$pod_ns" nft -j -f "$nft_batch"

#!/usr/bin/env bash
# The floor for `apply`: the same kernel work the agent does on a clean bench pod, with as few
# processes as possible and nothing else: two `ip` calls in the node namespace (create the
# macvlan, move it), one `ip -batch` in the pod (rename, alias, up, address, then the routes and
# policy rules), one sysctl, and a single `nft -j -f` of the agent's own rendered batch.
# No reading back, no verification, no gratuitous ARP: a lower bound for any implementation.
#
#   floor.sh NODE_NS POD_NS TMP_LINK EGRESS_CIDR NFT_BATCH ROUTES_BATCH [SYSCTL=VALUE]...
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

ip -n "$node_ns" link add "$tmp_link" link eth1 type macvlan mode bridge
ip -n "$node_ns" link set "$tmp_link" netns "$pod_ns"
{
  printf 'link set dev %s name net1\n' "$tmp_link"
  printf 'link set dev net1 alias "egress-router-agent: created" up\n'
  printf 'address add %s dev net1\n' "$egress_cidr"
  cat "$routes_batch"
} | ip -4 -n "$pod_ns" -batch -
if [ "$#" -gt 0 ]; then
  ip netns exec "$pod_ns" sysctl -q -w "$@"
fi
ip netns exec "$pod_ns" nft -j -f "$nft_batch"

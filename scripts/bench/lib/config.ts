/**
 * Generated EgressRouter configs (compact JSON: the fastest format for the agent to parse), with
 * the network kit's fixture builder and config directory (src/netkit).
 */
import {
  type ConfigDir,
  createConfigDir as kitConfigDir,
  egressRouter as kitEgressRouter,
  PLAN,
} from '../../../src/netkit/index.js';
import { SERVER_PORT } from './traffic.js';

/** The agent's health server port (its default): TCP 9099 can never be a redirect port. */
export const HEALTH_PORT = 9099;

export interface Rule {
  readonly protocol: 'TCP' | 'UDP';
  readonly port: number;
  readonly destinationIP: string;
  readonly targetPort?: number;
}

/**
 * `count` TCP rules on the highest ports, ascending, so the last-defined port is always 65535
 * (the worst case for a linear chain). TCP 9099 is the health port: the range skips it, and with
 * count 65,535 (every port) the rule for 9099 is UDP instead: 65,534 TCP + 1 UDP.
 */
export function rateRules(count: number, destinationIP: string = PLAN.dst1.v4): Rule[] {
  if (count < 1 || count > 65_535) throw new Error(`rule count ${count} out of range`);
  const rules: Rule[] = [];
  let tcp = count;
  let low = 65_536 - count;
  if (count === 65_535) tcp = 65_534;
  else if (low <= HEALTH_PORT) low -= 1; // the range would include 9099: start one lower
  for (let port = low; port <= 65_535; port += 1) {
    if (port === HEALTH_PORT) {
      if (tcp < count) rules.push({ protocol: 'UDP', port, destinationIP, targetPort: SERVER_PORT });
      continue;
    }
    rules.push({ protocol: 'TCP', port, destinationIP, targetPort: SERVER_PORT });
  }
  if (rules.length !== count) throw new Error(`rateRules(${count}) built ${rules.length} rules`);
  return rules;
}

/**
 * `ports` ports on the highest ports, each as TCP and UDP (target port = port): 2 × ports rules,
 * less one when the range covers the health port (TCP 9099 is never redirected).
 */
export function tcpUdpRules(ports: number, destinationIP: string = PLAN.dst1.v4): Rule[] {
  const rules: Rule[] = [];
  for (let port = 65_536 - ports; port <= 65_535; port += 1) {
    if (port !== HEALTH_PORT) rules.push({ protocol: 'TCP', port, destinationIP });
    rules.push({ protocol: 'UDP', port, destinationIP });
  }
  return rules;
}

/** An IPv4 EgressRouter for the bench topology (egress 192.0.2.100/24 via 192.0.2.1, master eth1). */
export function egressRouter(rules: readonly Rule[], name = 'bench'): string {
  return kitEgressRouter(
    {
      name,
      namespace: 'bench',
      master: 'eth1',
      addresses: [{ ip: `${PLAN.egress.v4[0]}/${PLAN.lanPrefix.v4}`, gateway: PLAN.gw.v4 }],
      rules,
    },
    'compact-json',
  );
}

export type { ConfigDir };

/** A ConfigMap-style directory holding config.json (see the kit's createConfigDir). */
export function createConfigDir(dir: string, text: string): Promise<ConfigDir> {
  return kitConfigDir(dir, text, { fileName: 'config.json' });
}

/**
 * A live agent's /metrics as Prometheus tooling reads it: `promtool check metrics` finds nothing
 * to complain about, counters with known label sets exist at 0 before anything happened, the
 * standard process_* and nodejs_* families keep their names, and the kube-proxy-style families
 * are there. Needs root and promtool (Debian's prometheus package, installed by setup.sh).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  createConfigDir,
  createScratchDir,
  createTopology,
  run,
  type ScratchDir,
  type Topology,
} from '../../src/netkit/index.js';
import { routerYaml, startTestAgent } from './kit/agent.js';
import { requireBuiltAgent } from './kit/build.js';
import { metrics } from './kit/status.js';

let topo: Topology;
let dir: ScratchDir;
let agent: AgentProcess;

beforeAll(async () => {
  requireBuiltAgent();
  dir = await createScratchDir('ert-metrics-');
  topo = await createTopology();
  const config = await createConfigDir(
    `${dir.dir}/cfg`,
    routerYaml([{ destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' }]),
  );
  agent = await startTestAgent(topo, config.path);
  await agent.waitReady(30_000);
}, 120_000);

afterAll(async () => {
  try {
    await agent?.stop(10_000);
    await topo?.destroy();
  } finally {
    await dir?.remove();
  }
});

describe('/metrics conventions', () => {
  it('passes promtool check metrics', async () => {
    const text = await metrics(topo);
    const check = await run(['promtool', 'check', 'metrics'], {
      input: text,
      reject: false,
      timeoutMs: 30_000,
    });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.exitCode).toBe(0);
  });

  it('has counters at 0 before anything happened, standard process metrics, and the sync families', async () => {
    const text = await metrics(topo);
    for (const result of ['applied', 'invalid', 'failed'])
      expect(text).toContain(`egress_router_config_reloads_total{result="${result}"} 0`);
    for (const kind of ['interface', 'sysctl', 'address', 'route', 'nftables'])
      expect(text).toContain(`egress_router_drift_repairs_total{kind="${kind}"} 0`);
    expect(text).toContain('egress_router_sync_failures_total{reason="NftablesFailed"} 0');
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).not.toMatch(/^egress_router_(process|nodejs)_/m);
    expect(text).toMatch(/^egress_router_last_successful_sync_timestamp_seconds \d/m);
    expect(text).toMatch(/^egress_router_sync_duration_seconds_count\{trigger="startup"\} 1$/m);
    expect(text).toMatch(/^egress_router_redirect_rules 1$/m);
    expect(text).toMatch(/^egress_router_map_elements\{map="redirect_addr4"\} 1$/m);
    expect(text).toMatch(/^egress_router_gateway_up\{family="ipv4",gateway="192\.0\.2\.1"\} 1$/m);
  });
});

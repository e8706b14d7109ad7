/**
 * What an idle `run` agent costs with a large legal ConfigMap (issue 15 item 1): the CPU it
 * burns between changes and how its health probes are answered meanwhile. Builds a router in
 * network namespaces (the network kit), starts the built agent on a YAML EgressRouter of
 * `--rules` TCP rules, waits until it is ready, then for `--seconds` samples its CPU time from
 * /proc and probes /healthz every 250 ms with curl (as a kubelet would, 2 s timeout; the latency includes starting curl). Reports figures;
 * never fails because one is high.
 *
 *   npm run build && npx tsx scripts/measure-idle.ts --rules 13936 --seconds 60
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  createConfigDir,
  createScratchDir,
  createTopology,
  egressRouter,
  http,
  PLAN,
  type RuleSpec,
  startAgent,
} from '../src/netkit/index.js';

const { values } = parseArgs({
  options: {
    rules: { type: 'string', default: '13936' },
    seconds: { type: 'string', default: '60' },
    resync: { type: 'string', default: '10' },
  },
});
const ruleCount = Number(values.rules);
const seconds = Number(values.seconds);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rules(count: number): RuleSpec[] {
  const out: RuleSpec[] = [];
  for (let port = 1; out.length < count; port += 1)
    if (port !== 9099) out.push({ destinationIP: PLAN.dst1.v4, port, protocol: 'TCP' });
  return out;
}

const topo = await createTopology({ ipv6: false, kind: 'erb' });
const scratch = await createScratchDir('measure-idle-');
try {
  const text = egressRouter(
    { addresses: [{ ip: `${PLAN.egress.v4[0]}/24`, gateway: PLAN.gw.v4 }], rules: rules(ruleCount) },
    'yaml',
  );
  const config = await createConfigDir(`${scratch.dir}/config`, text);
  const agent = await startAgent(topo, config.path, { args: ['--resync-interval', values.resync] });
  try {
    await agent.waitReady(120_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${agent.stderr()}\n${JSON.stringify(agent.logs.slice(-5))}`);
    });
    const startCpu = cpuSeconds(agent.pid);
    const started = Date.now();
    const latencies: number[] = [];
    let failures = 0;
    while (Date.now() - started < seconds * 1000) {
      const before = Date.now();
      const reply = await http(topo, '/healthz', { ns: agent.pod, port: agent.healthPort, maxSeconds: 2 });
      latencies.push(Date.now() - before);
      if (reply.status !== 200) failures += 1;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const wall = (Date.now() - started) / 1000;
    const cpu = cpuSeconds(agent.pid) - startCpu;
    latencies.sort((a, b) => a - b);
    const quantile = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    const memory = agent.memory();
    const metrics = (await http(topo, '/metrics', { ns: agent.pod, port: agent.healthPort })).body;
    const heap = Object.fromEntries(
      ['nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes'].map(
        (name) => {
          const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
          return [
            name.replace('nodejs_', '').replace('_bytes', 'MiB'),
            Math.round(Number(line?.split(' ')[1]) / 2 ** 20),
          ];
        },
      ),
    );
    console.log(
      JSON.stringify(
        {
          rules: ruleCount,
          configBytes: Buffer.byteLength(text),
          seconds: wall,
          cpuPercentOfOneCore: Math.round((cpu / wall) * 1000) / 10,
          probes: latencies.length,
          probesNot200Within2s: failures,
          probeMsMedian: quantile(0.5),
          probeMsP99: quantile(0.99),
          probeMsMax: latencies[latencies.length - 1],
          rssMiB: Math.round(memory.rssMiB * 10) / 10,
          peakRssMiB: Math.round(memory.hwmMiB * 10) / 10,
          ...heap,
          loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
        },
        null,
        2,
      ),
    );
  } finally {
    await agent.stop(10_000).catch(() => undefined);
  }
} finally {
  await topo.destroy();
  await scratch.remove();
}

/**
 * Resources for the router pod, from the number of redirect rules. The one place the sizing
 * formula lives: replace the per-rule figures here when new measurements come in.
 *
 * Figures behind it (Node 20, this repository's agent, measured with /usr/bin/time):
 * - the CLI at rest: 63 MB RSS;
 * - validating 19,999 rules: 113 MB from JSON (+2.5 KiB a rule), 229 MB from YAML (+8.3 KiB);
 *   rendering the nft batch from YAML: 259 MB (+9.8 KiB a rule);
 * - the nft JSON batch, written to /tmp before every load: 75 bytes a rule;
 * - issue 15's scale run: apply peaked at 378 MB with 131,070 rules (+2.5 KiB a rule);
 * - @kubernetes/client-node for --report-status: +25 MB RSS after GC, +43 MB before the first
 *   collection (src/kube/clientNode.ts).
 * The peak (the limit) is parsing a YAML config, which both the init container and every reload
 * in `run` do; the steady state (the request) is the table model and the config held in memory.
 */

export interface RouterResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly memory: string };
  /** The size limit of the in-memory /tmp, where nft batch files are written. */
  readonly tmpSizeLimit: string;
}

const MIB = 1024 * 1024;
const KIB = 1024;

export const SIZING = {
  baseRequestBytes: 64 * MIB,
  requestBytesPerRule: 3 * KIB,
  baseLimitBytes: 256 * MIB,
  limitBytesPerRule: 10 * KIB,
  statusClientBytes: 48 * MIB,
  baseTmpBytes: 16 * MIB,
  /** Three times the batch size a rule takes: a load and a rollback listing can overlap. */
  tmpBytesPerRule: 256,
  baseCpuMillis: 10,
  cpuMillisPer10kRules: 10,
} as const;

/** Rounded up to whole multiples of 16 MiB, as a Kubernetes quantity. */
function mebibytes(bytes: number): string {
  return `${Math.ceil(bytes / (16 * MIB)) * 16}Mi`;
}

export function routerResources(rules: number, options: { reportStatus: boolean }): RouterResources {
  const client = options.reportStatus ? SIZING.statusClientBytes : 0;
  return {
    requests: {
      cpu: `${SIZING.baseCpuMillis + Math.ceil((rules * SIZING.cpuMillisPer10kRules) / 10_000)}m`,
      memory: mebibytes(SIZING.baseRequestBytes + rules * SIZING.requestBytesPerRule + client),
    },
    limits: { memory: mebibytes(SIZING.baseLimitBytes + rules * SIZING.limitBytesPerRule + client) },
    tmpSizeLimit: mebibytes(SIZING.baseTmpBytes + rules * SIZING.tmpBytesPerRule),
  };
}

/** The API server refuses a ConfigMap whose data exceeds 1 MiB. */
export const CONFIGMAP_MAX_BYTES = MIB;

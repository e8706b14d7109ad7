/**
 * Resources for the router pod, from the number of redirect rules. The one place the sizing
 * formula lives: replace the per-rule figures here when new measurements come in.
 *
 * Figures behind it (Node 24, scripts/bench.sh's scale suite, 2026-12-02, docs/benchmarks.md;
 * VmRSS / VmHWM of the agent, one-shot peaks by GNU time):
 * - `run` at rest: 90 MiB with 10 rules, 185 MiB with 65,534, 271 MiB with 131,069 (about
 *   1.4 KiB a rule over the base);
 * - `apply` (the init container) of 131,069 rules from YAML: 451 MiB peak (about 2.7 KiB a rule
 *   over a 95 MiB base); `validate` of the same: 208 MiB; `cleanup`: 223 MiB;
 * - the nft JSON batch, written to /tmp before every load: 75 bytes a rule;
 * - @kubernetes/client-node for --report-status: +25 MB RSS after GC, +43 MB before the first
 *   collection (src/kube/clientNode.ts).
 * - `run` after ten one-rule reloads: 95 MiB with 10 rules, 299 MiB with 65,534, 388 MiB with
 *   131,069 (about 2.3 KiB a rule: V8 kept the heap a reload's parse grew). Re-measured on a
 *   quiet machine after the reload and heap changes (2026-12-02, evening): 93 MiB with 10
 *   rules, 116 MiB with 65,534, 142 MiB with 131,069 (about 0.4 KiB a rule); at rest 88, 105
 *   and 127 MiB; `run`'s own peak 240 MiB at 131,069, under the limit below;
 * - `run` without the optimising compilers (src/cli/leanTiers.ts, 2026-12-03): at rest 67 MiB
 *   with 10 rules, 88 with 65,534, 113 with 131,069; after ten reloads 77, 97 and 124 MiB
 *   (about 0.37 KiB a rule); 84–98 MiB at 10,000 rules after 100 reloads and 14 drift repairs;
 *   its own peak 215 MiB at 131,069. The one-shot commands, `apply` among them, keep the
 *   compilers, so the limit's figures above stand.
 * The limit covers the larger of the two containers' peaks, `apply`'s, with about 20 % to
 * spare at 131,069 rules; the request is `run`'s memory after reloads.
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
  baseRequestBytes: 80 * MIB,
  requestBytesPerRule: 0.4 * KIB,
  baseLimitBytes: 192 * MIB,
  limitBytesPerRule: 2.75 * KIB,
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

/** Runs `manifests` through the CLI dispatcher and reads its output back as kubectl would (YAML 1.1). */
import { expect } from 'vitest';
import YAML from 'yaml';
import { runCli } from '../../helpers/runCli.js';

export interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

export const CLUSTER_CIDRS = ['--cluster-cidr', '10.128.0.0/14', '--cluster-cidr', '172.30.0.0/16'];

export function parseStream(text: string): KubeDoc[] {
  const documents = YAML.parseAllDocuments(text, { version: '1.1', uniqueKeys: true });
  if (!Array.isArray(documents)) throw new Error('not a YAML stream');
  for (const doc of documents) expect(doc.errors.map((e) => e.message)).toEqual([]);
  return documents.map((d) => d.toJS() as KubeDoc);
}

export async function manifests(args: readonly string[], stdin?: string): Promise<KubeDoc[]> {
  const result = await runCli(['manifests', ...args], stdin !== undefined ? { stdin } : {});
  expect(result.stderr.replace(/^note: .*\n/gm, ''), `manifests ${args.join(' ')}`).toBe('');
  expect(result.code).toBe(0);
  return parseStream(result.stdout);
}

export const ofKind = (docs: readonly KubeDoc[], kind: string): KubeDoc[] =>
  docs.filter((d) => d.kind === kind);

export function one(docs: readonly KubeDoc[], kind: string): KubeDoc {
  const found = ofKind(docs, kind);
  expect(
    found.map((d) => d.kind),
    `exactly one ${kind}`,
  ).toEqual([kind]);
  return found[0]!;
}

/** An EgressRouter config text with these redirect rules (documentation addresses only). */
export function egressRouterText(
  name: string,
  namespace: string,
  options: { rules?: number; fallback?: boolean; master?: string } = {},
): string {
  const rules = Array.from({ length: options.rules ?? 2 }, (_, i) => ({
    destinationIP: `198.51.100.${10 + (i % 200)}`,
    // Never the agent's health port.
    port: 1000 + i + (1000 + i >= 9099 ? 1 : 0),
    protocol: i % 3 === 1 ? 'UDP' : 'TCP',
  }));
  return YAML.stringify({
    apiVersion: 'network.operator.openshift.io/v1',
    kind: 'EgressRouter',
    metadata: { name, namespace },
    spec: {
      mode: 'Redirect',
      networkInterface: { macvlan: { mode: 'Bridge', master: options.master ?? 'ens4' } },
      addresses: [{ ip: '192.0.2.100/24', gateway: '192.0.2.1' }],
      redirect: { redirectRules: rules, ...(options.fallback ? { fallbackIP: '192.0.2.20' } : {}) },
    },
  });
}

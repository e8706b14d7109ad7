/** A ConfigMap that holds the config in one of its data keys is read as that config. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/runCli.js';
import { cniJson, expectOk, expectOnlyIssue, load } from './helpers.js';

/** The ConfigMap deploy/router.yaml ships (`manifests` output), alone in a file as `kubectl get -o yaml` gives it. */
const DEPLOYED = join(mkdtempSync(join(tmpdir(), 'ert-cm-')), 'configmap.yaml');
const ROUTER_MANIFESTS = readFileSync('deploy/router.yaml', 'utf8');
const SHIPPED_CM = `${ROUTER_MANIFESTS.split(/^---$/m)
  .find((d) => /^kind: ConfigMap$/m.test(d))
  ?.trim()}\n`;
writeFileSync(DEPLOYED, SHIPPED_CM);
const SHIPPED_NAD =
  ROUTER_MANIFESTS.split(/^---$/m).find((d) => /^kind: NetworkAttachmentDefinition$/m.test(d)) ?? '';

function configMap(data: Record<string, string>): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data });
}

const ROUTER = [
  'apiVersion: network.operator.openshift.io/v1',
  'kind: EgressRouter',
  'metadata: {name: in-cm}',
  'spec:',
  '  addresses: [{ip: 192.0.2.100/24, gateway: 192.0.2.1}]',
  '  redirect: {redirectRules: [{destinationIP: 192.0.2.10, port: 80, protocol: TCP}]}',
  '',
].join('\n');

describe('a ConfigMap holding a config', () => {
  it('reads the ConfigMap deploy/router.yaml ships as its EgressRouter', () => {
    const config = expectOk(load(readFileSync(DEPLOYED, 'utf8')));
    expect(config.format).toBe('EgressRouter');
    expect(config.name).toBe('egress-router');
    expect(config.redirectRules).toHaveLength(4);
  });

  it('validate accepts it, exit 0', async () => {
    const result = await runCli(['validate', DEPLOYED]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^valid: EgressRouter "egress-router" from .*configmap\.yaml: /);
  });

  it('puts the key before every path of a problem', () => {
    const broken = ROUTER.replace('192.0.2.100/24', '192.0.2.300/24').replace('port: 80', 'port: 0');
    const result = load(configMap({ 'other.txt': 'plain words', 'egressrouter.yaml': broken }));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.issues.map((i) => i.path)).toEqual([
        'data["egressrouter.yaml"]: spec.redirect.redirectRules[0].port',
        'data["egressrouter.yaml"]: spec.addresses[0].ip',
      ]);
    }
  });

  it('reads a CNI config or a NAD in a key, and ignores keys that hold no config', () => {
    const cni = cniJson({ ip: { addresses: ['192.0.2.5/24'] } });
    expect(expectOk(load(configMap({ README: 'no config here', 'cni.json': cni }))).format).toBe('CNI');
  });

  it('refuses two keys that each hold a config', () => {
    expectOnlyIssue(
      load(configMap({ 'a.yaml': ROUTER, 'b.json': cniJson({ ip: { addresses: ['192.0.2.5/24'] } }) })),
      'data',
      /^keys "a\.yaml", "b\.json" each hold a config; a ConfigMap given to the agent must hold exactly one/,
    );
  });

  it('refuses a ConfigMap with no config, naming its keys', () => {
    expectOnlyIssue(
      load(configMap({ 'a.txt': 'x: 1' })),
      'data',
      /^no key holds a config \(keys: "a\.txt"\); expected/,
    );
    expectOnlyIssue(load(configMap({})), 'data', /^is empty: this ConfigMap holds no config$/);
  });

  it('reports a key that is not YAML at all under the key', () => {
    expectOnlyIssue(
      load(configMap({ 'egressrouter.yaml': 'a: [' })),
      'data["egressrouter.yaml"]',
      /^not valid YAML or JSON: /,
    );
  });

  it('takes the ConfigMap among other documents, as kubectl kustomize prints them', () => {
    const cm = SHIPPED_CM;
    const nad = SHIPPED_NAD;
    expect(expectOk(load(`${nad}\n---\n${cm}\n---\nkind: Service\n`)).name).toBe('egress-router');
  });
});

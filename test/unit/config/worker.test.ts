/** loadConfigInWorker: the same answers as loadConfigText, off the main thread, within a heap cap. */
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.js';
import { loadConfigInWorker } from '../../../src/config/loadInWorker.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import { example, withRedirect } from './helpers.js';

/** An EgressRouter in block YAML with `count` TCP rules (the health port left out). */
function bigYaml(count: number): string {
  const lines = [
    'apiVersion: network.operator.openshift.io/v1',
    'kind: EgressRouter',
    'metadata: {name: big}',
    'spec:',
    '  addresses: [{ip: 192.0.2.100/24, gateway: 192.0.2.1}]',
    '  redirect:',
    '    redirectRules:',
  ];
  for (let port = 1; lines.length - 7 < count * 3; port += 1) {
    if (port === DEFAULT_OPTIONS.healthPort) continue;
    lines.push('    - destinationIP: 192.0.2.10', `      port: ${port}`, '      protocol: TCP');
  }
  return `${lines.join('\n')}\n`;
}

describe('loadConfigInWorker', () => {
  it('answers as loadConfigText does, valid and invalid', async () => {
    for (const text of [example('egressrouter.yaml'), withRedirect({ fallbackIP: 'nope' }), 'a: [']) {
      const options = { ...DEFAULT_OPTIONS, clusterCidrs: ['198.18.0.0/15'] };
      expect(await loadConfigInWorker(text, options)).toEqual(loadConfigText(text, options));
    }
  });

  it('keeps the main thread running timers while a large config parses', async () => {
    const text = bigYaml(65_534);
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 5);
    try {
      const result = await loadConfigInWorker(text, DEFAULT_OPTIONS);
      const ticksDuringWorker = ticks;
      expect(result.ok && result.config.redirectRules.length).toBe(65_534);
      // The same parse on the main thread: no tick can happen until it returns.
      ticks = 0;
      const inline = loadConfigText(text, DEFAULT_OPTIONS);
      const ticksDuringMainThread = ticks;
      expect(ticksDuringMainThread).toBe(0);
      expect(ticksDuringWorker).toBeGreaterThan(3);
      // The rules came back in slices: all of them, in order, as the main thread reads them.
      expect(result).toEqual(inline);
    } finally {
      clearInterval(timer);
    }
  });

  it('returns thousands of issues whole', async () => {
    const text = bigYaml(10_000).replaceAll('protocol: TCP', 'protocol: tcp');
    const result = await loadConfigInWorker(text, DEFAULT_OPTIONS);
    expect(result.ok ? 0 : result.issues.length).toBe(10_000);
    expect(result).toEqual(loadConfigText(text, DEFAULT_OPTIONS));
  });

  it('refuses a config that needs more heap than the cap, and the caller lives on', async () => {
    const result = await loadConfigInWorker(bigYaml(65_534), DEFAULT_OPTIONS, { maxHeapMiB: 8 });
    expect(result).toEqual({
      ok: false,
      issues: [{ path: '', message: 'reading the config needs more than 8 MiB; refused' }],
    });
  });

  it('refuses a config that takes longer than the deadline', async () => {
    const result = await loadConfigInWorker(bigYaml(65_534), DEFAULT_OPTIONS, { timeoutMs: 1 });
    expect(result).toEqual({
      ok: false,
      issues: [{ path: '', message: 'reading the config took longer than 0.001 s; refused' }],
    });
  });
});

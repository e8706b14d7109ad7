// The agent's logger as `run` creates it, writing into a collecting stream instead of stdout.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from '../../src/agent/logger.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('JSON logs', () => {
  it('carry the level by name, the ISO time, the component and the message', async () => {
    const out = sink();
    const log = await createLogger('info', false, out.stream);
    const before = Date.now();
    log.info({ port: 9099 }, 'health server listening');
    log.warn({ kind: 'route' }, 'drift repaired: added route default via 192.0.2.1 dev net1');
    log.error({ reason: 'NftablesFailed' }, 'apply failed: nft refused the batch');
    const [info, warn, error] = jsonLines(out.text());
    expect(info).toMatchObject({
      level: 'info',
      component: 'egress-router-agent',
      msg: 'health server listening',
      port: 9099,
    });
    expect(warn).toMatchObject({ level: 'warn', kind: 'route' });
    expect(error).toMatchObject({ level: 'error', reason: 'NftablesFailed' });
    const time = info?.time as string;
    expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(time)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(time)).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it.each([
    ['fatal', ['fatal']],
    ['warn', ['fatal', 'error', 'warn']],
    ['debug', ['fatal', 'error', 'warn', 'info', 'debug']],
  ] as [LogLevel, string[]][])('--log-level %s keeps exactly the levels %j', async (threshold, kept) => {
    const out = sink();
    const log = await createLogger(threshold, false, out.stream);
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) log[level](level);
    const levels = jsonLines(out.text()).map((line) => line.level);
    expect(levels.sort()).toEqual([...kept].sort());
    for (const line of jsonLines(out.text())) expect(line.msg).toBe(line.level);
  });
});

describe('pretty logs', () => {
  it('are human lines with the level name and the message, not JSON', async () => {
    const out = sink();
    const log = await createLogger('info', true, out.stream);
    log.warn({ kind: 'nftables' }, 'drift repaired: reloaded table inet egress_router');
    log.debug('not shown at info');
    const text = out.text();
    expect(text).toMatch(/WARN.*drift repaired: reloaded table inet egress_router/);
    expect(text).toContain('kind: "nftables"');
    expect(text).not.toContain('not shown');
    expect(text.trimStart().startsWith('{')).toBe(false);
    // No colour codes when writing to something that is not the terminal.
    expect(text).not.toContain('\u001b[');
  });
});

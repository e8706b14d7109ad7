// Batch directories left by a killed nft call are removed once old; nothing else is.
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LEFTOVER_AGE_MS, sweepBatchLeftovers } from '../../../src/agent/sweep.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ert-sweep-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function entry(name: string, ageMs: number, asFile = false): Promise<void> {
  const path = join(dir, name);
  if (asFile) await writeFile(path, 'x');
  else {
    await mkdir(path);
    await writeFile(join(path, 'batch.json'), '{}');
  }
  const at = new Date(Date.now() - ageMs);
  await utimes(path, at, at);
}

it('removes old egress-router-nft-* directories only', async () => {
  await entry('egress-router-nft-abc123', LEFTOVER_AGE_MS + 60_000);
  await entry('egress-router-nft-new123', 1_000);
  await entry('egress-router-nft-file12', LEFTOVER_AGE_MS + 60_000, true);
  await entry('someone-elses-dir', LEFTOVER_AGE_MS + 60_000);
  await entry('egress-router-nft-toolong1', LEFTOVER_AGE_MS + 60_000);
  expect(await sweepBatchLeftovers(dir)).toBe(1);
  expect((await readdir(dir)).sort()).toEqual([
    'egress-router-nft-file12',
    'egress-router-nft-new123',
    'egress-router-nft-toolong1',
    'someone-elses-dir',
  ]);
});

it('a missing directory is nothing to sweep', async () => {
  expect(await sweepBatchLeftovers(join(dir, 'gone'))).toBe(0);
});

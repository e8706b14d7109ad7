// The HA engine's private directories: an engine that starts removes those of agents that are
// gone (SIGKILLed, so they could not remove their own), and only those.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRuntimeDir,
  processExists,
  RUNTIME_PREFIX,
  removeAbandonedRuntimeDirs,
} from '../../../src/agent/ha/runtimeDirs.js';

let parent = '';
afterEach(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
});

/** The pid of a process that has ended (reaped): no process has it now, barring reuse. */
function endedPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$']);
  return Number(String(child.stdout).trim());
}

describe('HA runtime directories', () => {
  it('removes the directories of agents that are gone, keeps the living ones and those without an owner', async () => {
    parent = await mkdtemp(join(tmpdir(), 'ha-runtime-test-'));
    const mine = await createRuntimeDir(parent);
    const dead = endedPid();
    expect(processExists(dead)).toBe(false);
    const abandoned = join(parent, `${RUNTIME_PREFIX}abandoned`);
    await mkdir(abandoned);
    await writeFile(join(abandoned, 'owner'), `${dead}\n`);
    await writeFile(join(abandoned, 'keepalived.conf'), 'x');
    const living = join(parent, `${RUNTIME_PREFIX}living`);
    await mkdir(living);
    await writeFile(join(living, 'owner'), '1\n'); // init: always there
    const unowned = join(parent, `${RUNTIME_PREFIX}being-made`);
    await mkdir(unowned);
    const foreign = join(parent, 'something-else');
    await mkdir(foreign);

    expect(await removeAbandonedRuntimeDirs(parent)).toEqual([abandoned]);
    expect((await readdir(parent)).sort()).toEqual(
      [mine, living, unowned, foreign].map((p) => p.slice(parent.length + 1)).sort(),
    );
  });

  it('says nothing when the parent cannot be read', async () => {
    expect(await removeAbandonedRuntimeDirs('/nonexistent-ha-parent')).toEqual([]);
  });
});

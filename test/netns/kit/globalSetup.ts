/**
 * The netns project's global setup: builds dist/ once, before any test file starts.
 *
 * The files used to build it themselves, each its own `npm run build` in beforeAll. With two files
 * at a time that rewrote dist/ under the other file's running agents: tsc opens every output with
 * O_TRUNC and then writes it, so an agent starting in that moment loaded an empty module and died
 * with "The requested module './actions.js' does not provide an export named …".
 * (Node's compile cache is not the culprit: its entries carry the source's size and CRC32 and are
 * dropped on any mismatch — test/unit/compileCache.test.ts checks that.)
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { CLI, run } from '../../../src/netkit/index.js';
import type { AgentBuild } from './build.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export default async function buildOnce(project: TestProject): Promise<void> {
  const result = await run(['npm', 'run', 'build'], { cwd: ROOT, reject: false, timeoutMs: 300_000 });
  const output = `${result.stdout}${result.stderr}`;
  let build: AgentBuild;
  if (!result.failed) build = { builtAt: new Date().toISOString() };
  else if (!existsSync(CLI)) throw new Error(`npm run build failed and there is no dist/cli.js: ${output}`);
  else {
    // tsc still emits on type errors; a half-edited file elsewhere must not hide these results.
    process.stderr.write(`warning: npm run build failed, using dist/ as emitted:\n${output}\n`);
    build = { builtAt: new Date().toISOString(), warning: output };
  }
  project.provide('agentBuild', build);
}

/** Builds dist/ once per test file, so the agent (and the kit's tools) under test are the current source. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLI, run } from '../../../src/netkit/index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
let building: Promise<void> | undefined;

export function buildAgent(): Promise<void> {
  building ??= (async () => {
    const result = await run(['npm', 'run', 'build'], { cwd: ROOT, reject: false, timeoutMs: 120_000 });
    if (!result.failed) return;
    if (!existsSync(CLI))
      throw new Error(`npm run build failed and there is no dist/cli.js: ${result.stderr}${result.stdout}`);
    // tsc still emits on type errors; a half-edited file elsewhere must not hide these results.
    process.stderr.write(
      `warning: npm run build failed, using dist/ as emitted:\n${result.stdout}${result.stderr}\n`,
    );
  })();
  return building;
}

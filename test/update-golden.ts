// Regenerates rules/golden/ from the bundled examples. Run after an intended change to the
// renderer, then review the diff: these files are what the tests hold the renderer to. It lives
// with the tests it serves (scripts/ never import from test/): `npx tsx test/update-golden.ts`.
import { writeFileSync } from 'node:fs';
import { goldenCases, goldenPath } from './helpers/golden.js';
import { runCli } from './helpers/runCli.js';

for (const c of goldenCases()) {
  for (const format of ['nft', 'json'] as const) {
    const output = format === 'nft' ? 'text' : 'json';
    const result = await runCli(['render', ...c.args, '-o', output], c.env ? { env: c.env } : {});
    if (result.code !== 0) throw new Error(`${c.name}: render failed: ${result.stderr}`);
    writeFileSync(goldenPath(c.name, format), result.stdout);
    console.log(`wrote ${goldenPath(c.name, format)}`);
  }
}

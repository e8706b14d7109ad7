#!/usr/bin/env -S node --max-semi-space-size=1
/**
 * The executable: wires the process to the command dispatcher. The shebang keeps V8's young
 * generation small (1 MiB semi-spaces): the agent makes short-lived garbage in bursts (config
 * parsing, table listings) and the default semi-spaces would keep ~10 MiB more resident.
 * Run it as an executable (the package's bin, the image's entrypoint) to get that.
 *
 * The compile cache is switched on before anything else is imported: static imports would be
 * loaded (and compiled) before this module's body runs, hence the dynamic imports.
 */
import { enableCompileCache } from './cli/compileCache.js';

enableCompileCache();
// `run` re-executes itself without V8's optimising compilers (src/cli/leanTiers.ts), before it
// loads anything else: what this process loaded would be thrown away.
if (process.argv[2] === 'run')
  (await import('./cli/leanTiers.js')).reexecLean((text) => process.stderr.write(text));
const { main } = await import('./cli/main.js');

// A reader that goes away (`apply | head -1`) must not abort a half-done apply: output errors
// (EPIPE) are dropped, and the command finishes and rolls back or verifies as it would.
let stdoutOpen = true;
let stderrOpen = true;
process.stdout.on('error', () => {
  stdoutOpen = false;
});
process.stderr.on('error', () => {
  stderrOpen = false;
});

main(process.argv.slice(2), {
  out: (text) => stdoutOpen && process.stdout.write(text),
  err: (text) => stderrOpen && process.stderr.write(text),
  env: process.env,
  // Loaded on use: it pulls in the config loader (zod, yaml), which --version, status and
  // completion do not need.
  stdin: async () => (await import('./cli/stdin.js')).readStdin(),
}).then((code) => {
  process.exitCode = code;
});

#!/usr/bin/env node
import { main } from './cli/main.js';
/** The executable: wires the process to the command dispatcher. */
import { readStdin } from './cli/stdin.js';

main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  stdin: readStdin,
}).then((code) => {
  process.exitCode = code;
});

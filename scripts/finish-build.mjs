// After `tsc`: replaces dist/cli.js with a bundle of the agent and makes it executable.
//
// Why a bundle: Node starts `apply` in an init container, and loading ~150 small modules (the
// project's and zod's, ipaddr.js's, yaml's) cost more than the work at small sizes. The bundle
// is one entry (dist/cli.js, the shebang kept) plus chunks beside it for what each command loads
// lazily (`import()` stays lazy: `apply` never loads the `run` or `status` code), and
// dist/configWorker.js, the worker thread loadInWorker.ts starts by URL next to itself.
//
// Kept outside the bundle, loaded from node_modules on use: @kubernetes/client-node (only with
// --report-status), prom-client (only `run`), pino and pino-pretty (CommonJS that finds files
// by __dirname), and yaml (only for -o yaml and manifests; CommonJS, whose named exports a
// split bundle's `import()` would lose). The demo command stays tsc output (dist/cli/commands/demo.js): it resolves the
// CLI, its echo server and the network kit's tools by paths relative to its own module.
// Everything else tsc wrote stays in dist/ for those (the demo, the kit's tools, the bench).
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { asciiComments } from './asciiComments.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;

const EXTERNAL = ['@kubernetes/client-node', 'prom-client', 'pino', 'pino-pretty', 'yaml'];

/** `import('./commands/demo.js')` in commandTable.ts: left to the tsc output next to the bundle. */
const demoFromTscOutput = {
  name: 'demo-from-tsc-output',
  setup(bundler) {
    bundler.onResolve({ filter: /^\.\/commands\/demo\.js$/ }, (args) =>
      args.importer.endsWith('/src/cli/commandTable.ts')
        ? { path: './cli/commands/demo.js', external: true }
        : undefined,
    );
  },
};

// Chunks of an earlier build (their names carry a content hash).
for (const name of readdirSync(dist)) if (/^chunk-.*\.js$/.test(name)) rmSync(`${dist}/${name}`);

await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli.ts', configWorker: 'src/config/configWorker.ts' },
  outdir: dist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  chunkNames: 'chunk-[hash]',
  external: EXTERNAL,
  plugins: [demoFromTscOutput],
  // Bundled CommonJS (js-yaml, ipaddr.js) may call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __agentRequire } from 'node:module';\nconst require = __agentRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});

// Non-ASCII characters left in comments are escaped, so V8 keeps each chunk's source one byte
// per character (scripts/asciiComments.mjs says why and how; the build fails on one elsewhere).
for (const name of readdirSync(dist)) {
  if (!/^(cli|configWorker|chunk-.*)\.js$/.test(name)) continue;
  const file = `${dist}/${name}`;
  const text = readFileSync(file, 'utf8');
  const ascii = asciiComments(text, name);
  if (ascii !== text) writeFileSync(file, ascii);
}

chmodSync(`${dist}/cli.js`, 0o755);

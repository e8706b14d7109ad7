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

// V8 keeps a module's source text for the life of the process, as one byte per character
// only when every character is Latin-1: one "—" in a comment doubles the 0.9 MB chunk that
// `run` loads (zod) to 1.8 MiB of heap. esbuild already escapes non-ASCII in strings,
// templates, regexes and identifiers (charset ascii), so what is left is in comments: spelt
// as \u escapes there, and the build fails if one is found outside a comment.
const NON_ASCII = /[\u{80}-\u{10ffff}]/u;
for (const name of readdirSync(dist)) {
  if (!/^(cli|configWorker|chunk-.*)\.js$/.test(name)) continue;
  const file = `${dist}/${name}`;
  const text = readFileSync(file, 'utf8');
  if (!NON_ASCII.test(text)) continue;
  let inBlockComment = false;
  const lines = text.split('\n').map((line, index) => {
    const trimmed = line.trimStart();
    const commentAt =
      inBlockComment || trimmed.startsWith('/*') || trimmed.startsWith('*') ? 0 : line.indexOf('//');
    if (trimmed.startsWith('/*')) inBlockComment = !trimmed.includes('*/');
    else if (inBlockComment && line.includes('*/')) inBlockComment = false;
    const first = line.search(NON_ASCII);
    if (first < 0) return line;
    if (commentAt < 0 || commentAt > first)
      throw new Error(
        `${name}:${index + 1}: a non-ASCII character outside a comment: ${line.trim().slice(0, 120)}`,
      );
    return line.replace(/[\u{80}-\u{10ffff}]/gu, (ch) => `\\u{${ch.codePointAt(0).toString(16)}}`);
  });
  writeFileSync(file, lines.join('\n'));
}

chmodSync(`${dist}/cli.js`, 0o755);

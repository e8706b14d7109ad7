// Packaging, as far as it can be tested without building an image: the Containerfile's build
// stage replayed in a temp dir (its COPY sources, then `npm run build`), the runtime stage's
// files and programs, and `npm pack` giving a package that installs into an empty folder and
// runs. Everything happens in temp dirs: the repository's own dist/ is never rebuilt here
// (the netns tests may be running it).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../../src/config/model.js';

const run = promisify(execFile);
const ROOT = resolve('.');
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  name: string;
  version: string;
  license: string;
  repository: { type: string; url: string };
  homepage: string;
  bugs: { url: string };
  engines: { node: string };
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
};
/** The repository's web address, from package.json (git+https://…/x.git → https://…/x). */
const REPOSITORY = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
/** SHA-256 of the Apache License 2.0 as the ASF publishes it (LICENSE-2.0.txt, 11358 bytes). */
const APACHE_2_0_SHA256 = 'cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30';

/** Every file under dir, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/**
 * Source maps that cannot be used: a .map whose sources are not shipped next to it, or a
 * sourceMappingURL comment naming a map that is not there.
 */
function unusableSourceMaps(root: string): string[] {
  const files = new Set(filesUnder(root));
  const problems: string[] = [];
  for (const file of files) {
    if (file.endsWith('.map')) {
      const map = JSON.parse(readFileSync(join(root, file), 'utf8')) as {
        sources?: string[];
        sourceRoot?: string;
        sourcesContent?: unknown[];
      };
      for (const [i, source] of (map.sources ?? []).entries()) {
        if (map.sourcesContent?.[i] != null) continue;
        const path = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source));
        if (!files.has(path)) problems.push(`${file}: source ${source} is not shipped`);
      }
    } else if (file.endsWith('.js')) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(root, file), 'utf8'))?.[1];
      if (url && !url.startsWith('data:') && !files.has(posix.join(posix.dirname(file), url))) {
        problems.push(`${file}: names ${url}, which is not shipped`);
      }
    }
  }
  return problems;
}
const PACKAGE_TIMEOUT_MS = 120_000;

/** The environment for nested npm runs, without what an enclosing `npm run` sets for itself. */
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^npm_(lifecycle|package)_/.test(key) && !/^npm_config_(local_)?prefix$/.test(key),
    ),
  );
}

async function exec(
  file: string,
  args: readonly string[],
  cwd: string,
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = {},
) {
  try {
    const options = { cwd, env: { ...childEnv(), ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 };
    return await run(file, [...args], options);
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${file} ${args.join(' ')} (in ${cwd}) failed: ${failed.message}\n${failed.stderr ?? ''}`,
    );
  }
}

// --- The Containerfile, read as a builder would ---------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly text: string;
}

interface Stage {
  readonly from: string;
  readonly name?: string;
  readonly instructions: readonly Instruction[];
}

function parseContainerfile(text: string): Stage[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const stages: { from: string; name?: string; instructions: Instruction[] }[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    const keyword = (match?.[1] ?? '').toUpperCase();
    const rest = match?.[2] ?? '';
    if (keyword === 'FROM') {
      const [image, as, name] = rest.split(/\s+/);
      stages.push({
        from: image ?? '',
        ...(as?.toUpperCase() === 'AS' && name ? { name } : {}),
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push({ keyword, text: rest });
    }
  }
  return stages;
}

interface Copy {
  readonly from?: string;
  readonly sources: readonly string[];
  readonly dest: string;
}

function parseCopy(text: string): Copy {
  const words = text.trim().startsWith('[') ? (JSON.parse(text) as string[]) : text.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  const dest = paths.at(-1) ?? '';
  return { ...(from ? { from } : {}), sources: paths.slice(0, -1), dest };
}

function workdirOf(stage: Stage): string {
  return stage.instructions.findLast((i) => i.keyword === 'WORKDIR')?.text ?? '/';
}

/** Where a COPY puts one source: into the destination directory, or as the destination. */
function copyTarget(copy: Copy, source: string, workdir: string): string {
  const dest = posix.resolve(workdir, copy.dest);
  const intoDir = copy.dest.endsWith('/') || copy.dest === '.' || copy.sources.length > 1;
  return intoDir ? posix.join(dest, posix.basename(source)) : dest;
}

const containerfile = readFileSync('Containerfile', 'utf8');
const stages = parseContainerfile(containerfile);
const buildStage = stages.find((s) => s.name === 'build');
const runtimeStage = stages.at(-1)!;
const runtimeWorkdir = workdirOf(runtimeStage);
const copiesOf = (stage: Stage | undefined): Copy[] =>
  (stage?.instructions ?? []).filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.text));
const runsOf = (stage: Stage | undefined): string[] =>
  (stage?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.text);

function entrypoint(): string[] {
  const text = runtimeStage.instructions.findLast((i) => i.keyword === 'ENTRYPOINT')?.text ?? '';
  return text.startsWith('[') ? (JSON.parse(text) as string[]) : [];
}

/** The image replayed in a temp dir: the build stage (COPY, linked node_modules, npm run build), then the runtime stage's COPYs. */
interface Replay {
  readonly buildRoot: string;
  readonly runtimeRoot: string;
  readonly missing: string[];
}

function mapInto(root: string, workdir: string, imagePath: string): string {
  return join(root, posix.relative(workdir, imagePath));
}

async function replayImage(dir: string): Promise<Replay> {
  const buildRoot = join(dir, 'build');
  const runtimeRoot = join(dir, 'runtime');
  mkdirSync(buildRoot);
  mkdirSync(runtimeRoot);
  const missing: string[] = [];
  const buildWorkdir = workdirOf(buildStage!);
  for (const copy of copiesOf(buildStage)) {
    for (const source of copy.sources) {
      if (!existsSync(join(ROOT, source))) {
        missing.push(`build stage: ${source}`);
        continue;
      }
      cpSync(join(ROOT, source), mapInto(buildRoot, buildWorkdir, copyTarget(copy, source, buildWorkdir)), {
        recursive: true,
      });
    }
  }
  // Stands in for `npm ci` (and is never pruned: it is the repository's own node_modules).
  symlinkSync(join(ROOT, 'node_modules'), join(buildRoot, 'node_modules'), 'dir');
  await exec('npm', ['run', '--silent', 'build'], buildRoot);
  for (const copy of copiesOf(runtimeStage)) {
    for (const source of copy.sources) {
      const from =
        copy.from === undefined
          ? join(ROOT, source)
          : copy.from === 'build'
            ? mapInto(buildRoot, buildWorkdir, source)
            : '';
      if (!from || !existsSync(from)) {
        missing.push(`runtime stage: ${copy.from ? `--from=${copy.from} ` : ''}${source}`);
        continue;
      }
      const target = mapInto(runtimeRoot, runtimeWorkdir, copyTarget(copy, source, runtimeWorkdir));
      if (basename(source) === 'node_modules') symlinkSync(join(ROOT, 'node_modules'), target, 'dir');
      else cpSync(from, target, { recursive: true });
    }
  }
  return { buildRoot, runtimeRoot, missing };
}

describe('Containerfile', () => {
  let dir = '';
  let replay: Replay;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'egress-router-image-'));
    replay = await replayImage(dir);
  }, PACKAGE_TIMEOUT_MS);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is multi-stage: a build stage, then a runtime stage on a Node image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(buildStage).toBeDefined();
    expect(runtimeStage).not.toBe(buildStage);
    expect(runtimeStage.from).toMatch(/(^|\/)node:\d+/);
    expect(runsOf(buildStage).join('\n')).toMatch(/\bnpm ci\b/);
    expect(runsOf(buildStage).join('\n')).toMatch(/\bnpm run build\b/);
    expect(runsOf(buildStage).join('\n')).toMatch(/\bnpm prune --omit=dev\b/);
  });

  it('copies only files that exist; after the build stage\'s "npm run build", dist/cli.js among them', () => {
    expect(replay.missing).toEqual([]);
    expect(copiesOf(buildStage).length).toBeGreaterThan(0);
    expect(existsSync(join(replay.buildRoot, 'dist', 'cli.js'))).toBe(true);
    expect(unusableSourceMaps(join(replay.buildRoot, 'dist'))).toEqual([]);
    expect(
      copiesOf(runtimeStage).some((c) => c.from === 'build' && c.sources.some((s) => /\/dist$/.test(s))),
    ).toBe(true);
  });

  it('installs nft, ip, arping and ping in the runtime stage, and nothing to build with', () => {
    const runs = runsOf(runtimeStage).join('\n');
    const installed = [...runs.matchAll(/apt-get install\s+((?:\S+\s*)+?)(?:&&|$)/gm)].flatMap((m) =>
      (m[1] ?? '').split(/\s+/).filter((w) => w && !w.startsWith('-')),
    );
    for (const needed of [
      'nftables',
      'iproute2',
      'iputils-arping',
      'iputils-ping',
      'conntrack',
      'keepalived',
      'ipv6toolkit',
      'ndisc6',
    ])
      expect(installed).toContain(needed);
    expect(
      installed.filter((p) => /^(build-essential|gcc|g\+\+|make|python3?|git|node-gyp)$/.test(p)),
    ).toEqual([]);
    // No build tool is run (in command position: `rm -rf /usr/local/bin/npm` is fine).
    expect(runs).not.toMatch(/(^|&&|\|\||;)\s*(npm|npx|yarn|pnpm|corepack|tsc|gcc|cc|make|node-gyp)\b/m);
    expect(copiesOf(runtimeStage).flatMap((c) => c.sources)).not.toContainEqual(
      expect.stringMatching(/^src\b/),
    );
  });

  it('has the agent executable as ENTRYPOINT (its shebang sets the V8 flags), and the replayed image runs it', async () => {
    const [script, ...rest] = entrypoint();
    expect(rest).toEqual([]);
    expect(script).toBe(posix.join(runtimeWorkdir, 'dist', 'cli.js'));
    const cli = mapInto(replay.runtimeRoot, runtimeWorkdir, script!);
    expect(existsSync(cli)).toBe(true);
    expect(readFileSync(cli, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env -S node --max-semi-space-size=1');
    // With a private TMPDIR: the run leaves V8's compile cache there (src/cli/compileCache.ts).
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    const version = await exec(cli, ['--version'], replay.runtimeRoot, 60_000, { TMPDIR: tmp });
    expect(version.stdout).toBe(`${pkg.version}\n`);
    const cacheDir = join(tmp, `egress-router-agent-compile-cache-${process.getuid?.() ?? 0}`);
    expect(existsSync(cacheDir)).toBe(true);
    expect(filesUnder(cacheDir).length).toBeGreaterThan(0);
    const example = 'examples/egressrouter.yaml';
    expect(existsSync(join(replay.runtimeRoot, example))).toBe(true);
    const rendered = await exec(cli, ['render', example], replay.runtimeRoot);
    expect(rendered.stdout).toContain('table inet egress_router');
  });

  it('ships a bundle whose lazy parts are all there: chunks, the demo, and the config worker it starts by URL', async () => {
    const distDir = mapInto(replay.runtimeRoot, runtimeWorkdir, posix.join(runtimeWorkdir, 'dist'));
    const bundled = readdirSync(distDir).filter((f) => f.endsWith('.js'));
    expect(bundled).toContain('configWorker.js');
    expect(bundled.filter((f) => f.startsWith('chunk-')).length).toBeGreaterThan(0);
    const missing: string[] = [];
    const references = new Set<string>();
    for (const file of bundled) {
      const text = readFileSync(join(distDir, file), 'utf8');
      // .js only: loadInWorker.ts also names ./configWorker.ts, for when it runs from source.
      const patterns = [
        /\bimport\(\s*"(\.\/[^"]+\.js)"\s*\)/g,
        /\bfrom\s*"(\.\/[^"]+\.js)"/g,
        /\bnew URL\(\s*"(\.\/[^"]+\.js)",\s*import\.meta\.url\s*\)/g,
      ];
      for (const pattern of patterns)
        for (const match of text.matchAll(pattern)) {
          references.add(match[1]!);
          if (!existsSync(join(distDir, match[1]!))) missing.push(`${file} -> ${match[1]}`);
        }
    }
    expect(missing).toEqual([]);
    expect(references).toContain('./configWorker.js');
    expect(references).toContain('./cli/commands/demo.js');
    // The worker entry works on its own (loadInWorker.ts starts it exactly so).
    const options = JSON.stringify({ ...DEFAULT_OPTIONS, clusterCidrs: ['198.18.0.0/15'] });
    const starter = [
      "import { Worker } from 'node:worker_threads';",
      "import { readFileSync } from 'node:fs';",
      `const worker = new Worker(new URL('./dist/configWorker.js', 'file://${replay.runtimeRoot}/'), {`,
      "  workerData: { text: readFileSync('examples/egressrouter.yaml', 'utf8'), options: JSON.parse(process.env.OPTIONS) },",
      '  execArgv: [],',
      '});',
      'const rules = [];',
      "worker.on('message', (m) => {",
      "  if (m.kind === 'head') console.log('ok', m.result.ok);",
      "  if (m.kind === 'slice') rules.push(...m.items);",
      "  if (m.kind === 'done') { console.log('rules', rules.length); void worker.terminate(); }",
      '});',
    ].join('\n');
    const answered = await exec(
      process.execPath,
      ['--input-type=module', '-e', starter],
      replay.runtimeRoot,
      60_000,
      {
        OPTIONS: options,
      },
    );
    expect(answered.stdout).toBe('ok true\nrules 4\n');
    // A lazily loaded dependency (yaml, for -o yaml) and a command chunk.
    const cli = join(distDir, 'cli.js');
    const yaml = await exec(cli, ['render', 'examples/egressrouter.yaml', '-o', 'yaml'], replay.runtimeRoot);
    expect(yaml.stdout).toContain('name: egress_router');
  });

  it('puts egress-router-agent on PATH (for `kubectl exec POD -- egress-router-agent status`)', () => {
    const script = entrypoint()[0] ?? '';
    const runs = runsOf(runtimeStage).join('\n');
    expect(runs).toContain(`ln -s ${script} /usr/local/bin/egress-router-agent`);
  });
});

describe('Containerfile: base image, labels, build context', () => {
  const labels = Object.fromEntries(
    runtimeStage.instructions
      .filter((i) => i.keyword === 'LABEL')
      .flatMap((i) => [...i.text.matchAll(/([\w.-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!])),
  );

  it('builds and runs on the official Node 24 image, pinned by digest, the same in both stages', () => {
    const pinned = /^docker\.io\/library\/node:(\d+)-bookworm-slim@sha256:([0-9a-f]{64})$/;
    for (const stage of stages) expect(stage.from).toMatch(pinned);
    expect(new Set(stages.map((s) => s.from)).size).toBe(1);
    const [, major, digest] = pinned.exec(runtimeStage.from)!;
    expect(major).toBe('24');
    expect(pkg.engines.node).toBe(`>=${major}`);
    // The comment says how to move to a newer digest.
    expect(containerfile).toMatch(
      /skopeo inspect --raw docker:\/\/docker\.io\/library\/node:24-bookworm-slim/,
    );
    expect(labels['org.opencontainers.image.base.digest']).toBe(`sha256:${digest}`);
    expect(labels['org.opencontainers.image.base.name']).toBe('docker.io/library/node:24-bookworm-slim');
  });

  it('carries the OCI labels, matching package.json', () => {
    expect(labels).toMatchObject({
      'org.opencontainers.image.title': pkg.name,
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': pkg.license,
      'org.opencontainers.image.source': REPOSITORY,
      'org.opencontainers.image.url': REPOSITORY,
    });
    for (const key of ['description', 'documentation', 'revision', 'created'])
      expect(labels).toHaveProperty(`org.opencontainers.image.${key}`);
    // revision and created come from build arguments declared in the stage.
    const args = runtimeStage.instructions
      .filter((i) => i.keyword === 'ARG')
      .map((i) => i.text.split('=')[0]);
    expect(args).toEqual(expect.arrayContaining(['REVISION', 'CREATED']));
  });

  it('has no HEALTHCHECK, and says why (Kubernetes probes the agent)', () => {
    expect(stages.flatMap((s) => s.instructions).filter((i) => i.keyword === 'HEALTHCHECK')).toEqual([]);
    expect(containerfile).toMatch(/No HEALTHCHECK, on purpose: Kubernetes/);
  });

  it('ships the LICENSE', () => {
    const copied = copiesOf(runtimeStage)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    expect(copied).toContain('LICENSE');
  });

  it('.containerignore keeps local state out and every COPY source in', () => {
    const patterns = readFileSync('.containerignore', 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    // Plain names and "*.ext" only, matched against the first path segment: what this file uses.
    for (const pattern of patterns) expect(pattern).toMatch(/^(\*\.)?[\w.-]+$/);
    const ignored = (path: string) => {
      const top = path.split('/')[0] ?? '';
      return patterns.some((p) => (p.startsWith('*.') ? top.endsWith(p.slice(1)) : top === p));
    };
    for (const local of ['.git', '.runtime', 'node_modules', 'dist', 'test', 'x.tgz']) {
      expect(ignored(local), local).toBe(true);
    }
    const sources = stages.flatMap((s) =>
      copiesOf(s)
        .filter((c) => c.from === undefined)
        .flatMap((c) => c.sources),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(ignored(source), source).toBe(false);
  });
});

describe('license, repository links and source maps', () => {
  it('LICENSE is the Apache License 2.0 verbatim, as package.json declares', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const text = readFileSync('LICENSE');
    expect(createHash('sha256').update(text).digest('hex')).toBe(APACHE_2_0_SHA256);
  });

  it('package.json names the repository, its home page and where to report bugs', () => {
    expect(pkg.repository.type).toBe('git');
    expect(REPOSITORY).toMatch(/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+$/);
    expect(pkg.homepage).toBe(`${REPOSITORY}#readme`);
    expect(pkg.bugs.url).toBe(`${REPOSITORY}/issues`);
  });

  it("README's links and images work on the registry too: absolute, into the repository, or anchors", () => {
    const readme = readFileSync('README.md', 'utf8');
    const targets = [...readme.matchAll(/\]\(([^)\s]+)\)|<img[^>]*\ssrc="([^"]+)"/g)].map(
      (m) => m[1] ?? m[2]!,
    );
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(target, target).toMatch(/^(https:\/\/|#)/);
    // Links into the repository name files that exist.
    const prefix = new RegExp(
      `^(?:${REPOSITORY}/(?:blob|tree)/main/|https://raw\\.githubusercontent\\.com/${REPOSITORY.replace(/^https:\/\/github\.com\//, '')}/main/)([^#]+)`,
    );
    for (const target of targets) {
      const file = prefix.exec(target)?.[1];
      if (file !== undefined) expect(existsSync(file), target).toBe(true);
    }
  });

  it('the build writes no source maps (their TypeScript sources are not shipped)', () => {
    const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as {
      compilerOptions: { sourceMap?: boolean };
    };
    expect(build.compilerOptions.sourceMap).toBe(false);
  });
});

// --- npm pack ----------------------------------------------------------------------------

describe('npm pack', () => {
  let dir = '';
  let files: string[] = [];
  let tarball = '';
  let prefix = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'egress-router-pack-'));
    // A copy of the checkout without build output: prepack must build dist itself.
    const source = join(dir, 'source');
    cpSync(ROOT, source, {
      recursive: true,
      filter: (path) => {
        const top = relative(ROOT, path).split(/[\\/]/)[0] ?? '';
        return (
          !['node_modules', 'dist', '.git', '.runtime', 'bench-results'].includes(top) &&
          !path.endsWith('.tgz')
        );
      },
    });
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
    const out = join(dir, 'out');
    mkdirSync(out);
    const packed = await exec(
      'npm',
      ['pack', '--json', '--pack-destination', out],
      source,
      PACKAGE_TIMEOUT_MS,
    );
    const [result] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    files = (result?.files ?? []).map((f) => f.path);
    tarball = join(out, result?.filename ?? '');
    prefix = join(dir, 'install');
    mkdirSync(prefix);
    // Dependencies come from the registry, as they would for a user.
    await exec(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, tarball],
      prefix,
      PACKAGE_TIMEOUT_MS,
    );
  }, PACKAGE_TIMEOUT_MS * 2);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builds dist before packing (prepack), and "files" holds what the package needs at run time', () => {
    expect(pkg.scripts.prepack).toMatch(/\bnpm run build\b/);
    expect(existsSync(tarball)).toBe(true);
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/cli.js',
      'dist/version.js',
      'examples/egressrouter.yaml',
    ])
      expect(files).toContain(needed);
    for (const bin of Object.values(pkg.bin)) expect(files).toContain(posix.normalize(bin));
    // Sources, tests and tooling stay out.
    expect(files.filter((f) => /^(src|test|scripts|node_modules|deploy)\//.test(f))).toEqual([]);
  });

  it('holds no source map it cannot use (a map without its sources, or a dangling sourceMappingURL)', () => {
    const installed = join(prefix, 'node_modules', pkg.name);
    expect(filesUnder(installed).sort()).toEqual([...files].sort());
    expect(unusableSourceMaps(installed)).toEqual([]);
  });

  it(
    'installs into an empty folder; the installed egress-router-agent prints the version and renders an example',
    async () => {
      const bin = join(prefix, 'node_modules', '.bin', 'egress-router-agent');
      expect(existsSync(bin)).toBe(true);
      const version = await exec(bin, ['--version'], prefix);
      expect(version.stdout).toBe(`${pkg.version}\n`);
      const example = join(prefix, 'node_modules', pkg.name, 'examples', 'egressrouter.yaml');
      expect(existsSync(example)).toBe(true);
      const rendered = await exec(bin, ['render', example], prefix);
      expect(rendered.stdout).toContain('table inet egress_router');
    },
    PACKAGE_TIMEOUT_MS,
  );
});

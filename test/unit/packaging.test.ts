// Packaging, as far as it can be tested without building an image: the Containerfile's build
// stage replayed in a temp dir (its COPY sources, then `npm run build`), the runtime stage's
// files and programs, and `npm pack` giving a package that installs into an empty folder and
// runs. Everything happens in temp dirs: the repository's own dist/ is never rebuilt here
// (the netns tests may be running it).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve('.');
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
};
const PACKAGE_TIMEOUT_MS = 120_000;

/** The environment for nested npm runs, without what an enclosing `npm run` sets for itself. */
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^npm_(lifecycle|package)_/.test(key) && !/^npm_config_(local_)?prefix$/.test(key),
    ),
  );
}

async function exec(file: string, args: readonly string[], cwd: string, timeoutMs = 60_000) {
  try {
    return await run(file, [...args], { cwd, env: childEnv(), timeout: timeoutMs, maxBuffer: 16 << 20 });
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
    expect(
      copiesOf(runtimeStage).some((c) => c.from === 'build' && c.sources.some((s) => /\/dist$/.test(s))),
    ).toBe(true);
  });

  it('installs nft, ip, arping and ping in the runtime stage, and nothing to build with', () => {
    const runs = runsOf(runtimeStage).join('\n');
    const installed = [...runs.matchAll(/apt-get install\s+((?:\S+\s*)+?)(?:&&|$)/gm)].flatMap((m) =>
      (m[1] ?? '').split(/\s+/).filter((w) => w && !w.startsWith('-')),
    );
    for (const needed of ['nftables', 'iproute2', 'iputils-arping', 'iputils-ping'])
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
    const version = await exec(cli, ['--version'], replay.runtimeRoot);
    expect(version.stdout).toBe(`${pkg.version}\n`);
    const example = 'examples/egressrouter.yaml';
    expect(existsSync(join(replay.runtimeRoot, example))).toBe(true);
    const rendered = await exec(cli, ['render', example], replay.runtimeRoot);
    expect(rendered.stdout).toContain('table inet egress_router');
  });

  it('puts egress-router-agent on PATH (for `kubectl exec POD -- egress-router-agent status`)', () => {
    const script = entrypoint()[0] ?? '';
    const runs = runsOf(runtimeStage).join('\n');
    expect(runs).toContain(`ln -s ${script} /usr/local/bin/egress-router-agent`);
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
        return !['node_modules', 'dist', '.git', 'bench-results'].includes(top) && !path.endsWith('.tgz');
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
      'dist/cli.js',
      'dist/version.js',
      'examples/egressrouter.yaml',
    ])
      expect(files).toContain(needed);
    for (const bin of Object.values(pkg.bin)) expect(files).toContain(posix.normalize(bin));
    // Sources, tests and tooling stay out.
    expect(files.filter((f) => /^(src|test|scripts|node_modules|deploy)\//.test(f))).toEqual([]);
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

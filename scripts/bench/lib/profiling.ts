/**
 * Where the agent's time goes: a process timeline from `strace -f -e trace=execve` (every program
 * the agent runs, with start and exit) and a summary of a V8 CPU profile (`node --cpu-prof`).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { round } from './stats.js';

/** Wraps the node command: execve and exits of the agent and all its children, epoch timestamps. */
export function straceWrap(file: string): string[] {
  return [
    'strace',
    '-f',
    '--seccomp-bpf',
    '-e',
    'trace=execve',
    '-e',
    'signal=none',
    '-ttt',
    '-s',
    '160',
    '-o',
    file,
  ];
}

export interface ProcessSpan {
  readonly pid: number;
  /** argv of the first successful execve (nsenter … for commands run in the master namespace). */
  readonly argv: readonly string[];
  /** Epoch seconds. */
  readonly start: number;
  readonly end: number;
}

function parseArgv(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(/"((?:[^"\\]|\\.)*)"(\.\.\.)?/g)) out.push(match[1] ?? '');
  return out;
}

/** Spans of every process that exec'd a program in the trace; the first one is the traced root. */
export function parseStrace(text: string): ProcessSpan[] {
  const first = new Map<number, { argv: string[]; start: number }>();
  const pending = new Map<number, { argv: string[]; start: number }>();
  const ends = new Map<number, number>();
  for (const line of text.split('\n')) {
    const head = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!head) continue;
    const pid = Number(head[1]);
    const ts = Number(head[2]);
    const rest = head[3] ?? '';
    if (rest.startsWith('+++ ')) {
      ends.set(pid, ts);
      continue;
    }
    const exec = /^execve\("[^"]*", \[(.*?)\](.*)$/.exec(rest);
    if (exec) {
      const argv = parseArgv(exec[1] ?? '');
      const tail = exec[2] ?? '';
      if (tail.includes('<unfinished')) pending.set(pid, { argv, start: ts });
      else if (/= 0$/.test(tail) && !first.has(pid)) first.set(pid, { argv, start: ts });
      continue;
    }
    if (/^<\.\.\. execve resumed>.*= 0$/.test(rest)) {
      const p = pending.get(pid);
      if (p && !first.has(pid)) first.set(pid, p);
      pending.delete(pid);
    }
  }
  return [...first.entries()]
    .map(([pid, { argv, start }]) => ({ pid, argv, start, end: ends.get(pid) ?? start }))
    .sort((a, b) => a.start - b.start);
}

/** A short, stable name for a command: what it is, not its variable arguments. */
export function commandLabel(argv: readonly string[]): string {
  const [program, ...args] = argv;
  const base = (program ?? '').split('/').pop() ?? '';
  if (base === 'nsenter') {
    const at = args.indexOf('--');
    return `nsenter+${commandLabel(args.slice(at + 1))}`;
  }
  if (base === 'nft') {
    if (args.includes('monitor')) return 'nft monitor';
    if (args.includes('-c')) return 'nft -c -j -f (preflight check)';
    if (args.includes('-f')) return 'nft -j -f (load)';
    if (args.includes('list')) {
      const what = args[args.indexOf('list') + 1];
      return `nft -j list ${what}`;
    }
    return `nft ${args.filter((a) => !a.startsWith('/')).join(' ')}`;
  }
  if (base === 'ip') {
    const words = args.filter((a) => !a.startsWith('-') && !/^[\d.:/]+$/.test(a));
    return `ip ${words.slice(0, 2).join(' ')}`;
  }
  return base;
}

export interface Timeline {
  /** The traced root (node) from exec to exit, ms. */
  readonly totalMs: number;
  /** From node's exec to its first child: module loading, config parsing, validation, rendering. */
  readonly startupMs: number;
  /** Total time with at least one child running (children may overlap). */
  readonly childrenMs: number;
  /** The rest: node itself between and after its children. */
  readonly nodeOnlyMs: number;
  /** Children grouped by commandLabel, in order of total time. */
  readonly commands: readonly { label: string; count: number; totalMs: number; maxMs: number }[];
  /** Every child in order, relative to node's start. */
  readonly steps: readonly { label: string; atMs: number; ms: number }[];
}

function unionMs(spans: readonly { start: number; end: number }[]): number {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  let total = 0;
  let curStart = Number.NaN;
  let curEnd = Number.NaN;
  for (const span of sorted) {
    if (Number.isNaN(curStart) || span.start > curEnd) {
      if (!Number.isNaN(curStart)) total += curEnd - curStart;
      curStart = span.start;
      curEnd = span.end;
    } else curEnd = Math.max(curEnd, span.end);
  }
  if (!Number.isNaN(curStart)) total += curEnd - curStart;
  return total * 1000;
}

/** The timeline of spans[rootIndex] and every later span within [from, to] (epoch seconds). */
export function timeline(spans: readonly ProcessSpan[], from?: number, to?: number): Timeline {
  const root = spans[0];
  if (!root) throw new Error('empty trace');
  const start = from ?? root.start;
  const end = to ?? root.end;
  const children = spans
    .slice(1)
    .filter((s) => s.start >= start && s.start <= end && !s.argv.includes('monitor'));
  const groups = new Map<string, { label: string; count: number; totalMs: number; maxMs: number }>();
  for (const child of children) {
    const label = commandLabel(child.argv);
    const ms = (child.end - child.start) * 1000;
    const group = groups.get(label) ?? { label, count: 0, totalMs: 0, maxMs: 0 };
    group.count += 1;
    group.totalMs += ms;
    group.maxMs = Math.max(group.maxMs, ms);
    groups.set(label, group);
  }
  const totalMs = (end - start) * 1000;
  const childrenMs = unionMs(children.map((c) => ({ start: c.start, end: Math.min(c.end, end) })));
  return {
    totalMs: round(totalMs, 1),
    startupMs: round(((children[0]?.start ?? end) - start) * 1000, 1),
    childrenMs: round(childrenMs, 1),
    nodeOnlyMs: round(totalMs - childrenMs, 1),
    commands: [...groups.values()]
      .map((g) => ({ ...g, totalMs: round(g.totalMs, 1), maxMs: round(g.maxMs, 1) }))
      .sort((a, b) => b.totalMs - a.totalMs),
    steps: children.map((c) => ({
      label: commandLabel(c.argv),
      atMs: round((c.start - start) * 1000, 1),
      ms: round((c.end - c.start) * 1000, 1),
    })),
  };
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface CpuSummary {
  readonly profiledMs: number;
  /** Self time by function (top 15). */
  readonly topSelf: readonly { fn: string; ms: number }[];
  /** Inclusive time of the project's own functions (dist/…), top 15. */
  readonly topProjectInclusive: readonly { fn: string; ms: number }[];
  /** Self time by source file / package (top 12). */
  readonly byFile: readonly { file: string; ms: number }[];
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return (rest[0]?.startsWith('@') ? rest.slice(0, 2) : rest.slice(0, 1)).join('/');
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}

/** Summarizes the newest .cpuprofile in dir. */
export async function summarizeCpuProfile(dir: string): Promise<CpuSummary> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  const file = files[files.length - 1];
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const name = (n: CpuProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;

  const selfByFn = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    selfByFn.set(name(n), (selfByFn.get(name(n)) ?? 0) + ms);
    const f = n.callFrame.url ? shortUrl(n.callFrame.url) : n.callFrame.functionName || '(native)';
    selfByFile.set(f, (selfByFile.get(f) ?? 0) + ms);
  }
  // Inclusive time: self plus descendants; a function counted once per call path, not per recursion.
  const inclusive = new Map<number, number>();
  const visit = (id: number): number => {
    const cached = inclusive.get(id);
    if (cached !== undefined) return cached;
    const n = byId.get(id);
    let total = self.get(id) ?? 0;
    for (const child of n?.children ?? []) total += visit(child);
    inclusive.set(id, total);
    return total;
  };
  const incByFn = new Map<string, number>();
  const walk = (id: number, onStack: Set<string>) => {
    const n = byId.get(id);
    if (!n) return;
    const fn = name(n);
    const project = n.callFrame.url.includes('/dist/');
    if (project && !onStack.has(fn)) incByFn.set(fn, (incByFn.get(fn) ?? 0) + visit(id));
    const next = project ? new Set([...onStack, fn]) : onStack;
    for (const child of n.children ?? []) walk(child, next);
  };
  const root = profile.nodes[0];
  if (root) walk(root.id, new Set());
  const top = (map: Map<string, number>, count: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([key, ms]) => ({ key, ms: round(ms, 1) }));
  return {
    profiledMs: round((profile.endTime - profile.startTime) / 1000, 1),
    topSelf: top(selfByFn, 15).map(({ key, ms }) => ({ fn: key, ms })),
    topProjectInclusive: top(incByFn, 15).map(({ key, ms }) => ({ fn: key, ms })),
    byFile: top(selfByFile, 12).map(({ key, ms }) => ({ file: key, ms })),
  };
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapSummary {
  /** Sum of every object's own size in the snapshot (V8 collects garbage before writing it): the live heap. */
  readonly liveMiB: number;
  readonly objects: number;
  /** Own size by object kind: JS constructor names, or (string), (code), (array)… */
  readonly top: readonly { kind: string; mib: number; count: number }[];
}

/** Summarizes a .heapsnapshot (written by node --heapsnapshot-signal). */
export async function summarizeHeapSnapshot(file: string): Promise<HeapSummary> {
  const snap = JSON.parse(await readFile(file, 'utf8')) as HeapSnapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const kinds = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType] ?? 0] ?? '?';
    const kind =
      type === 'object' || type === 'closure'
        ? (snap.strings[snap.nodes[i + iName] ?? 0] ?? '?')
        : `(${type})`;
    const size = snap.nodes[i + iSize] ?? 0;
    total += size;
    const entry = kinds.get(kind) ?? { bytes: 0, count: 0 };
    entry.bytes += size;
    entry.count += 1;
    kinds.set(kind, entry);
  }
  return {
    liveMiB: round(total / 2 ** 20, 1),
    objects: snap.nodes.length / width,
    top: [...kinds.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, 8)
      .map(([kind, v]) => ({ kind: kind.slice(0, 60), mib: round(v.bytes / 2 ** 20, 2), count: v.count })),
  };
}

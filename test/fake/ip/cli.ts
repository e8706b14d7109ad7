/**
 * The `ip` program: global options, objects, and `-batch` (one command per line, quotes kept
 * together, stop at the first failure with `Command failed -:N` as iproute2 does, so a caller can
 * tell which lines took effect). Parse errors end the whole program at once, as ip's exit() does.
 */
import { readFileSync } from 'node:fs';
import type { Family } from '../addr.js';
import { ToolError } from '../errors.js';
import type { ProgramContext, ProgramResult } from '../program.js';
import { addressCommand } from './address.js';
import { type IpCommand, type IpContext, matches } from './context.js';
import { linkCommand } from './link.js';
import { neighCommand } from './neigh.js';
import { routeCommand } from './route.js';
import { ruleCommand } from './rule.js';

/** In iproute2's lookup order, so `a` is address and `r` is route. */
const OBJECTS: readonly [string, IpCommand][] = [
  ['address', addressCommand],
  ['route', routeCommand],
  ['rule', ruleCommand],
  ['neighbor', neighCommand],
  ['neighbour', neighCommand],
  ['link', linkCommand],
];

/** Errors after which ip exits on the spot, batch or not (its parsers call exit()). */
const isFatal = (error: ToolError): boolean =>
  error.exitCode === 255 || / is expected rather than |^Not enough information/.test(error.stderr);

/** iproute2's makeargs: whitespace-separated words, "double quotes" group, # starts a comment. */
export function splitBatchLine(line: string): string[] {
  const words: string[] = [];
  const re = /\s*(?:"([^"]*)"?|(#.*)|(\S+))/gy;
  for (let m = re.exec(line); m && m[0] !== ''; m = re.exec(line)) {
    if (m[2] !== undefined) break;
    words.push(m[1] ?? m[3] ?? '');
  }
  return words;
}

interface Globals {
  family?: Family;
  json: boolean;
  details: boolean;
  batch?: string;
  netns?: string;
  /** -force: a batch goes on after a failing line (parse errors still end it). */
  force: boolean;
}

function parseGlobals(args: readonly string[]): { globals: Globals; rest: readonly string[] } {
  const globals: Globals = { json: false, details: false, force: false };
  let i = 0;
  for (; i < args.length && (args[i] as string).startsWith('-'); i++) {
    const opt = (args[i] as string).replace(/^--/, '-');
    if (opt === '-4') globals.family = 4;
    else if (opt === '-6') globals.family = 6;
    else if (matches(opt, '-json') && opt.length >= 2) globals.json = true;
    else if (matches(opt, '-details') && opt.length >= 2) globals.details = true;
    else if (matches(opt, '-oneline') && opt.length >= 2) continue;
    else if (matches(opt, '-batch') && opt.length >= 2) globals.batch = args[++i];
    else if (matches(opt, '-netns') && opt.length >= 2) globals.netns = args[++i];
    else if (opt === '-force') globals.force = true;
    else if (matches(opt, '-stats') && opt.length >= 2) continue;
    else throw new ToolError(`Option "${args[i]}" is unknown, try "ip -help".`, 255);
  }
  return { globals, rest: args.slice(i) };
}

/** One ip command (an argv or a batch line): its stdout, or the ToolError it fails with. */
function runOne(ctx: IpContext, words: readonly string[]): string {
  const [object, ...args] = words;
  if (object === undefined) throw new ToolError('Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }', 255);
  const command = OBJECTS.find(([name]) => matches(object, name))?.[1];
  if (!command) throw new ToolError(`Object "${object}" is unknown, try "ip help".`, 255);
  return command(ctx, args);
}

function batchLines(source: string, input: string | undefined): string[] | ToolError {
  if (source === '-') return (input ?? '').split('\n');
  try {
    return readFileSync(source, 'utf8').split('\n');
  } catch {
    return new ToolError(`Cannot open file "${source}" for reading: No such file or directory`, 1);
  }
}

const result = (exitCode: number, stdout: string, stderr: string): ProgramResult => ({
  exitCode,
  stdout,
  stderr: stderr && !stderr.endsWith('\n') ? `${stderr}\n` : stderr,
});

export function runIp(
  args: readonly string[],
  program: ProgramContext,
): ProgramResult | Promise<ProgramResult> {
  let parsed: ReturnType<typeof parseGlobals>;
  try {
    parsed = parseGlobals(args);
  } catch (error) {
    if (error instanceof ToolError) return result(error.exitCode, '', error.stderr);
    throw error;
  }
  const { globals, rest } = parsed;
  const ns =
    globals.netns === undefined ? program.ns : program.host.namespaceAt(`/run/netns/${globals.netns}`);
  if (!ns)
    return result(255, '', `Cannot open network namespace "${globals.netns}": No such file or directory`);
  // `ip monitor` never ends on its own: through run(), it waits for the caller's deadline.
  if (globals.batch === undefined && matches(rest[0], 'monitor') && (rest[0] ?? '').length > 1)
    return new Promise<ProgramResult>(() => undefined);
  const ctx: IpContext = {
    ns,
    host: program.host,
    json: globals.json,
    details: globals.details,
    ...(globals.family ? { family: globals.family } : {}),
    session: { linkShown: false },
    batch: globals.batch !== undefined,
  };
  if (globals.batch === undefined) {
    try {
      return result(0, runOne(ctx, rest), '');
    } catch (error) {
      if (error instanceof ToolError) return result(error.exitCode, error.stdout, error.stderr);
      throw error;
    }
  }
  const lines = batchLines(globals.batch, program.input);
  if (lines instanceof ToolError) return result(lines.exitCode, '', lines.stderr);
  if (lines.at(-1) === '') lines.pop();
  let stdout = '';
  let stderr = '';
  for (const [index, line] of lines.entries()) {
    const words = splitBatchLine(line);
    if (words.length === 0) continue;
    try {
      stdout += runOne(ctx, words);
    } catch (error) {
      if (!(error instanceof ToolError)) throw error;
      stdout += error.stdout;
      if (isFatal(error)) return result(error.exitCode, stdout, `${stderr}${error.stderr}`);
      stderr += `${error.stderr}\nCommand failed ${globals.batch}:${index + 1}\n`;
      if (!globals.force) break;
    }
  }
  return result(stderr ? 1 : 0, stdout, stderr);
}

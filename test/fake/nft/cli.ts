/**
 * The `nft` command line the agent uses: `-j -f FILE` (one atomic JSON batch; the file is read
 * from disk, as nft 1.0.6 cannot read JSON from a pipe), `-c` (check only), `-j list table|map`,
 * `-j [-t] list ruleset [FAMILY]` (-t: no elements), `list tables`, `delete table`. A commit tells `nft monitor` what changed and ends with
 * `# new generation N by process PID (nft)`.
 */
import { readFileSync } from 'node:fs';
import type { ProgramResult } from '../program.js';
import type { Netns } from '../state.js';
import { listRuleset, listSet, listTable } from './listing.js';
import { NftError } from './ruleset.js';
import { tableBlock } from './text.js';

const ok = (stdout = ''): ProgramResult => ({ exitCode: 0, stdout, stderr: '' });
const fail = (stderr: string): ProgramResult => ({ exitCode: 1, stdout: '', stderr });

/** nft's error for a command line, with the caret line under the offending word. */
function lineError(message: string, words: readonly string[], at: number): ProgramResult {
  const text = words.join(' ');
  const column = words.slice(0, at).join(' ').length + (at > 0 ? 1 : 0);
  const width = (words[at] ?? '').length;
  return fail(`Error: ${message}\n${text}\n${' '.repeat(column)}${'^'.repeat(width)}\n`);
}

function commit(ns: Netns, commands: readonly unknown[], check: boolean, pid: number): ProgramResult {
  try {
    const result = ns.nft.apply(commands, check, ns.listeners.size > 0);
    if (!check) {
      for (const line of result.changes) ns.emit('nft', line);
      ns.emit('nft', `# new generation ${result.generation} by process ${pid} (nft)`);
    }
    return ok();
  } catch (error) {
    if (error instanceof NftError) return fail(error.text);
    throw error;
  }
}

function runFile(ns: Netns, path: string, json: boolean, check: boolean, pid: number): ProgramResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return fail(`internal:0:0-0: Error: Could not open file "${path}": No such file or directory\n\n\n`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // nft falls back to its own syntax, which this fake does not speak.
    return fail(`${path}:1:1-1: Error: syntax error, unexpected junk\n`);
  }
  const commands = (parsed as { nftables?: unknown }).nftables;
  if (!json || !Array.isArray(commands)) return fail(`${path}:1:1-1: Error: syntax error, unexpected junk\n`);
  return commit(ns, commands, check, pid);
}

export function runNft(ns: Netns, args: readonly string[], pid: number): ProgramResult {
  let json = false;
  let check = false;
  let terse = false;
  let file: string | undefined;
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-j' || arg === '--json') json = true;
    else if (arg === '-c' || arg === '--check') check = true;
    else if (arg === '-f' || arg === '--file') file = args[++i];
    else if (arg === '-t' || arg === '--terse') terse = true;
    else if (arg === '-a' || arg === '-n' || arg === '-s') continue;
    else break;
  }
  if (file !== undefined) return runFile(ns, file, json, check, pid);
  const words = args.slice(i);
  const [verb, what, family = '', table = '', name = ''] = words;
  if (verb === 'list' && what === 'tables') {
    return ok(ns.nft.tables.map((t) => `table ${t.family} ${t.name}\n`).join(''));
  }
  if (verb === 'list' && what === 'table') {
    const t = ns.nft.table(family, table);
    if (!t) return lineError('No such file or directory', words, 3);
    return ok(json ? listTable(t, terse) : tableBlock(t));
  }
  if (verb === 'list' && what === 'ruleset' && json) {
    return ok(
      listRuleset(
        ns.nft.tables.filter((t) => family === '' || t.family === family),
        terse,
      ),
    );
  }
  if (verb === 'list' && (what === 'map' || what === 'set')) {
    const t = ns.nft.table(family, table);
    const set = t?.sets.find((s) => s.name === name && s.kind === what);
    if (!t || !set) return lineError('No such file or directory', words, t ? 4 : 3);
    return ok(listSet(t, set));
  }
  if (verb === 'delete' && what === 'table') {
    const result = commit(ns, [{ delete: { table: { family, name: table } } }], check, pid);
    return result.exitCode === 0
      ? result
      : lineError('Could not process rule: No such file or directory', words, 3);
  }
  return fail(`Error: the fake nft does not understand: nft ${args.join(' ')}\n`);
}

/**
 * Which run owns which prefix, so leftovers of a crashed run can be removed without touching a
 * run that is still going (several test runs may share a machine).
 *
 * Before a run creates anything it claims an unused kit prefix by writing an owner record,
 * /run/netkit/<prefix>.json: the pid and start time of the process. `sweepLeftovers()` removes
 * the namespaces and root-namespace links of a prefix only when
 *   - the prefix matches KIT_PREFIX_PATTERN (`ert`/`erb` + 6 hex + `-`), and
 *   - its owner record exists and names a process that is gone (or a reused pid: the start
 *     time differs).
 * A kit-looking namespace without a record is never touched: it may belong to another checkout's
 * older harness, which writes none. /run is a tmpfs, like /run/netns: records and namespaces
 * vanish together on reboot.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isKitPrefix, type PrefixKind, randomPrefix } from './names.js';
import { deleteNamespace, listNetns, rootLinkNames } from './netns.js';
import { run } from './process.js';

export const OWNER_DIR = '/run/netkit';

interface OwnerRecord {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid from the original process. */
  readonly startTime: string;
  readonly created: string;
}

/** The start time of a process (clock ticks since boot), or undefined if it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

const recordPath = (prefix: string): string => join(OWNER_DIR, `${prefix}.json`);

function readRecord(prefix: string): OwnerRecord | undefined {
  try {
    const value = JSON.parse(readFileSync(recordPath(prefix), 'utf8')) as Partial<OwnerRecord>;
    if (typeof value.pid !== 'number' || typeof value.startTime !== 'string') return undefined;
    return value as OwnerRecord;
  } catch {
    return undefined;
  }
}

/** A record being written right now reads as empty: only an old unreadable record counts as dead. */
const UNREADABLE_GRACE_MS = 60_000;

function ownerGone(prefix: string): boolean {
  const record = readRecord(prefix);
  if (record) return processStartTime(record.pid) !== record.startTime;
  try {
    return Date.now() - statSync(recordPath(prefix)).mtimeMs > UNREADABLE_GRACE_MS;
  } catch {
    return false;
  }
}

function recordedPrefixes(): string[] {
  try {
    return readdirSync(OWNER_DIR)
      .filter((file) => file.endsWith('.json'))
      .map((file) => file.slice(0, -'.json'.length))
      .filter(isKitPrefix);
  } catch {
    return [];
  }
}

/**
 * Picks a prefix of `kind` that no namespace, root-namespace link or owner record uses yet, and
 * writes its owner record (this process).
 */
export async function claimPrefix(kind: PrefixKind): Promise<string> {
  const taken = [...(await listNetns()), ...(await rootLinkNames()), ...recordedPrefixes()];
  mkdirSync(OWNER_DIR, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const prefix = randomPrefix(kind);
    if (taken.some((name) => name.startsWith(prefix))) continue;
    const record: OwnerRecord = {
      pid: process.pid,
      startTime: processStartTime(process.pid) ?? '',
      created: new Date().toISOString(),
    };
    try {
      // `wx`: another run picking the same prefix at the same moment loses here.
      writeFileSync(recordPath(prefix), `${JSON.stringify(record)}\n`, { flag: 'wx', mode: 0o600 });
      return prefix;
    } catch {
      // taken meanwhile: try another
    }
  }
  throw new Error('could not find an unused namespace prefix');
}

/** Drops this run's owner record (after its teardown). */
export function releasePrefix(prefix: string): void {
  if (isKitPrefix(prefix)) rmSync(recordPath(prefix), { force: true });
}

export interface SweepReport {
  /** Prefixes whose owner was gone. */
  readonly prefixes: readonly string[];
  readonly namespaces: readonly string[];
  readonly links: readonly string[];
}

/** Removes what runs that died left behind (see the module comment for what counts). */
export async function sweepLeftovers(): Promise<SweepReport> {
  const prefixes: string[] = [];
  const namespaces: string[] = [];
  const links: string[] = [];
  for (const prefix of recordedPrefixes()) {
    if (!ownerGone(prefix)) continue;
    prefixes.push(prefix);
    for (const name of (await listNetns()).filter((n) => n.startsWith(prefix))) {
      await deleteNamespace(name);
      namespaces.push(name);
    }
    for (const name of (await rootLinkNames()).filter((n) => n.startsWith(prefix))) {
      await run(['ip', 'link', 'delete', name], { reject: false });
      links.push(name);
    }
    rmSync(recordPath(prefix), { force: true });
  }
  return { prefixes, namespaces, links };
}

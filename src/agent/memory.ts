/**
 * Giving back the heap a big config grew. Reading, planning and diffing tens of thousands of
 * rules grows V8's old space; what stays live afterwards is a fraction of it (about 22 MiB of
 * 145 MiB resident at 10,000 rules, measured), but V8 keeps the grown heap until pressure makes
 * it collect, so a router at rest would hold its start-up peak for a long time. One thorough
 * collection after a new config comes into force (and no newer one followed) returns the pages.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: ((options?: object) => void) | undefined;

/** V8's full collector, exposed at run time (as `--expose-gc` would at start). */
function collector(): (options?: object) => void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as (options?: object) => void;
  }
  return collect;
}

/** Below this many rules the heap never grew enough to be worth a full collection. */
export const RELEASE_MIN_RULES = 1_000;

/** How long after the last new config the heap is given back: a burst of reloads collects once. */
export const RELEASE_DELAY_MS = 1_000;

/**
 * V8's most thorough collection (the one it runs before giving up on memory): it compacts and
 * returns the freed pages at once. A plain full collection leaves them to V8's memory reducer,
 * which at 65,534 rules kept 150 MiB resident for half a minute before coming down to 105.
 */
const GIVE_BACK = { type: 'major', execution: 'sync', flavor: 'last-resort' } as const;

let pending: NodeJS.Timeout | undefined;

/** Schedules a collection that gives the heap back, RELEASE_DELAY_MS after the last call; returns whether one was. */
export function releaseHeap(ruleCount: number, delayMs: number = RELEASE_DELAY_MS): boolean {
  if (ruleCount < RELEASE_MIN_RULES) return false;
  if (pending) clearTimeout(pending);
  pending = setTimeout(() => {
    pending = undefined;
    collector()(GIVE_BACK);
  }, delayMs);
  pending.unref();
  return true;
}

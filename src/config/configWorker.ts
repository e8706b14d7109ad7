/**
 * The worker side of loadConfigInWorker: reads and validates one config off the main thread.
 * It imports only the config modules, so starting it is cheap and a huge or hostile config can
 * cost the worker's heap, never the agent's event loop.
 *
 * The answer goes back in slices: copying 131,070 rules into the main thread as one message
 * would stop its event loop for as long as that copy takes (about a second on a busy 2-core
 * machine); slices of a few thousand let it serve /healthz in between.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type LoadResult, loadConfigText } from './load.js';
import type { AgentOptions } from './model.js';

export interface WorkerInput {
  readonly text: string;
  readonly options: AgentOptions;
}

/** The messages of one answer, in order: a head, any number of slices, then `done`. */
export type WorkerMessage =
  | { readonly kind: 'head'; readonly result: LoadResult }
  | { readonly kind: 'slice'; readonly items: readonly unknown[] }
  | { readonly kind: 'done' };

export const SLICE = 4096;

const input = workerData as WorkerInput;
const result = loadConfigText(input.text, input.options);
// The long list (rules, or issues) travels in slices; the head carries the rest.
const list: readonly unknown[] = result.ok ? result.config.redirectRules : result.issues;
const head: LoadResult = result.ok
  ? { ok: true, config: { ...result.config, redirectRules: [] } }
  : { ok: false, issues: [] };
const post = (message: WorkerMessage) => parentPort?.postMessage(message);
post({ kind: 'head', result: head });
for (let start = 0; start < list.length; start += SLICE)
  post({ kind: 'slice', items: list.slice(start, start + SLICE) });
post({ kind: 'done' });

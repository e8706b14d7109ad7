/**
 * Parsing and validating a config off the event loop, for the control loop: a 131,070-rule
 * config takes seconds to read, during which /healthz must keep answering. Each call runs one
 * short-lived worker thread with its own heap cap, so the garbage of a big parse leaves with the
 * worker and a hostile config that would need more memory is refused instead of killing the agent.
 */
import { Worker } from 'node:worker_threads';
import type { WorkerInput, WorkerMessage } from './configWorker.js';
import type { ConfigIssue } from './issues.js';
import type { LoadResult } from './load.js';
import type { AgentOptions, RedirectRule } from './model.js';

export interface WorkerLimits {
  /** Old-space cap of the worker's heap. 192 MiB reads the largest config the API allows. */
  readonly maxHeapMiB?: number;
  /** After this the worker is stopped and the config refused. */
  readonly timeoutMs?: number;
}

const DEFAULTS = { maxHeapMiB: 192, timeoutMs: 60_000 };

/**
 * The worker: the built configWorker.js next to this module; when this module runs from its .ts
 * source (the unit tests), the source through tsx, which the worker does not inherit.
 */
function startWorker(input: WorkerInput, maxHeapMiB: number): Worker {
  const options = { workerData: input, resourceLimits: { maxOldGenerationSizeMb: maxHeapMiB } };
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./configWorker.js', import.meta.url), options);
  const source = JSON.stringify(new URL('./configWorker.ts', import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then((tsx) => tsx.tsImport(${source}, ${source}));`;
  return new Worker(bootstrap, { ...options, eval: true });
}

const refused = (message: string): LoadResult => ({ ok: false, issues: [{ path: '', message }] });

/** loadConfigText in a worker thread. Resolves with its result, or with an issue when the worker could not finish. */
export function loadConfigInWorker(
  text: string,
  options: AgentOptions,
  limits: WorkerLimits = {},
): Promise<LoadResult> {
  const { maxHeapMiB, timeoutMs } = { ...DEFAULTS, ...limits };
  return new Promise((resolve) => {
    const worker = startWorker({ text, options }, maxHeapMiB);
    let settled = false;
    const settle = (result: LoadResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
      void worker.terminate();
    };
    const timer = setTimeout(
      () => settle(refused(`reading the config took longer than ${timeoutMs / 1000} s; refused`)),
      timeoutMs,
    );
    let head: LoadResult | undefined;
    const items: unknown[] = [];
    worker.on('message', (message: WorkerMessage) => {
      if (message.kind === 'head') head = message.result;
      else if (message.kind === 'slice') for (const item of message.items) items.push(item);
      else if (head?.ok) {
        settle({ ok: true, config: { ...head.config, redirectRules: items as RedirectRule[] } });
      } else settle({ ok: false, issues: items as ConfigIssue[] });
    });
    worker.once('error', (error: Error & { code?: string }) =>
      settle(
        refused(
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `reading the config needs more than ${maxHeapMiB} MiB; refused`
            : `reading the config failed: ${error.message}`,
        ),
      ),
    );
    // Messages sent before the worker ended may still be queued when it ends: let them in first.
    worker.once('exit', (code) =>
      setImmediate(() => settle(refused(`the config reader stopped (exit ${code}) before it finished`))),
    );
  });
}

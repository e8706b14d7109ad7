/**
 * The worker side of loadConfigInWorker: reads and validates one config off the main thread.
 * It imports only the config modules, so starting it is cheap and a huge or hostile config can
 * cost the worker's heap, never the agent's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type LoadResult, loadConfigText } from './load.js';
import type { AgentOptions } from './model.js';

export interface WorkerInput {
  readonly text: string;
  readonly options: AgentOptions;
}

const input = workerData as WorkerInput;
const result: LoadResult = loadConfigText(input.text, input.options);
parentPort?.postMessage(result);

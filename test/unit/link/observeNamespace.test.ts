// Reading a namespace runs two processes at once; a stop aborts both. The second one's rejection
// must be awaited too: left alone it is an unhandled rejection, which ends the agent with exit 1
// in the middle of a clean SIGTERM.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { observeNamespace } from '../../../src/link/iproute.js';
import { AbortedError, type Runner } from '../../../src/system/command.js';

const unhandled: unknown[] = [];
const record = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', record);
});
afterEach(() => {
  process.off('unhandledRejection', record);
});

it('a stop that aborts both reads rejects once, with nothing left unhandled', async () => {
  const stop = new AbortController();
  const runner: Runner = {
    where: 'the pod',
    run: (argv, options) =>
      new Promise((_, reject) => {
        // The batch is stopped first, the IPv6 rules a moment later: the order a real abort has.
        const delay = argv.includes('-batch') ? 0 : 5;
        options?.signal?.addEventListener('abort', () =>
          setTimeout(() => reject(new AbortedError(`${argv.join(' ')}: stopped`)), delay),
        );
      }),
  };
  const reading = observeNamespace(runner, stop.signal);
  stop.abort();
  await expect(reading).rejects.toThrow('ip -json -details -batch -: stopped');
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(unhandled).toEqual([]);
});

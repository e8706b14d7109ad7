import { describe, expect, it } from 'vitest';
import { RELEASE_MIN_RULES, releaseHeap } from '../../../src/agent/memory.js';

const nextTurn = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

describe('releaseHeap', () => {
  it('does nothing for a small config', () => {
    expect(releaseHeap(RELEASE_MIN_RULES - 1)).toBe(false);
  });

  it('after a big config, lets V8 give back the old space that garbage grew', async () => {
    let garbage: { i: number; s: string }[] | undefined = [];
    for (let i = 0; i < 1_500_000; i += 1) garbage.push({ i, s: `rule-${i}` });
    const grown = process.memoryUsage().heapTotal;
    garbage = undefined;
    expect(garbage).toBeUndefined();
    expect(releaseHeap(65_534)).toBe(true);
    await nextTurn();
    // The objects above alone took over 80 MiB of heap; after the collection the heap is far smaller.
    expect(process.memoryUsage().heapTotal).toBeLessThan(grown - 40 * 2 ** 20);
  });
});

// The runner's deadlines end in SIGKILL: a stopped child (SIGSTOP) never acts on SIGTERM, and
// with SIGTERM alone a wedged `ip` or `nft` hung apply and the loop forever. Stops abort children.
import { describe, expect, it } from 'vitest';
import { AbortedError, runProgram } from '../../../src/system/command.js';

describe('runProgram', () => {
  it('kills a stopped child at its deadline (SIGTERM would never be acted on)', async () => {
    // The test program stops itself: only SIGKILL ends a stopped process.
    const result = await runProgram(['sh', '-c', 'kill -STOP $$; echo never'], { timeoutMs: 300 });
    expect(result.exitCode).toBe(-1);
    expect(result.stderr).toBe('timed out after 300 ms (killed)');
    expect(result.stdout).toBe('');
  });

  it('an abort ends the child and rejects with AbortedError', async () => {
    const controller = new AbortController();
    const running = runProgram(['sleep', '30'], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(running).rejects.toBeInstanceOf(AbortedError);
  });

  it('feeds stdin to the child (ip -batch -)', async () => {
    const result = await runProgram(['cat'], { input: 'line one\nline two\n' });
    expect(result).toEqual({ exitCode: 0, stdout: 'line one\nline two\n', stderr: '' });
  });
});

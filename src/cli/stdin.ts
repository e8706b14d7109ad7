import { MAX_CONFIG_BYTES } from '../config/load.js';
import { RuntimeFailure } from './io.js';

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_CONFIG_BYTES) throw new RuntimeFailure(`stdin is larger than ${MAX_CONFIG_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

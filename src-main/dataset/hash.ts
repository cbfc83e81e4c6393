// Streaming sha256 of a file (inputs of many GB: never read whole); stops with AbortedError when `signal` fires.
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { AbortedError } from '../util/errors';

export async function sha256File(path: string, onProgress?: (bytes: number) => void, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  let n = 0;
  const stream = createReadStream(path, { highWaterMark: 4 * 1024 * 1024 });
  onProgress?.(0);
  try {
    for await (const chunk of stream) {
      if (signal?.aborted) throw new AbortedError('hashing');
      h.update(chunk as Buffer);
      n += (chunk as Buffer).length;
      onProgress?.(n);
    }
  } finally {
    stream.destroy();
  }
  return h.digest('hex');
}

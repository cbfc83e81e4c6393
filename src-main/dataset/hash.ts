// Streaming sha256 of a file (inputs of many GB: never read whole).
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';

export async function sha256File(path: string, onProgress?: (bytes: number) => void): Promise<string> {
  const h = createHash('sha256');
  let n = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    h.update(chunk as Buffer);
    n += (chunk as Buffer).length;
    onProgress?.(n);
  }
  return h.digest('hex');
}

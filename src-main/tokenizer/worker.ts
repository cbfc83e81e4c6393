// Worker thread for the parallel pipelines: counts pre-tokens (training) or encodes chunks to token ids.
// Keep its imports light (no zod, no CLI code): each worker loads them through tsx at start-up.
import { parentPort, workerData } from 'node:worker_threads';
import { countPretokens, packCounts, PretokenCounts } from './count';
import { SpecialSplitter } from './specials';
import { decodeChunk, InvalidUtf8Error, type InvalidUtf8Mode } from './text-decode';
import { IdBuffer, Tokenizer, unpackTokenizerData, type PackedTokenizerData } from './tokenizer';

export type WorkerInit =
  | { task: 'count'; specials: string[]; invalidUtf8: InvalidUtf8Mode }
  | { task: 'encode'; tokenizer: PackedTokenizerData; invalidUtf8: InvalidUtf8Mode; dtype: 'uint16' | 'uint32' };

export type WorkerRequest = { type: 'chunk'; seq: number; offset: number; data: Uint8Array } | { type: 'finish' };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; seq: number; bytes: number; ids?: Uint16Array | Uint32Array }
  | { type: 'counts'; keys: string; lens: Uint32Array; counts: Float64Array }
  | { type: 'error'; message: string; invalidUtf8Offset?: number };

const port = parentPort;
if (port === null) throw new Error('worker.ts must run in a worker thread');
const init = (workerData as { init: WorkerInit }).init;
const post = (r: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(r, transfer);

try {
  if (init.task === 'count') {
    const splitter = new SpecialSplitter(init.specials);
    const counts = new PretokenCounts();
    port.on('message', (m: WorkerRequest) => {
      try {
        if (m.type === 'finish') {
          const p = packCounts(counts);
          post({ type: 'counts', ...p }, [p.lens.buffer as ArrayBuffer, p.counts.buffer as ArrayBuffer]);
          return;
        }
        const buf = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
        countPretokens(decodeChunk(buf, m.offset, init.invalidUtf8), splitter, counts);
        post({ type: 'done', seq: m.seq, bytes: m.data.byteLength });
      } catch (err) {
        post({ type: 'error', message: (err as Error).message, invalidUtf8Offset: err instanceof InvalidUtf8Error ? err.offset : undefined });
      }
    });
  } else {
    const tok = new Tokenizer(unpackTokenizerData(init.tokenizer));
    port.on('message', (m: WorkerRequest) => {
      try {
        if (m.type === 'finish') return;
        const buf = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
        const out = new IdBuffer();
        tok.encodeInto(decodeChunk(buf, m.offset, init.invalidUtf8), out);
        const ids = init.dtype === 'uint16' ? new Uint16Array(out.data.subarray(0, out.length)) : out.toArray();
        post({ type: 'done', seq: m.seq, bytes: m.data.byteLength, ids }, [ids.buffer as ArrayBuffer]);
      } catch (err) {
        post({ type: 'error', message: (err as Error).message, invalidUtf8Offset: err instanceof InvalidUtf8Error ? err.offset : undefined });
      }
    });
  }
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'error', message: (err as Error).message });
}

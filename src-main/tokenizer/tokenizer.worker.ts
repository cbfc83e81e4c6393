// Worker thread for the parallel pipelines: counts pre-tokens (training) or encodes chunks to token ids. Started by
// pool.ts through util/workers.ts; built by `npm run bundle` into dist/tokenizer.worker.mjs. Keep its imports light
// (no zod, no CLI code): each worker loads them at start-up.
import { parentPort, workerData } from 'node:worker_threads';
import { errorInfo, type ErrorInfo } from '../util/errors';
import { countPretokens, packCounts, PretokenCounts } from './count';
import { SpecialSplitter } from './specials';
import { decodeChunk, InvalidUtf8Error } from './text-decode';
import { IdBuffer, Tokenizer, unpackTokenizerData } from './tokenizer';
import type { TokenizerWorkerInit, TokenizerWorkerReply, TokenizerWorkerRequest } from './worker-protocol';

const port = parentPort;
if (port === null) throw new Error('tokenizer.worker.ts must run in a worker thread');
const init = (workerData as { init: TokenizerWorkerInit }).init;
const post = (r: TokenizerWorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(r, transfer);

function toInfo(err: unknown): ErrorInfo {
  if (err instanceof InvalidUtf8Error) return { code: 'INVALID_UTF8', message: err.message, data: { offset: err.offset } };
  return errorInfo(err);
}

try {
  if (init.task === 'count') {
    const splitter = new SpecialSplitter(init.specials);
    const counts = new PretokenCounts();
    port.on('message', (m: TokenizerWorkerRequest) => {
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
        post({ type: 'error', error: toInfo(err) });
      }
    });
  } else {
    const tok = new Tokenizer(unpackTokenizerData(init.tokenizer));
    port.on('message', (m: TokenizerWorkerRequest) => {
      try {
        if (m.type === 'finish') return;
        const buf = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
        const out = new IdBuffer();
        tok.encodeInto(decodeChunk(buf, m.offset, init.invalidUtf8), out);
        const ids = init.dtype === 'uint16' ? new Uint16Array(out.data.subarray(0, out.length)) : out.toArray();
        post({ type: 'done', seq: m.seq, bytes: m.data.byteLength, ids }, [ids.buffer as ArrayBuffer]);
      } catch (err) {
        post({ type: 'error', error: toInfo(err) });
      }
    });
  }
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'error', error: toInfo(err) });
}

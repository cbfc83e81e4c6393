// The batch loader's worker thread: reads the windows a step asks for with positioned reads, checks the ids against
// the vocabulary, groups rows by token id for the embedding backward and transfers the arrays back. Started by
// batch-loader.ts through util/workers.ts; built by `npm run bundle` into dist/batch-loader.worker.mjs.
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { errorInfo } from '../../util/errors';
import { embeddingSegments } from '../kernels/embedding';
import type { BatchReply, BatchRequest, BatchWorkerData } from './batch-loader-protocol';

const port = parentPort;
if (port === null) throw new Error('batch-loader.worker.ts must run in a worker thread');
const { path, T, vocab } = workerData as BatchWorkerData;
const fd = openSync(path, 'r');
const window = Buffer.alloc((T + 1) * 2);
const post = (r: BatchReply, transfer: ArrayBuffer[] = []) => port.postMessage(r, transfer);

port.on('message', (msg: BatchRequest) => {
  if (msg.type === 'close') {
    closeSync(fd);
    port.close();
    return;
  }
  const B = msg.starts.length;
  const inputs = new Uint32Array(B * T);
  const targets = new Uint32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = msg.starts[b];
    const got = readSync(fd, window, 0, window.length, start * 2);
    if (got !== window.length) {
      post({ type: 'error', id: msg.id, error: { code: 'FILE_INVALID', message: `short read at token ${start} of ${path}: the token file shrank while training`, data: { path, start, got } } });
      return;
    }
    const ids = new Uint16Array(window.buffer, window.byteOffset, T + 1);
    for (let t = 0; t <= T; t++) {
      if (ids[t] >= vocab) {
        post({ type: 'error', id: msg.id, error: { code: 'TOKEN_OUT_OF_RANGE', message: `id ${ids[t]} at position ${start + t}`, data: { path, index: start + t, value: ids[t] } } });
        return;
      }
    }
    for (let t = 0; t < T; t++) {
      inputs[b * T + t] = ids[t];
      targets[b * T + t] = ids[t + 1];
    }
  }
  try {
    const segments = embeddingSegments(inputs);
    const { order, chunkStart, chunkDest, longId, longSlot } = segments;
    post({ type: 'batch', id: msg.id, batch: { inputs, targets, segments } }, [
      inputs.buffer, targets.buffer, ...[order, chunkStart, chunkDest, longId, longSlot].map((a) => a.buffer as ArrayBuffer),
    ]);
  } catch (e) {
    post({ type: 'error', id: msg.id, error: errorInfo(e) });
  }
});

// The checkpoint writer's worker thread: takes the flat parameter and AdamW buffers (transferred, not copied),
// hashes and writes the safetensors file (checkpoint.ts: temp file, fsync, rename) while the trainer's thread
// keeps the GPU busy, and answers with the file's size or the error. Started by checkpoint-writer.ts through
// util/workers.ts; built by `npm run bundle` into dist/checkpoint-writer.worker.mjs.
import { statSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { errorInfo } from '../../util/errors';
import { saveCheckpoint } from './checkpoint';
import type { WriterReply, WriterRequest } from './checkpoint-writer-protocol';

const port = parentPort;
if (port === null) throw new Error('checkpoint-writer.worker.ts must run in a worker thread');

port.on('message', (msg: WriterRequest) => {
  if (msg.type === 'close') {
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    saveCheckpoint(msg.path, { slots: msg.slots }, msg.state);
    reply = { type: 'written', id: msg.id, bytes: statSync(msg.path).size };
  } catch (e) {
    reply = { type: 'error', id: msg.id, error: errorInfo(e) };
  }
  port.postMessage(reply);
});

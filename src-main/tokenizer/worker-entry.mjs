// Worker bootstrap: the worker code is TypeScript, so register tsx in this thread before importing it (the same
// loader the CLI uses; under vitest and tsx alike the worker thread starts as plain Node).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);

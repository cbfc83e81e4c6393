// Worker bootstrap when running from source: register tsx's loader in this thread (a worker starts as plain Node,
// under vitest and tsx alike), then import the TypeScript worker module passed as the last argv entry.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[process.argv.length - 1]);

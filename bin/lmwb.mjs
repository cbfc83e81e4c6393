#!/usr/bin/env node
// Launcher for `npx lmwb`: runs the TypeScript CLI from source through tsx.
// (On machines without npm, run the single-file bundle instead: `npm run bundle`, then `node dist/lmwb.mjs`.)
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { register } from 'tsx/esm/api';

register();
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await import(pathToFileURL(join(root, 'src-main', 'cli', 'main.ts')).href);

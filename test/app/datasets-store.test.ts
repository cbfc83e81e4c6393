/// <reference lib="dom" />
// The Datasets view's Pinia store against a real backend (in process, every message through JSON, as the Electron
// IPC bridge carries it): start() lists datasets and follows job events; prepare() starts a real child; the job's
// `done` event reloads the list (the new dataset appears with its counts); samples are fetched and cached; a bad
// request rejects with its code; dismiss hides a finished job and later events for it stay hidden.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { Backend } from '../../src-main/server/backend';
import type { ApiEvent } from '../../src-main/api/contract';
import { ApiClient, setApi, type Transport } from '../../src-renderer/src/api/client';
import { useDatasetsStore } from '../../src-renderer/src/stores/datasets';
import { stories } from '../dataset/stories';

const ws = mkdtempSync(join(tmpdir(), 'lmwb-ds-store-'));
let backend: Backend;

function inProcess(b: Backend): Transport {
  const listeners = new Set<(e: ApiEvent) => void>();
  b.connect((e) => {
    for (const l of listeners) l(JSON.parse(JSON.stringify(e)) as ApiEvent);
  });
  return {
    kind: 'ipc',
    send: async (req) => JSON.parse(JSON.stringify(await b.call(JSON.parse(JSON.stringify(req))))),
    subscribe: () => undefined,
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    save: async () => null,
  };
}

async function until<T>(what: string, fn: () => T | undefined | false, ms = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(() => {
  writeFileSync(join(ws, 'tiny.txt'), stories(20_000, 5));
  backend = new Backend({ workspace: ws, host: 'electron' });
  setApi(new ApiClient(inProcess(backend)));
  setActivePinia(createPinia());
});
afterAll(async () => {
  await backend.close();
  rmSync(ws, { recursive: true, force: true });
});

describe('datasets store', () => {
  it('prepares through the backend, follows the job and reloads the list when it is done', async () => {
    const s = useDatasetsStore();
    await s.start();
    expect(s.list).toEqual([]);
    const job = await s.prepare({ name: 'tiny', train: 'tiny.txt', tokenizer: { kind: 'bytes', specials: ['<|endoftext|>'] }, invalidUtf8: 'error' });
    expect(s.jobList.map((j) => j.id)).toEqual([job.id]);
    const ds = await until('the dataset to be listed', () => s.get('tiny'));
    expect(s.jobs[job.id].state).toBe('done');
    expect(ds.vocabSize).toBe(257);
    expect(ds.valid).toBeNull();
    const samples = await s.loadSamples('tiny');
    expect(samples.length).toBe(3);
    expect(await s.loadSamples('tiny')).toBe(samples); // cached
    s.dismiss(job.id);
    s.applyJobs([{ ...job, state: 'done' }]);
    expect(s.jobList).toEqual([]);
    await expect(s.prepare({ name: 'tiny', train: 'tiny.txt', tokenizer: { kind: 'bytes', specials: [] }, invalidUtf8: 'error' })).rejects.toMatchObject({ code: 'FILE_EXISTS' });
  });
});

// `npm run bench:runs`: how fast a workspace of many runs lists. Makes N fixture runs (default 5,000: config,
// meta, status and a short metrics file each) in a temporary folder, then times the listing with no index (cold:
// every folder read, the index written), with a fresh index (warm: three stats per run), and after one run's
// status changed (one folder re-read). `--runs N`, `--keep` (leave the folder), `--json`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listRuns, type ListStats } from '../runs/index';
import { updateStatus } from '../runs/status';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const N = Number(arg('--runs') ?? 5000);
const ws = mkdtempSync(join(tmpdir(), 'lmwb-runs-bench-'));
const root = join(ws, 'runs');

const t0 = Date.now();
for (let i = 0; i < N; i++) {
  const id = `run${String(i).padStart(5, '0')}-20260101-000000`;
  const dir = join(root, id);
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  const created = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  const lr = [1e-4, 3e-4, 1e-3, 3e-3][i % 4];
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    name: id, model: { vocab_size: 10000, context_length: 256, d_model: 512, num_layers: 4, num_heads: 16, d_ff: 1344, rope_theta: 10000 },
    data: { train: '/data/train.bin', valid: '/data/valid.bin' }, training: { batch_size: 128, total_tokens: 327680000, max_learning_rate: lr, min_learning_rate: lr / 10, warmup_iters: 200 },
    eval: { interval: 500, batches: 20 }, checkpoint: { interval: 1000, keep_last: 3 }, log: { interval: 20 },
  }, null, 2));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ name: id, tags: i % 10 ? [] : ['keep'], notes: '', group: `sweep${i % 50}`, sweep: { name: `sweep${i % 50}`, keys: { 'training.max_learning_rate': lr } } }, null, 2));
  writeFileSync(join(dir, 'status.json'), JSON.stringify({
    state: 'done', attempts: 1, restarts: [], created, started: created, ended: created, updated: created, step: 10000, total_steps: 10000,
    tokens_per_s: 700000, elapsed_s: 2000, best_val_loss: 1.4 + (i % 100) / 1000, final_val_loss: 1.41, final_loss: 1.38, priority: i,
  }, null, 2));
  writeFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify({ kind: 'train', step: 20, tokens: 655360, elapsed_s: 1, time: created, loss: 9, lr, grad_norm: 1, tokens_per_s: 7e5 })}\n`);
}
const makeMs = Date.now() - t0;

/** Wall time and this process's CPU time (user + system: what the listing costs apart from waiting for a shared CPU). */
function time(label: string): { label: string; ms: number; cpu_ms: number; stats: ListStats } {
  const stats: ListStats = { runs: 0, reread: 0, wroteIndex: false };
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  listRuns(ws, stats);
  const cu = process.cpuUsage(c);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  return { label, ms, cpu_ms: (cu.user + cu.system) / 1000, stats };
}

const cold = time('cold (no index)');
const warm = time('warm (index fresh)');
const warm2 = time('warm again');
updateStatus(join(root, `run${String(7).padStart(5, '0')}-20260101-000000`), { state: 'failed' });
const changed = time('one run changed');
const results = [cold, warm, warm2, changed];
if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ runs: N, make_ms: makeMs, results })}\n`);
else {
  process.stdout.write(`${N} fixture runs made in ${(makeMs / 1000).toFixed(1)} s in ${ws}\n`);
  for (const r of results) process.stdout.write(`${r.label.padEnd(20)} ${r.ms.toFixed(0).padStart(6)} ms wall, ${r.cpu_ms.toFixed(0).padStart(5)} ms CPU  (${r.stats.reread} folders read${r.stats.wroteIndex ? ', index written' : ''})\n`);
}
if (!args.includes('--keep')) rmSync(ws, { recursive: true, force: true });

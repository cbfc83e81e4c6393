/**
 * What a run will cost, before it is queued: its steps and token budget as the trainer computes them, its memory
 * from the engine's memory plan (the same planTraining the runtime allocates from; nothing allocated, no GPU),
 * and its time from the last measured tokens/s of a run of the same model shape, batch and precision in this
 * workspace — on this machine's GPU when the device is known (status.json's `gpu`), with the run it came from.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { planTraining, bytesOf, parameterBytes } from '../engine/model/plan';
import { layoutParameters, nonEmbeddingCount, parameterSpecs } from '../engine/model/parameters';
import { logitsChunkBytesFor, type RunConfig } from '../engine/train/run-config';
import { RUN_FILES } from './format';
import { readStatus, runsRoot } from './read';
import { BATCH_CAP, largestBatch } from './sweep-presets';
import { limitsFor, type DeviceProbe } from './validate';
import type { MemoryEstimate, RunEstimate, TimeEstimate } from './run-check-types';

export type { MemoryEstimate, RunEstimate };

const SHAPE_KEYS = ['vocab_size', 'context_length', 'd_model', 'num_layers', 'num_heads', 'd_ff', 'norm', 'pos', 'ffn', 'tie_embeddings'] as const;

/** Runs match when the model shape, the batch and the precision setting are the same (the speed depends on these). */
export function shapeKey(config: { model?: unknown; training?: unknown }): string {
  const m = (config.model ?? {}) as Record<string, unknown>;
  const t = (config.training ?? {}) as Record<string, unknown>;
  return JSON.stringify([...SHAPE_KEYS.map((k) => m[k] ?? null), t.batch_size ?? null, t.precision ?? 'auto']);
}

export function memoryEstimate(cfg: RunConfig, device: DeviceProbe | null): MemoryEstimate {
  const limits = device ? limitsFor(cfg, device) : undefined;
  const mixed = limits?.mixed ?? cfg.training.precision === 'mixed';
  const T = cfg.model.context_length;
  const maxBinding = device?.maxStorageBufferBindingSize ?? 2 ** 31;
  const buffers = planTraining(cfg.model, { batchSize: cfg.training.batch_size, seqLen: T, logitsChunkBytes: logitsChunkBytesFor(cfg.training.logits_chunk_mb), maxBindingBytes: maxBinding, halfOperands: mixed }).buffers;
  const layout = layoutParameters(parameterSpecs(cfg.model));
  const pBytes = parameterBytes(layout.totalFloats, true, mixed);
  const aBytes = buffers.reduce((s, b) => s + bytesOf(b), 0);
  const big = buffers.reduce((a, b) => (bytesOf(b) > bytesOf(a) ? b : a), buffers[0]);
  return {
    precision: mixed ? 'mixed' : 'f32',
    parameters: layout.count,
    nonEmbeddingParameters: nonEmbeddingCount(layout),
    parameterBytes: pBytes,
    activationBytes: aBytes,
    totalBytes: pBytes + aBytes,
    largest: { name: big.name, bytes: bytesOf(big) },
    device: device && limits ? { name: device.name, maxBindingBytes: device.maxStorageBufferBindingSize, memoryBytes: limits.memoryBytes ?? null } : null,
    largestBatch: limits ? largestBatch(cfg.model, limits, BATCH_CAP) : null,
  };
}

interface Measured {
  mtimeMs: number;
  shape: string;
  gpu: string | null;
  when: string;
  /** Median tokens/s over the run's train records (the first, with compilation, left out). */
  tokensPerS: number | null;
}

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function measuredTokensPerS(dir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(dir, RUN_FILES.metrics), 'utf8');
  } catch {
    return null;
  }
  const tps: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"train"')) continue;
    try {
      const r = JSON.parse(line) as { kind?: string; tokens_per_s?: unknown };
      if (r.kind === 'train' && typeof r.tokens_per_s === 'number' && r.tokens_per_s > 0) tps.push(r.tokens_per_s);
    } catch {
      /* a torn last line */
    }
  }
  return median(tps.length > 1 ? tps.slice(1) : tps);
}

/**
 * The workspace's measured speeds, by run, re-read only for runs whose status.json changed (a workspace of
 * thousands of runs answers each keystroke from memory).
 */
export class Measurements {
  private runs = new Map<string, Measured>();

  constructor(readonly workspace: string) {}

  private refresh(): void {
    const root = runsRoot(this.workspace);
    const ids = existsSync(root) ? readdirSync(root).filter((d) => !d.startsWith('.')) : [];
    const seen = new Set(ids);
    for (const id of this.runs.keys()) if (!seen.has(id)) this.runs.delete(id);
    for (const id of ids) {
      const dir = join(root, id);
      let mtimeMs: number;
      try {
        mtimeMs = statSync(join(dir, RUN_FILES.status)).mtimeMs;
      } catch {
        continue;
      }
      if (this.runs.get(id)?.mtimeMs === mtimeMs) continue;
      const s = readStatus(dir);
      let config: Record<string, unknown>;
      try {
        config = JSON.parse(readFileSync(join(dir, RUN_FILES.config), 'utf8')) as Record<string, unknown>;
      } catch {
        continue;
      }
      const trained = s && s.step !== undefined && s.step > 0;
      this.runs.set(id, {
        mtimeMs, shape: shapeKey(config), gpu: s?.gpu ?? null, when: s?.updated ?? '',
        tokensPerS: trained ? measuredTokensPerS(dir) : null,
      });
    }
  }

  /** The newest measured run of this shape, preferring this device's runs. */
  find(config: { model?: unknown; training?: unknown }, deviceName: string | null): { id: string; m: Measured; sameDevice: boolean } | null {
    this.refresh();
    const shape = shapeKey(config);
    const hits = [...this.runs.entries()].filter(([, m]) => m.shape === shape && m.tokensPerS !== null).sort((a, b) => b[1].when.localeCompare(a[1].when));
    const same = deviceName ? hits.find(([, m]) => m.gpu?.startsWith(deviceName)) : undefined;
    const pick = same ?? hits[0];
    return pick ? { id: pick[0], m: pick[1], sameDevice: !!same } : null;
  }
}

export function estimateRun(cfg: RunConfig, device: DeviceProbe | null, measurements: Measurements): RunEstimate {
  const tokensPerStep = cfg.training.batch_size * cfg.model.context_length;
  const totalTokens = tokensPerStep * cfg.steps;
  const budget = cfg.training.time_budget_s ?? null;
  const memory = memoryEstimate(cfg, device);
  const hit = measurements.find(cfg, device?.name ?? null);
  let time: TimeEstimate | null = null;
  let timeNote: string;
  if (hit && hit.m.tokensPerS) {
    const seconds = totalTokens / hit.m.tokensPerS;
    time = { tokensPerS: hit.m.tokensPerS, seconds: budget !== null ? Math.min(budget, seconds) : seconds, run: hit.id, gpu: hit.m.gpu, sameDevice: hit.sameDevice };
    timeNote = hit.sameDevice
      ? `median tokens/s of run ${hit.id} (same model shape, batch and precision, on this GPU)`
      : `median tokens/s of run ${hit.id} on ${hit.m.gpu ?? 'an unknown GPU'}${device ? `, not this machine's ${device.name}` : ''}: a rough guide only`;
    if (budget !== null && seconds > budget) timeNote += `; the time budget (${budget} s) ends the run first, at about ${Math.round((budget * hit.m.tokensPerS) / tokensPerStep)} steps`;
  } else {
    timeNote = 'no measurement yet: no run in this workspace with the same model shape, batch and precision has trained';
    if (budget !== null) timeNote += `; the time budget caps it at ${budget} s`;
  }
  return { steps: cfg.steps, tokensPerStep, totalTokens, timeBudgetS: budget, memory, time, timeNote };
}

// What generation loads: a model (an LM Workbench checkpoint, or a PyTorch CS336 state dict saved as safetensors
// with its config given or in a config.json beside it), from a file or a run folder (its newest or best-val
// checkpoint), and the tokenizer (given, or the one of the run's dataset). Every tensor is checked against the
// config by name and shape before anything reaches the GPU.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { readSafetensors, asF32, type StTensor } from '../checkpoint/safetensors';
import { CHECKPOINT_FORMAT } from '../checkpoint/checkpoint';
import { parseModelConfig, ModelConfigSchema, type ModelConfig } from '../model/config';
import { parameterSpecs } from '../model/parameters';
import { halfToFloat } from '../gpu/tensor';
import { Tokenizer } from '../../tokenizer/tokenizer';
import { loadTokenizer } from '../../tokenizer/files';
import { readMetrics } from '../../runs/read';
import { RUN_FILES } from '../../runs/format';
import { UserError } from '../../util/errors';
import type { WeightSource } from './generate';

export interface LoadedModel {
  cfg: ModelConfig;
  weights: WeightSource;
  /** The checkpoint file read. */
  file: string;
  format: 'lmwb' | 'pytorch';
  /** Optimizer steps of an LM Workbench checkpoint (0 when unknown). */
  step: number;
  /** Set when loaded from a run folder (or a checkpoint inside one). */
  runDir?: string;
}

export type CheckpointChoice = 'latest' | 'best';

const CKPT = /^step_(\d+)\.safetensors$/;

/** Is this folder a run folder (a checkpoints/ folder, a config.json or run.json)? */
function isRunDir(dir: string): boolean {
  return existsSync(join(dir, RUN_FILES.checkpoints)) || existsSync(join(dir, RUN_FILES.config)) || existsSync(join(dir, 'run.json'));
}

/**
 * The checkpoint to load from a file or a run folder: the newest step_*.safetensors, or with 'best' the one whose
 * step has the lowest validation loss in metrics.jsonl (the newest when no evaluation matches a checkpoint).
 */
export function resolveGenerationCheckpoint(pathOrDir: string, choice: CheckpointChoice = 'latest'): { file: string; runDir?: string; note?: string } {
  if (!existsSync(pathOrDir)) throw new UserError(`checkpoint not found: ${pathOrDir}`, { code: 'FILE_NOT_FOUND' });
  if (statSync(pathOrDir).isFile()) {
    const parent = dirname(resolve(pathOrDir));
    const runDir = basename(parent) === RUN_FILES.checkpoints && isRunDir(dirname(parent)) ? dirname(parent) : undefined;
    return { file: pathOrDir, runDir };
  }
  const runDir = pathOrDir;
  const dir = existsSync(join(runDir, RUN_FILES.checkpoints)) ? join(runDir, RUN_FILES.checkpoints) : runDir;
  const files = readdirSync(dir).filter((f) => CKPT.test(f)).sort();
  if (!files.length) throw new UserError(`no step_*.safetensors checkpoint in ${dir}; train the run first or give a checkpoint file`, { code: 'FILE_NOT_FOUND' });
  const newest = join(dir, files[files.length - 1]);
  if (choice === 'latest') return { file: newest, runDir };
  const steps = new Map(files.map((f) => [Number(CKPT.exec(f)![1]), f]));
  let best: { step: number; loss: number } | undefined;
  for (const r of readMetrics(runDir).records) {
    if (r.kind !== 'eval' || !steps.has(r.step) || !Number.isFinite(r.val_loss)) continue;
    if (!best || (r.val_loss as number) < best.loss) best = { step: r.step, loss: r.val_loss as number };
  }
  if (!best) return { file: newest, runDir, note: `no validation loss recorded at a kept checkpoint's step; using the newest, ${basename(newest)}` };
  return { file: join(dir, steps.get(best.step)!), runDir, note: `best validation loss ${best.loss.toFixed(4)} at step ${best.step}` };
}

/** The run's resolved config: config.json, or run.json's `config` (the trainer before config.json). */
export function readRunConfig(runDir: string): Record<string, unknown> | undefined {
  for (const [file, key] of [[RUN_FILES.config, undefined], ['run.json', 'config']] as const) {
    const p = join(runDir, file);
    if (!existsSync(p)) continue;
    try {
      const raw = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
      const cfg = key ? raw[key] : raw;
      if (cfg && typeof cfg === 'object') return cfg as Record<string, unknown>;
    } catch {
      throw new UserError(`${p} is not valid JSON`, { code: 'FILE_INVALID' });
    }
  }
  return undefined;
}

/** A model config from a CS336-style config object: the model keys flat, or nested under `model`. */
export function modelConfigFrom(raw: Record<string, unknown>, where: string): ModelConfig {
  const src = raw.model && typeof raw.model === 'object' ? (raw.model as Record<string, unknown>) : raw;
  const known = Object.keys(ModelConfigSchema.shape);
  const picked = Object.fromEntries(Object.entries(src).filter(([k]) => known.includes(k)));
  return parseModelConfig(picked, where);
}

function floatValues(t: StTensor, name: string, file: string): Float32Array {
  if (t.dtype === 'F32' || t.dtype === 'F64') return asF32(t);
  if (t.dtype === 'F16') return halfToFloat(new Uint16Array(t.data.slice().buffer));
  if (t.dtype === 'BF16') {
    const h = new Uint16Array(t.data.slice().buffer);
    const out = new Uint32Array(h.length);
    for (let i = 0; i < h.length; i++) out[i] = h[i] << 16;
    return new Float32Array(out.buffer);
  }
  throw new UserError(`${file}: tensor ${name} is ${t.dtype}, not a float tensor`, { code: 'CHECKPOINT_MISMATCH' });
}

/** Checks every tensor the config needs against the file (name and shape) and returns the weights by name. */
export function checkedWeights(tensors: Map<string, StTensor>, cfg: ModelConfig, file: string): WeightSource {
  // torch.compile state dicts carry an `_orig_mod.` prefix.
  const byName = new Map<string, StTensor>();
  for (const [k, t] of tensors) byName.set(k.startsWith('_orig_mod.') ? k.slice('_orig_mod.'.length) : k, t);
  const specs = parameterSpecs(cfg);
  for (const s of specs) {
    const t = byName.get(s.name);
    if (!t) {
      const hint = s.name === 'lm_head.weight' ? ' (if the model ties its output head to the embedding, set tie_embeddings: true in the config)' : '';
      throw new UserError(`${file} lacks tensor ${s.name} (shape [${s.shape}]) that the model config needs${hint}`, { code: 'CHECKPOINT_MISMATCH', data: { tensor: s.name, expected: s.shape } });
    }
    if (t.shape.join(',') !== s.shape.join(',')) {
      throw new UserError(`${file}: tensor ${s.name} has shape [${t.shape}] but the model config needs [${s.shape}]; use the config the checkpoint was trained with`, { code: 'CHECKPOINT_MISMATCH', data: { tensor: s.name, shape: t.shape, expected: s.shape } });
    }
  }
  const layerIds = [...byName.keys()].map((k) => /^layers\.(\d+)\./.exec(k)?.[1]).filter((x): x is string => x !== undefined).map(Number);
  const maxLayer = Math.max(-1, ...layerIds);
  if (maxLayer >= cfg.num_layers) throw new UserError(`${file} has ${maxLayer + 1} layers but the model config says num_layers ${cfg.num_layers}`, { code: 'CHECKPOINT_MISMATCH', data: { layers: maxLayer + 1, expected: cfg.num_layers } });
  return (name: string) => floatValues(byName.get(name)!, name, file);
}

export interface LoadModelOptions {
  /** The model config (PyTorch state dicts): an object, or a JSON file; default: config.json beside the file. */
  config?: Record<string, unknown> | string;
  choice?: CheckpointChoice;
}

/** Loads an LM Workbench checkpoint or a PyTorch CS336 state dict (safetensors) from a file or a run folder. */
export function loadGenerationModel(pathOrDir: string, opts: LoadModelOptions = {}): LoadedModel & { note?: string } {
  const { file, runDir, note } = resolveGenerationCheckpoint(pathOrDir, opts.choice);
  const st = readSafetensors(file);
  const md = st.metadata;
  let cfg: ModelConfig;
  let format: LoadedModel['format'];
  let step = 0;
  if (md.format === CHECKPOINT_FORMAT) {
    format = 'lmwb';
    cfg = parseModelConfig(JSON.parse(md.model_config), 'checkpoint.model_config');
    step = Number(md.step ?? 0);
  } else {
    format = 'pytorch';
    let raw: Record<string, unknown> | undefined;
    let where = 'config';
    if (typeof opts.config === 'object') raw = opts.config;
    else {
      const p = typeof opts.config === 'string' ? opts.config : join(dirname(file), 'config.json');
      if (!existsSync(p)) {
        throw new UserError(`${file} is not an LM Workbench checkpoint, so its model config is needed: put a config.json (the CS336 model keys, flat or under "model") beside it or give one`, { code: 'CONFIG_INVALID' });
      }
      try {
        raw = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new UserError(`${p} is not valid JSON (${(e as Error).message})`, { code: 'FILE_INVALID' });
      }
      where = basename(p);
    }
    cfg = modelConfigFrom(raw, where);
  }
  return { cfg, weights: checkedWeights(st.tensors, cfg, file), file, format, step, runDir, note };
}

/** The byte-level tokenizer (vocab 256, no merges, no special tokens): what the smoke preset trains on. */
export function byteTokenizer(): Tokenizer {
  return new Tokenizer({ vocab: Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)), merges: [], specials: [] });
}

/**
 * The tokenizer of a run's training data: the token file's manifest (`<train>.json`) says `tokenizer: "bytes"`
 * (byte level) or names a folder (`tokenizer` / `tokenizer_dir`), else the dataset's tokenizer/ folder beside the
 * token file. A manifest's tokenizer_hash must match the folder's tokenizer.
 */
export function runTokenizer(runDir: string): { tokenizer: Tokenizer; from: string } {
  const cfg = readRunConfig(runDir);
  const data = cfg?.data as { train?: unknown } | undefined;
  if (typeof data?.train !== 'string') throw new UserError(`cannot find the tokenizer of run ${runDir}: its config names no training data; give the tokenizer folder`, { code: 'CONFIG_INVALID' });
  const candidates = [data.train, resolve(runDir, data.train), resolve(runDir, '..', '..', data.train)];
  const train = isAbsolute(data.train) ? data.train : candidates.find((p) => existsSync(p) || existsSync(`${p}.json`)) ?? data.train;
  const manifestPath = `${train}.json`;
  let manifest: Record<string, unknown> = {};
  if (existsSync(manifestPath)) {
    try {
      manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    } catch {
      throw new UserError(`${manifestPath} is not valid JSON`, { code: 'FILE_INVALID' });
    }
  }
  if (manifest.tokenizer === 'bytes') return { tokenizer: byteTokenizer(), from: 'bytes (byte-level, vocab 256)' };
  const named = typeof manifest.tokenizer === 'string' ? manifest.tokenizer : typeof manifest.tokenizer_dir === 'string' ? manifest.tokenizer_dir : undefined;
  const dir = named ? resolve(dirname(manifestPath), named) : join(dirname(train), 'tokenizer');
  if (!existsSync(dir)) {
    throw new UserError(`cannot find the tokenizer of run ${runDir}: ${dir} does not exist; give the tokenizer folder`, { code: 'FILE_NOT_FOUND' });
  }
  const tokenizer = loadTokenizer(dir);
  if (typeof manifest.tokenizer_hash === 'string' && manifest.tokenizer_hash !== tokenizer.hash()) {
    throw new UserError(`the tokenizer in ${dir} is not the one ${train} was encoded with (hash ${tokenizer.hash().slice(0, 12)}… vs ${manifest.tokenizer_hash.slice(0, 12)}…); give the right tokenizer folder`, { code: 'CHECKPOINT_MISMATCH' });
  }
  return { tokenizer, from: dir };
}

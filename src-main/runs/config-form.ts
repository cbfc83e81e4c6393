/**
 * The run config as a form: one typed field per leaf of the trainer's schema (RunConfigSchema, with the model
 * schema inside it), read from the schema's JSON Schema (zod's toJSONSchema), so a key added to the schema shows up
 * here by itself. Each field has its dotted key (the `--set` key), a group, its kind (int, number, bool, enum,
 * string, path, pair, int-or-all), its default, its bounds and a help line. Pure: no files, no GPU.
 */
import { z } from 'zod';
import { RunConfigSchema } from '../engine/train/run-config';
import { FIELD_GROUPS, type FieldGroup, type FormField } from './run-check-types';

export { FIELD_GROUPS, type FormField };

/** Keys the form leaves out: out_dir is per run by nature (the run folder is the output; resolving drops it). */
export const FORM_EXCLUDED = ['out_dir'] as const;

const OPTIMIZER_KEYS = new Set([
  'training.max_learning_rate', 'training.min_learning_rate', 'training.warmup_iters', 'training.cosine_cycle_iters',
  'training.betas', 'training.eps', 'training.weight_decay', 'training.max_grad_norm',
]);

/** One line of help per key (the schema's doc comments, in words a user acts on). */
export const FIELD_HELP: Record<string, string> = {
  name: 'The run name: the run folder is runs/<name>-<date-time>.',
  'model.vocab_size': 'Vocabulary size: must be at least the tokenizer\'s vocab (picking a dataset sets it). At most 65,536 (uint16 token files).',
  'model.context_length': 'Tokens per training window (T). Each step trains on batch_size × context_length tokens.',
  'model.d_model': 'Width of the residual stream. Must be divisible by num_heads.',
  'model.num_layers': 'Number of transformer blocks.',
  'model.num_heads': 'Attention heads; the head dim d_model / num_heads must be a whole number, even with RoPE, and at most 256.',
  'model.d_ff': 'Hidden width of the feed-forward layer (SwiGLU: about 8/3 · d_model; SiLU ablation: 4 · d_model).',
  'model.rope_theta': 'RoPE base frequency Θ.',
  'model.rmsnorm_eps': 'ε added inside RMSNorm\'s square root.',
  'model.norm': 'pre: x + f(Norm x) (the default); post: Norm(x + f(x)); none: no RMSNorm at all (ablation).',
  'model.pos': 'rope: rotary position embeddings on q and k; nope: no position information (ablation).',
  'model.ffn': 'swiglu: W2(SiLU(W1 x) ⊙ W3 x); silu: W2(SiLU(W1 x)) (ablation; use d_ff = 4 · d_model to match parameters).',
  'model.tie_embeddings': 'Share the token embedding and the LM head weights.',
  'data.train': 'Training token file (uint16), relative to the workspace or absolute; `lmwb dataset prepare` makes datasets/<name>/train.bin.',
  'data.valid': 'Validation token file (uint16); without one there is no evaluation.',
  'training.batch_size': 'Sequences per step (B). Must fit the device: the memory plan checks it before anything is allocated.',
  'training.max_steps': 'Optimizer steps. Give this or total_tokens, not both.',
  'training.total_tokens': 'Token budget: steps = total_tokens / (batch_size × context_length), rounded. Give this or max_steps.',
  'training.seed': 'Seeds the initialisation and the batches (batch s is a function of seed and s: resumes are exact).',
  'training.max_learning_rate': 'Peak learning rate, reached after warmup.',
  'training.min_learning_rate': 'Learning rate at the end of the cosine decay; default 0.1 × max_learning_rate.',
  'training.warmup_iters': 'Steps of linear warmup from 0 to max_learning_rate.',
  'training.cosine_cycle_iters': 'Step where the cosine decay ends (constant min lr after it); default: the last step.',
  'training.betas': 'AdamW β1, β2 (two numbers in [0, 1], comma-separated).',
  'training.eps': 'AdamW ε.',
  'training.weight_decay': 'AdamW decoupled weight decay.',
  'training.max_grad_norm': 'Global gradient-norm clipping; 0 turns it off.',
  'training.precision': 'auto: mixed where the GPU has f16 tensor cores (subgroup matrices), else f32. mixed: f16 matmul inputs, f32 accumulation and master weights, dynamic loss scaling.',
  'training.time_budget_s': 'Wall-clock budget in seconds (leaderboard: 5400): the lr schedule runs on elapsed time and training stops when it is spent. Not bit-reproducible.',
  'training.logits_chunk_mb': 'MiB of logits computed at a time (the LM head runs over row chunks); default 1536, the whole batch of the CS336 model at 128. Smaller saves memory on a small GPU (256: 1.5 GiB less at batch 128) for about 2.5% of speed.',
  'training.overfit_one_batch': 'Debugging: train on the batch of step 0 at every step; the loss must go to near zero.',
  'eval.interval': 'Evaluate every N steps (and at the end); 0 = only at the end.',
  'eval.batches': 'Validation batches per evaluation (the same fixed set every time), or "all" for every window of the file.',
  'checkpoint.interval': 'Save every N steps (and at the end); 0 = only at the end.',
  'checkpoint.keep_last': 'Keep only the newest N periodic checkpoints (the final one is always kept); 0 keeps all.',
  'checkpoint.every_minutes': 'Also save when this many minutes of training passed since the last checkpoint (0 = off): a crash loses at most that much.',
  'log.interval': 'Read the loss back every N steps (each readback waits for the GPU).',
  'log.diag_interval': 'Every N steps a diag record (residual RMS per layer, weight and gradient norms per group); 0 = off.',
  'divergence.enabled': 'Stop a run whose loss stays above factor × its running minimum (NaN/Infinity always stops it).',
  'divergence.factor': 'The loss counts as diverging above this × its running minimum (> 1).',
  'divergence.patience': 'Consecutive logged steps above the factor before the run stops as diverged.',
};

// The JSON Schema subset zod emits for our schema.
interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  anyOf?: JsonSchema[];
  prefixItems?: JsonSchema[];
  items?: JsonSchema | false;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
}

const SAFE_MAX = Number.MAX_SAFE_INTEGER;

function groupOf(key: string): FieldGroup {
  if (OPTIMIZER_KEYS.has(key)) return 'optimizer';
  const top = key.split('.')[0];
  return (FIELD_GROUPS as readonly string[]).includes(top) ? (top as FieldGroup) : 'run';
}

function bounds(s: JsonSchema): Pick<FormField, 'min' | 'exclusiveMin' | 'max'> {
  return {
    ...(s.minimum !== undefined ? { min: s.minimum } : {}),
    ...(s.exclusiveMinimum !== undefined ? { exclusiveMin: s.exclusiveMinimum } : {}),
    ...(s.maximum !== undefined && s.maximum < SAFE_MAX ? { max: s.maximum } : {}),
  };
}

function leaf(key: string, s: JsonSchema, required: boolean): FormField {
  const base = { key, group: groupOf(key), required: required && s.default === undefined, ...(s.default !== undefined ? { default: s.default } : {}), help: FIELD_HELP[key] ?? '' };
  if (s.enum) return { ...base, kind: 'enum', options: s.enum.map(String) };
  if (s.anyOf) {
    const int = s.anyOf.find((a) => a.type === 'integer');
    const lit = s.anyOf.find((a) => a.const !== undefined || a.enum);
    if (int && lit) return { ...base, kind: 'int-or-all', options: [String(lit.const ?? lit.enum?.[0])], ...bounds(int) };
    throw new Error(`config-form: no form kind for the union at ${key}`);
  }
  switch (s.type) {
    case 'integer':
      return { ...base, kind: 'int', ...bounds(s) };
    case 'number':
      return { ...base, kind: 'number', ...bounds(s) };
    case 'boolean':
      return { ...base, kind: 'bool' };
    case 'string':
      return { ...base, kind: key.startsWith('data.') ? 'path' : 'string' };
    case 'array':
      if (s.prefixItems?.length === 2 && s.prefixItems.every((p) => p.type === 'number')) return { ...base, kind: 'pair', ...bounds(s.prefixItems[0]) };
  }
  throw new Error(`config-form: no form kind for ${key} (${JSON.stringify(s.type)})`);
}

function walk(s: JsonSchema, prefix: string, out: FormField[]): void {
  const req = new Set(s.required ?? []);
  for (const [name, p] of Object.entries(s.properties ?? {})) {
    const key = prefix ? `${prefix}.${name}` : name;
    if ((FORM_EXCLUDED as readonly string[]).includes(key)) continue;
    if (p.type === 'object' && p.properties) walk(p, key, out);
    else out.push(leaf(key, p, req.has(name)));
  }
}

let cached: FormField[] | undefined;

/** Every field of the run config, in schema order. */
export function runConfigFields(): FormField[] {
  if (!cached) {
    const js = z.toJSONSchema(RunConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    const out: FormField[] = [];
    walk(js, '', out);
    cached = out;
  }
  return cached;
}

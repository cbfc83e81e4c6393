/**
 * Checking a run request — a trainer preset, `key=value` overrides and keys to remove, exactly what
 * `lmwb queue add --preset P --set k=v --unset k` takes — by the rules the CLI and the trainer apply, without a
 * GPU: the config is resolved by resolveRunConfig (the CLI's code path: the schema, steps vs tokens, lr order,
 * model shape), then the trainer's start-up checks that need no GPU run on the result: the token files exist, hold
 * a window and fit the vocab (the file's manifest, or a scan of a small file), and the memory plan accepts the
 * batch on this device (binding size; free memory on a CPU adapter). Each problem names the config key it is
 * about, so a form can show it beside the field.
 */
import { freemem } from 'node:os';
import { basePreset, planAccepts, largestBatch, type DeviceLimits } from './sweep-presets';
import { resolveRunConfig } from './configs';
import { logitsChunkBytesFor, parseRunConfig, type RunConfig } from '../engine/train/run-config';
import { findOutOfRange, inspectTokenFile, outOfRangeError } from '../engine/data/token-file';
import { runConfigFields } from './config-form';
import { UserError } from '../util/errors';
import type { DeviceProbe, FieldIssue } from './run-check-types';

export type { DeviceProbe, FieldIssue };

/** A run request: what `lmwb queue add --preset P [--set k=v]… [--unset k]… [--name N]` takes. */
export interface RunRequest {
  preset: string;
  sets: string[];
  unset?: string[];
  name?: string;
}

export interface RequestCheck {
  ok: boolean;
  issues: FieldIssue[];
  /** The resolved config (config.json as it would be written), when it resolves. */
  config: Record<string, unknown> | null;
  /** The parsed config (steps, schedule), when it resolves. */
  parsed: RunConfig | null;
}

export interface CheckOptions {
  /** The device, when known: the batch is checked against its limits. */
  device?: DeviceProbe | null;
  /** Scan token files without a usable manifest for out-of-range ids up to this many bytes (the trainer: 512 MiB). */
  scanBytes?: number;
}

const KEYS = () => new Set(runConfigFields().map((f) => f.key));

/** Dotted keys a message names (longest first), restricted to known config keys. */
function keysIn(message: string): string[] {
  const known = KEYS();
  const found = message.match(/[a-z_]+(?:\.[a-z_0-9]+)+/g) ?? [];
  return [...new Set(found.filter((k) => known.has(k)))];
}

/** The keys a cross-field rule's message is about (the fields to change), the main one first. */
function keysOfMessage(message: string): string[] {
  if (/head dim/.test(message)) return ['model.num_heads', 'model.d_model'];
  if (/must be divisible by/.test(message)) return ['model.d_model', 'model.num_heads'];
  if (/vocab_size/.test(message) && /65536/.test(message)) return ['model.vocab_size'];
  if (/give training\.max_steps or training\.total_tokens, not both/.test(message)) return ['training.total_tokens', 'training.max_steps'];
  if (/set training\.max_steps or training\.total_tokens/.test(message)) return ['training.max_steps', 'training.total_tokens'];
  if (/min_learning_rate/.test(message)) return ['training.min_learning_rate', 'training.max_learning_rate'];
  const found = keysIn(message);
  return found.length ? found : ['config'];
}

/** A zod issue message in words a user acts on, with the field's name. */
function zodMessage(key: string, message: string): string {
  const field = runConfigFields().find((f) => f.key === key);
  const bound = /^Too (small|big): expected (?:number|int) to be (>=|>|<=|<)\s*(-?[\d.e+-]+)/.exec(message);
  let m = message;
  if (/expected int, received number/i.test(m)) m = 'must be a whole number';
  else if (/expected number, received string/i.test(m)) m = 'must be a number (like 3, 0.5 or 1e-3)';
  else if (/expected boolean/i.test(m)) m = 'must be true or false';
  else if (/expected string/i.test(m)) m = 'must be text';
  else if (/expected tuple|expected array/i.test(m) && field?.kind === 'pair') m = 'must be two numbers, like 0.9, 0.95';
  else if (bound) {
    const [, , op, v] = bound;
    m = op === '>' && v === '0' ? (field?.kind === 'int' ? 'must be a positive whole number' : 'must be greater than 0')
      : op === '>=' ? `must be ${v} or more` : op === '>' ? `must be greater than ${v}` : op === '<=' ? `must be at most ${v}` : `must be less than ${v}`;
  } else if (/Invalid option/.test(m) && field?.options) m = `must be one of ${field.options.map((o) => `"${o}"`).join(', ')}`;
  else if (field?.kind === 'int-or-all' && /Invalid input/.test(m)) m = `must be a positive whole number or "${field.options?.[0] ?? 'all'}"`;
  else if (/Unrecognized key/.test(m)) return `${m.replace(/^Unrecognized keys?:?\s*/i, 'unknown key ')} in ${key || 'the config'}: check the spelling (the schema has no such key)`;
  return `${key}: ${m}`;
}

/** The form field a zod path is about (a tuple element `training.betas.1` is the field `training.betas`). */
const fieldKeyOf = (path: string): string => path.replace(/(\.\d+)+$/, '');

/** The issues of a CONFIG_INVALID error from resolveRunConfig (the schema's issues, or the one cross-field rule). */
function issuesOf(e: UserError): FieldIssue[] {
  const zodIssues = (e.data.issues as Array<{ path: string; message: string }> | undefined) ?? [];
  if (zodIssues.length) return zodIssues.map((i) => ({ key: fieldKeyOf(i.path) || 'config', message: zodMessage(fieldKeyOf(i.path), i.message), level: 'error' }));
  const override = typeof e.data.override === 'string' ? e.data.override : undefined;
  if (override) return [{ key: override.split('=')[0] || 'config', message: e.message, level: 'error' }];
  // One rule between fields: its message beside each of them (the user may have changed either).
  const message = e.message.replace(/^invalid (run )?config: /, '');
  return keysOfMessage(e.message).map((key) => ({ key, message, level: 'error' }));
}

function tokenFileIssues(cfg: RunConfig, o: CheckOptions): FieldIssue[] {
  const out: FieldIssue[] = [];
  const T = cfg.model.context_length;
  const vocab = cfg.model.vocab_size;
  for (const [key, path, role] of [['data.train', cfg.data.train, 'training'], ['data.valid', cfg.data.valid, 'validation']] as const) {
    if (!path) continue;
    try {
      const info = inspectTokenFile(path, T, vocab, role);
      // The trainer scans a file it cannot vouch for by its manifest; so do we, for files up to scanBytes.
      if ((info.manifestVocab === undefined || info.manifestVocab > vocab) && info.numTokens * 2 <= (o.scanBytes ?? 0)) {
        const bad = findOutOfRange(path, vocab);
        if (bad) throw outOfRangeError(path, vocab, bad);
      }
      if (info.manifestVocab !== undefined && info.manifestVocab < vocab) {
        out.push({ key: 'model.vocab_size', level: 'warning', message: `the ${role} file's tokenizer has ${info.manifestVocab} tokens; vocab_size ${vocab} leaves ${vocab - info.manifestVocab} embedding rows unused` });
      }
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      const k = e.code === 'TOKEN_OUT_OF_RANGE' ? 'model.vocab_size' : key;
      // The train and valid files of one dataset share a tokenizer: one vocab message is enough.
      if (!(k === 'model.vocab_size' && out.some((i) => i.key === k && i.level === 'error'))) out.push({ key: k, message: e.message, level: 'error' });
    }
  }
  return out;
}

/** The device limits the memory plan checks, for this config's precision. */
export function limitsFor(cfg: RunConfig, device: DeviceProbe): DeviceLimits {
  const mixed = cfg.training.precision === 'mixed' || (cfg.training.precision === 'auto' && device.subgroupMatrix);
  return { maxStorageBufferBindingSize: device.maxStorageBufferBindingSize, maxBufferSize: device.maxBufferSize, memoryBytes: device.isSoftware ? freemem() * 0.9 : undefined, mixed, logitsChunkBytes: logitsChunkBytesFor(cfg.training.logits_chunk_mb) };
}

function batchIssues(cfg: RunConfig, device: DeviceProbe): FieldIssue[] {
  const limits = limitsFor(cfg, device);
  const B = cfg.training.batch_size;
  if (planAccepts(cfg.model, B, limits)) return [];
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const bindingOk = planAccepts(cfg.model, B, { ...limits, memoryBytes: undefined });
  const why = bindingOk
    ? `the memory plan needs more than the ${mib(limits.memoryBytes ?? 0)} of free memory this CPU device (${device.name}) may use`
    : `an activation buffer would be larger than ${device.name}'s largest binding (${mib(device.maxStorageBufferBindingSize)}; the FFN's row-chunked activations: its largest buffer, ${mib(device.maxBufferSize)})`;
  const max = largestBatch(cfg.model, limits, B);
  return [{
    key: 'training.batch_size', level: 'error',
    message: max > 0 ? `batch ${B} does not fit: ${why}; use batch_size ≤ ${max}` : `not even batch 1 fits: ${why}; make the model or context_length smaller`,
  }];
}

function adviceIssues(cfg: RunConfig): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (cfg.training.warmup_iters >= cfg.steps) out.push({ key: 'training.warmup_iters', level: 'warning', message: `warmup_iters (${cfg.training.warmup_iters}) is not below the run's ${cfg.steps} steps: the lr never reaches its peak` });
  if (cfg.data.valid === undefined) out.push({ key: 'data.valid', level: 'warning', message: 'no validation file: the run reports no val loss' });
  return out;
}

/** Checks a resolved config (config.json form) by the trainer's start-up rules that need no GPU. */
export function checkResolved(config: Record<string, unknown>, o: CheckOptions = {}): { issues: FieldIssue[]; parsed: RunConfig } {
  const parsed = parseRunConfig(config);
  const issues = [...tokenFileIssues(parsed, o), ...(o.device ? batchIssues(parsed, o.device) : []), ...adviceIssues(parsed)];
  return { issues, parsed };
}

/** Resolves a request as `lmwb queue add` does, then checks it (never throws for a bad request: it reports it). */
export function checkRequest(workspace: string, req: RunRequest, o: CheckOptions = {}): RequestCheck {
  let base: Record<string, unknown>;
  try {
    base = basePreset(req.preset, workspace);
  } catch (e) {
    if (e instanceof UserError) return { ok: false, issues: [{ key: 'preset', message: e.message, level: 'error' }], config: null, parsed: null };
    throw e;
  }
  return checkOnBase(workspace, base, req, o);
}

/** As checkRequest, on a given base config (data paths relative to the workspace). */
export function checkOnBase(workspace: string, base: Record<string, unknown>, req: Omit<RunRequest, 'preset'>, o: CheckOptions = {}): RequestCheck {
  let config: Record<string, unknown>;
  try {
    config = resolveRunConfig(base, { sets: req.sets, unset: req.unset, name: req.name, baseDir: workspace });
  } catch (e) {
    if (e instanceof UserError && e.code === 'CONFIG_INVALID') return { ok: false, issues: issuesOf(e), config: null, parsed: null };
    throw e;
  }
  const { issues, parsed } = checkResolved(config, o);
  return { ok: !issues.some((i) => i.level === 'error'), issues, config, parsed };
}

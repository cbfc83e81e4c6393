/**
 * Turning what a user asks for (a config file or a base preset, `key=value` overrides, a name) into the resolved
 * config a queued run keeps in its config.json: overrides applied, validated by the trainer's schema (a bad key or
 * value fails here, before anything is queued, naming the field), defaults filled in, data paths made absolute
 * (the trainer runs in the workspace, not where the user typed the command), and `out_dir` dropped (the run
 * folder is the output).
 */
import { isAbsolute, resolve } from 'node:path';
import { applyOverrides, parseRunConfig, resolvedConfigJson, type RunConfig } from '../engine/train/run-config';
import { UserError } from '../util/errors';

export interface ResolveOptions {
  /** Overrides `a.b=value` (JSON values where they parse, else strings). */
  sets?: string[];
  /** Dotted keys to remove before validation (e.g. training.max_steps when a sweep sets total_tokens). */
  unset?: string[];
  name?: string;
  /** Relative data paths are resolved against this folder. */
  baseDir: string;
}

function removeKey(obj: Record<string, unknown>, dotted: string): void {
  const path = dotted.split('.');
  let node: unknown = obj;
  for (const k of path.slice(0, -1)) {
    if (!node || typeof node !== 'object') return;
    node = (node as Record<string, unknown>)[k];
  }
  if (node && typeof node === 'object') delete (node as Record<string, unknown>)[path[path.length - 1]];
}

/** The resolved config object to store (throws CONFIG_INVALID naming the field and the rule). */
export function resolveRunConfig(base: Record<string, unknown>, o: ResolveOptions): Record<string, unknown> {
  let raw: Record<string, unknown>;
  try {
    raw = structuredClone(base);
    for (const k of o.unset ?? []) removeKey(raw, k);
    raw = applyOverrides(raw, o.sets ?? []);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(e.message, { code: 'CONFIG_INVALID', data: e.data });
    throw e;
  }
  if (o.name) raw.name = o.name;
  delete raw.out_dir;
  const data = raw.data;
  if (data && typeof data === 'object') {
    const d = data as Record<string, unknown>;
    for (const k of ['train', 'valid']) if (typeof d[k] === 'string' && !isAbsolute(d[k] as string)) d[k] = resolve(o.baseDir, d[k] as string);
  }
  let cfg: RunConfig;
  try {
    cfg = parseRunConfig(raw); // every cross-field rule (steps or tokens, lr order, model shape)
  } catch (e) {
    if (e instanceof UserError) throw new UserError(e.message, { code: 'CONFIG_INVALID', data: { ...e.data, name: raw.name } });
    throw e;
  }
  return resolvedConfigJson(cfg); // the trainer's own form of config.json (defaults filled in)
}

/** A dotted key's value in a nested object. */
export function getKey(obj: unknown, dotted: string): unknown {
  let node: unknown = obj;
  for (const k of dotted.split('.')) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[k];
  }
  return node;
}
